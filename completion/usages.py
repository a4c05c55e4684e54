"""How the repository already uses what the cursor is about to use: a few call sites of the
trigger's target, taken from other files through the index's references.

After ``name(`` a signature says what the parameters are; the lines where other files call
``name(`` say what is usually passed. After ``v.`` a class outline lists the members; the lines
after other files build the same class say which members get used, and how. Small code models
copy such nearby examples far more readily than they read a definition (measured with
``repolens eval``: look-alike uses of the same API moved first-identifier match more than
outlines did), so these excerpts go into the prompt next to the definition they illustrate.

Pure over its inputs: the index's references and the files' lines come in through callables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..indexer import Definition
from .render import CONTAINER_KINDS
from .similar import tokens_of

__all__ = ["Usage", "find_usages"]

_BEFORE = 3  # lines shown above a call site
_AFTER_CONSTRUCTION = 8  # lines searched below `x = Class(...)` for uses of `x.`
_MAX_SITES = 60  # call sites looked at per target (the first ones of each file)
_MAX_PER_FILE = 6
_MAX_FILES = 24  # files scanned for a receiver's name


@dataclass(frozen=True, slots=True)
class Usage:
    path: str
    start_line: int  # 1-based, inclusive
    end_line: int
    text: str
    score: float  # identifier overlap with the lines before the cursor, 0..1
    symbol: str
    core: str  # the using lines alone (the call; the construction and the member uses)


def _common_dirs(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a.split("/")[:-1], b.split("/")[:-1], strict=False):
        if x != y:
            break
        n += 1
    return n


def _call_end(lines: Sequence[str], n: int, limit: int = 4) -> int:
    """The 0-based line where the call opened on line ``n`` closes (a few lines at most)."""
    depth = 0
    for k in range(n, min(len(lines), n + limit)):
        depth += lines[k].count("(") - lines[k].count(")")
        if depth <= 0:
            return k
    return n


def _excerpt_for_class(lines: Sequence[str], n: int, name: str) -> list[int] | None:
    """``x = Name(...)`` (or ``with Name(...) as x``) on line ``n``: the next few lines that
    use ``x.``; None when the instance is not used right after."""
    line = lines[n]
    bound = re.match(rf"^\s*([A-Za-z_]\w*)\s*(?::[^=]+)?=\s*(?:[\w.]+\.)?{re.escape(name)}\(", line)
    var = bound.group(1) if bound else None
    if var is None:
        alias = re.search(rf"{re.escape(name)}\(.*\)\s+as\s+([A-Za-z_]\w*)", line)
        var = alias.group(1) if alias else None
    if var is None:
        return None
    use = re.compile(rf"(?<![\w.]){re.escape(var)}\.[A-Za-z_]")
    after = range(n + 1, min(len(lines), n + 1 + _AFTER_CONSTRUCTION))
    uses = [k for k in after if use.search(lines[k])]
    return uses or None


def find_usages(
    targets: Sequence[Definition],
    *,
    current_path: str,
    query: str,
    stop: frozenset[str],
    references: Callable[[str], list[tuple[str, str, list[int]]]],
    lines_of: Callable[[str], list[str]],
    text_of: Callable[[str], str],
    allowed: Callable[[str], bool],
    receiver: str | None = None,
    nearby: Sequence[str] = (),
    limit: int = 3,
) -> list[Usage]:
    """Up to ``limit`` excerpts of other files using ``targets`` (at most one per file), the
    most like the code before the cursor first.

    ``receiver`` (after ``v.``): also the lines of the ``nearby`` files and of the files that
    name the class where a variable of the same name is used (``response.`` in the other
    tests: code that gets its instances from a call, not a constructor, names them alike).
    """
    wanted = tokens_of(query, stop)
    found: list[Usage] = []

    def similarity(body: str) -> float:
        got = tokens_of(body, stop)
        return len(wanted & got) / max(len(wanted | got), 1)

    if receiver and len(receiver) >= 3 and receiver not in ("self", "cls", "this"):
        use = re.compile(rf"(?<![\w.]){re.escape(receiver)}\.[A-Za-z_]")
        dotted = receiver + "."
        named = [p for t in targets[:1] for p, _, _ in references(t.name)]
        files = list(dict.fromkeys([*nearby, *named]))
        for path in files[:_MAX_FILES]:
            if path == current_path or not allowed(path):
                continue
            joined = text_of(path)
            if dotted not in joined:
                continue
            lines = lines_of(path)
            pick: Usage | None = None
            k, offset = 0, 0
            for seen, m in enumerate(use.finditer(joined)):
                if seen >= _MAX_PER_FILE * 2:
                    break
                k += joined.count("\n", offset, m.start())
                offset = m.start()
                text = lines[k]
                if text.lstrip().startswith(("def ", "async def ")):
                    continue
                start = max(0, k - 1)
                body = "\n".join(lines[start : k + 1])
                sim = similarity(body) - 0.05  # a name, not a type: below a typed example
                if pick is None or sim > pick.score:
                    pick = Usage(path, start + 1, k + 1, body, sim, targets[0].qualified_name, text)
            if pick is not None:
                found.append(pick)
    for target in targets[:2]:
        name = target.name
        if len(name) < 3 or name.startswith("__"):
            continue  # too generic to tell one callee from another by name
        is_class = target.kind in CONTAINER_KINDS
        call = re.compile(rf"(?<!\w){re.escape(name)}\(")
        method = target.kind == "method"
        sites = 0
        calls = sorted(r for r in references(name) if r[1] == "call" and r[0] != current_path)
        # the files nearest the current one first (its directory, then its parent's ...)
        calls.sort(key=lambda r: -_common_dirs(r[0], current_path))
        for path, _kind, rows in calls[:_MAX_FILES]:
            if sites >= _MAX_SITES or not allowed(path):
                continue
            lines = lines_of(path)
            best: Usage | None = None
            for row in rows[:_MAX_PER_FILE]:
                n = row - 1
                if n >= len(lines) or sites >= _MAX_SITES:
                    break
                text = lines[n]
                if not call.search(text) or (method and f".{name}(" not in text):
                    continue
                if text.lstrip().startswith(("def ", "async def ", "class ")):
                    continue
                sites += 1
                if is_class:
                    uses = _excerpt_for_class(lines, n, name)
                    if uses is None:
                        continue
                    start, end = max(0, n - 1), uses[-1]
                    core = [n, *uses]
                else:
                    start, end = max(0, n - _BEFORE), _call_end(lines, n)
                    core = list(range(n, end + 1))
                body = "\n".join(lines[start : end + 1])
                sim = similarity(body)
                if best is None or sim > best.score:
                    best = Usage(
                        path,
                        start + 1,
                        end + 1,
                        body,
                        sim,
                        target.qualified_name,
                        "\n".join(lines[k] for k in core),
                    )
            if best is not None:
                found.append(best)
    found.sort(key=lambda u: (-u.score, u.path, u.start_line))
    out: list[Usage] = []
    paths: set[str] = set()
    for u in found:
        if u.path in paths:
            continue
        paths.add(u.path)
        out.append(u)
        if len(out) >= limit:
            break
    return out

"""Resolved cross-file context: from the names at the cursor to the definitions they mean.

The *collect* half of prompt building (index I/O lives here); ranking and rendering within a
budget is the pure *build* half in :mod:`repolens.completion.budget`.

Order of importance:
1. what the cursor is about to use: the callee of an open call, the type of a member access's
   receiver (``v.`` where ``v = Client(...)`` brings ``Client`` and its methods);
2. names used near the cursor, nearest first, resolved through imports (not guessed);
3. the file's imported names (a new statement will likely call one of them), those used in
   the enclosing function first;
4. base classes of the enclosing class (``self.`` reaches their methods).
"""

from __future__ import annotations

import logging
import posixpath
import re
from collections import Counter
from dataclasses import dataclass, field

from ..indexer import Definition, RepoIndex
from .cursor import Cursor, TypeFact, binding_of, names_near, return_type
from .render import CONTAINER_KINDS

__all__ = ["Candidate", "Retrieval", "gather"]

log = logging.getLogger(__name__)

_CALLABLE = frozenset({"function", "method"})
_MAX_NAMES = 48
_MAX_IMPORTS = 40


@dataclass
class Candidate:
    """A definition worth showing, why, and how much it matters."""

    definition: Definition
    score: float
    reason: str
    container: Definition | None = None  # the class a method/field belongs to
    prefer_outline: bool = False  # the model needs the members (a receiver's type)

    @property
    def key(self) -> tuple[str, int, str]:
        d = self.definition
        return (d.path, d.start_line, d.name)


@dataclass
class Retrieval:
    candidates: list[Candidate] = field(default_factory=list)
    enclosing: list[Definition] = field(default_factory=list)  # outermost first
    target: list[Definition] = field(default_factory=list)  # what the trigger resolved to


class _Resolver:
    """Name -> definitions for one cursor, with local type facts and memoisation."""

    def __init__(self, index: RepoIndex, cur: Cursor, enclosing: list[Definition]) -> None:
        self.index = index
        self.cur = cur
        self.enclosing = enclosing
        self._memo: dict[tuple[str, int | None], list[Definition]] = {}
        self.resolver = cur.language.resolver
        func = next((d for d in reversed(enclosing) if d.kind in _CALLABLE), None)
        self.scope_start = (func.start_line - 1) if func else 0
        self.enclosing_class = next(
            (d for d in reversed(enclosing) if d.kind in CONTAINER_KINDS), None
        )

    def resolve(self, expr: str, before: int | None = None) -> list[Definition]:
        """Definitions ``expr`` means at the cursor (or as evaluated on line ``before``)."""
        key = (expr, before)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = []  # guards against cycles
        try:
            found = self._resolve(expr, before)
        except Exception:  # never let one odd name break completion
            log.debug("resolving %s failed", expr, exc_info=True)
            found = []
        self._memo[key] = found
        return found

    def _resolve(self, expr: str, before: int | None = None) -> list[Definition]:
        parts = expr.split(".")
        head, rest = parts[0], parts[1:]
        if head in ("self", "this", "Self") and self.enclosing_class is not None:
            if not rest:
                return [self.enclosing_class]
            return self._members_chain([self.enclosing_class], rest, receiver=head)
        res = self.index.resolve(self.cur.path, expr)
        if res.definitions and res.via in ("local", "import", "package"):
            defs = res.definitions
            # resolve() stops at the deepest definition it found; finish through types
            depth = _depth_reached(defs, parts)
            if depth < len(parts) - 1:
                return self._members_chain(defs, parts[depth + 1 :], receiver=None) or defs
            return defs
        if res.via == "external":
            return []
        fact = binding_of(self.cur, head, self.scope_start, before)
        if fact is not None:
            types = self._type_of_fact(fact)
            if types:
                return self._members_chain(types, rest, receiver=None) if rest else types
        # A repository-wide guess only for type-like names nothing local explains.
        if fact is None and res.definitions and res.via == "global" and head[:1].isupper():
            return res.definitions[:1]
        return []

    def _type_of_fact(self, fact: TypeFact) -> list[Definition]:
        if fact.type_name:
            found = [
                d for d in self.resolve(fact.type_name, fact.line) if d.kind in CONTAINER_KINDS
            ]
            if found:
                return found
        if fact.call:
            callees = self.resolve(fact.call, fact.line)  # `v = v.where(...)`: the earlier v
            return self._types_returned(callees)
        return []

    def _types_returned(self, callees: list[Definition]) -> list[Definition]:
        out: list[Definition] = []
        for c in callees[:2]:
            if c.kind in CONTAINER_KINDS:
                out.append(c)
            elif c.kind in _CALLABLE:
                rt = return_type(c.signature, self.resolver)
                if rt is None:
                    continue
                if rt in ("Self", "self") and c.scope:
                    rt = c.scope.split(".")[-1]
                found = self.index.resolve(c.path, rt).definitions
                if not found and c.scope:  # a nested/qualified name in the same class file
                    found = self.index.definitions(rt.split(".")[-1])
                out.extend(d for d in found if d.kind in CONTAINER_KINDS)
        return out

    def _members_chain(
        self, start: list[Definition], rest: list[str], receiver: str | None
    ) -> list[Definition]:
        current = start
        for i, part in enumerate(rest):
            nxt: list[Definition] = []
            for owner in current[:2]:
                owner_types = self._types_returned([owner]) if owner.kind in _CALLABLE else [owner]
                for t in owner_types:
                    members = (
                        self.index.all_members(t)
                        if t.kind != "module"
                        else self.index.resolve(t.path, part).definitions
                    )
                    nxt.extend(m for m in members if m.name == part)
            if not nxt and i == 0 and receiver in ("self", "this") and self.enclosing_class:
                # an attribute set in __init__ / a constructor: self.repo = Repo(...)
                fact = binding_of(
                    self.cur, f"{receiver}.{part}", self.enclosing_class.start_line - 1
                )
                if fact is not None:
                    nxt = self._type_of_fact(fact)
            if not nxt:
                # a field: its annotation names its type
                for owner in current[:2]:
                    for m in self.index.all_members(owner) if owner.kind != "module" else []:
                        if m.name == part and m.kind in ("field", "variable"):
                            nxt.extend(self._field_type(m))
            if not nxt:
                return current if i > 0 else []
            current = nxt
        return current

    def _field_type(self, f: Definition) -> list[Definition]:
        sig = f.signature
        ann = None
        if ":" in sig:
            ann = sig.split(":", 1)[1].split("=", 1)[0].strip().strip("\"'")
        if not ann:
            return []
        ann = ann.replace("Optional[", "").split("[", 1)[0].split("|", 1)[0].strip()
        return [d for d in self.index.resolve(f.path, ann).definitions if d.kind in CONTAINER_KINDS]


def _depth_reached(defs: list[Definition], parts: list[str]) -> int:
    """How far along ``parts`` the definitions got (index of the matched part)."""
    name = defs[0].name
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == name:
            return i
    return len(parts) - 1


def enclosing_definitions(defs: list[Definition], line1: int) -> list[Definition]:
    """Definitions whose span contains the 1-based line, outermost first."""
    inside = [
        d
        for d in defs
        if d.start_line <= line1 <= d.end_line and d.kind not in ("variable", "field")
    ]
    inside.sort(key=lambda d: (d.start_line, -d.end_line))
    return inside


def gather(
    index: RepoIndex,
    cur: Cursor,
    file_definitions: list[Definition],
    visible: tuple[int, int],
) -> Retrieval:
    """Ranked candidates for the cursor. ``visible`` is the 1-based line range of the current
    file that the prompt already contains (definitions there are not repeated)."""
    enclosing = enclosing_definitions(file_definitions, cur.line + 1)
    resolver = _Resolver(index, cur, enclosing)
    out = Retrieval(enclosing=enclosing)
    found: dict[tuple[str, int, str], Candidate] = {}
    containers: dict[tuple[str, str], Definition | None] = {}

    def container_of(d: Definition) -> Definition | None:
        key = (d.path, d.scope)
        if key not in containers:
            containers[key] = _container_of(index, d)
        return containers[key]

    def add(defs: list[Definition], score: float, reason: str, outline: bool = False) -> None:
        for d in defs:
            if d.path == cur.path and visible[0] <= d.name_line <= visible[1]:
                continue
            if d.kind == "module" and not outline:
                continue
            container = container_of(d) if d.kind in ("method", "field") else None
            cand = Candidate(d, score, reason, container, outline or d.kind == "module")
            old = found.get(cand.key)
            if old is None or old.score < score:
                if old is not None:
                    cand.prefer_outline = cand.prefer_outline or old.prefer_outline
                found[cand.key] = cand
            elif outline:
                old.prefer_outline = True

    # 1. the trigger
    if cur.trigger in ("call", "member") and cur.target:
        defs = resolver.resolve(cur.target)
        if cur.trigger == "member":
            receivers: list[Definition] = []
            for d in defs:
                if d.kind in CONTAINER_KINDS:
                    receivers.append(d)
                elif d.kind in _CALLABLE:
                    receivers.extend(resolver._types_returned([d]))
                elif d.kind in ("field", "variable"):
                    receivers.extend(resolver._field_type(d))
            out.target = receivers
            add(receivers, 10.0, "type", outline=True)
        else:
            out.target = defs
            add(defs, 10.0, "definition")

    # 2. names near the cursor
    uses = names_near(cur)[:_MAX_NAMES]
    for use in uses:
        defs = resolver.resolve(use.name)
        if not defs:
            continue
        score = 4.0 / (1.0 + use.distance / 3.0) + (0.5 if use.called else 0.0)
        add(defs, score, "definition")

    # 3. the file's imports; for a module import, the members the file uses (`util.warn`)
    imports = index.imports(cur.path)
    used_here = _text_of(cur, enclosing)
    module_locals: list[str] = []
    # Only imports that resolve inside the repository count against the limit, those used in
    # the enclosing code first: a file's `from typing import ...` lines must not push its
    # `from .. import util` past the cut.
    local = [imp for imp in imports if imp.local and imp.target is not None]
    local.sort(key=lambda imp: (imp.local or "") not in used_here)  # stable: file order
    for imp in local[:_MAX_IMPORTS]:
        name = imp.local
        if not name:
            continue
        defs = resolver.resolve(name)
        if any(d.kind == "module" for d in defs):
            module_locals.append(name)
            near = re.search(rf"(?<![\w.]){re.escape(name)}\.", used_here) is not None
            add(
                [d for d in defs if d.kind == "module"],
                0.9 if near else 0.5,
                "import",
                outline=True,
            )
            continue
        score = 0.8 + (0.8 if name in used_here else 0.0)
        add(defs, score, "import")
    if module_locals:
        for chain, count, local_use in _module_member_uses(cur, module_locals, used_here):
            score = 0.6 + min(count, 5) * 0.08 + (0.8 if local_use else 0.0)
            add(resolver.resolve(chain), score, "import")

    # 4. bases of the enclosing class
    if resolver.enclosing_class is not None:
        for base in index.bases(resolver.enclosing_class):
            add([base], 1.5, "base", outline=True)

    out.candidates = sorted(
        found.values(), key=lambda c: (-c.score, c.definition.path, c.definition.start_line)
    )
    return out


def _module_member_uses(
    cur: Cursor, module_locals: list[str], used_here: str, limit: int = 30
) -> list[tuple[str, int, bool]]:
    """``local.attr`` chains the file uses for module imports: (chain, uses, used nearby)."""
    pattern = re.compile(
        r"(?<![\w.])(" + "|".join(re.escape(m) for m in module_locals) + r")\.([A-Za-z_]\w*)"
    )
    counts: Counter[str] = Counter(f"{m.group(1)}.{m.group(2)}" for m in pattern.finditer(cur.text))
    nearby = {f"{m.group(1)}.{m.group(2)}" for m in pattern.finditer(used_here)}
    ranked = sorted(counts.items(), key=lambda kv: (kv[0] not in nearby, -kv[1], kv[0]))
    return [(chain, n, chain in nearby) for chain, n in ranked[:limit]]


def _container_of(index: RepoIndex, d: Definition) -> Definition | None:
    if not d.scope:
        return None
    parent_scope, _, name = d.scope.rpartition(".")
    for c in index.definitions(name, scope=parent_scope):
        if c.path == d.path and c.kind in CONTAINER_KINDS:
            return c
    # Go methods / Rust impls: the type lives in another file of the package
    for c in index.definitions(name):
        if c.kind in CONTAINER_KINDS and posixpath.dirname(c.path) == posixpath.dirname(d.path):
            return c
    return None


def _text_of(cur: Cursor, enclosing: list[Definition]) -> str:
    func = next((d for d in reversed(enclosing) if d.kind in _CALLABLE), None)
    if func is None:
        start = max(0, cur.line - 40)
        return "\n".join(cur.lines[start : cur.line + 1])
    return "\n".join(cur.lines[func.start_line - 1 : min(func.end_line, len(cur.lines))])

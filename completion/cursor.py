"""What the code at the cursor is doing: the trigger (a call, a member access, a new statement),
the names in its neighbourhood, and local type facts (``v = Cls()``, ``v: Cls``, ...).

Pure text analysis over the buffer; no index access here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..indexer import LanguageSpec

__all__ = [
    "Cursor",
    "NameUse",
    "TypeFact",
    "analyze",
    "binding_of",
    "bindings",
    "clean_line",
    "names_near",
    "return_type",
]

_CHAIN = re.compile(r"[A-Za-z_$][\w$]*(?:\s*(?:\.|::|->)\s*[A-Za-z_$][\w$]*)*")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`[^`\n]*`')
_MEMBER_TAIL = re.compile(
    r"(?P<expr>[A-Za-z_$][\w$]*(?:\s*(?:\.|::|->)\s*[A-Za-z_$][\w$]*)*)\s*(?:\.|::|->)\s*(?P<partial>[\w$]*)$"
)
_CALL_EXPR = re.compile(r"(?P<expr>[A-Za-z_$][\w$]*(?:\s*(?:\.|::|->)\s*[A-Za-z_$][\w$]*)*)\s*$")
_SEP = re.compile(r"\s*(?:\.|::|->)\s*")


def normalize_chain(expr: str) -> str:
    return _SEP.sub(".", expr.strip())


def clean_line(line: str, comment: str) -> str:
    """A line with string literals blanked and its trailing comment removed (roughly)."""
    line = _STRING.sub('""', line)
    if comment:
        cut = line.find(comment)
        if cut >= 0:
            line = line[:cut]
    return line


@dataclass(frozen=True)
class NameUse:
    """A (dotted) name used near the cursor and how far above/below the cursor it is."""

    name: str
    line: int  # 0-based
    distance: int  # lines from the cursor (0 = cursor line)
    called: bool


@dataclass
class Cursor:
    """The cursor in a buffer: 0-based line and column (characters)."""

    path: str
    language: LanguageSpec
    text: str
    line: int
    column: int
    lines: list[str] = field(default_factory=list)
    trigger: str = "expression"  # call | member | statement | expression
    target: str = ""  # the callee of a call, the receiver of a member access
    partial: str = ""  # the identifier being typed

    @property
    def line_before(self) -> str:
        return self.lines[self.line][: self.column] if self.line < len(self.lines) else ""

    @property
    def line_after(self) -> str:
        return self.lines[self.line][self.column :] if self.line < len(self.lines) else ""

    def prefix(self) -> str:
        return "\n".join([*self.lines[: self.line], self.line_before])

    def suffix(self) -> str:
        return "\n".join([self.line_after, *self.lines[self.line + 1 :]])


def _open_call(before: str) -> str | None:
    """The callee of the innermost call still open at the end of ``before``."""
    depth = 0
    for i in range(len(before) - 1, -1, -1):
        ch = before[i]
        if ch in ")]}":
            depth += 1
        elif ch in "([{":
            if depth == 0:
                if ch != "(":
                    return None
                m = _CALL_EXPR.search(before[:i])
                return normalize_chain(m.group("expr")) if m else None
            depth -= 1
    return None


def analyze(path: str, language: LanguageSpec, text: str, line: int, column: int) -> Cursor:
    cur = Cursor(path, language, text, line, column, text.split("\n"))
    before = clean_line(cur.line_before, language.line_comment)
    member = _MEMBER_TAIL.search(before)
    if member is not None:
        cur.trigger = "member"
        cur.target = normalize_chain(member.group("expr"))
        cur.partial = member.group("partial")
        return cur
    callee = _open_call(before)
    partial = re.search(r"[A-Za-z_$][\w$]*$", before)
    cur.partial = partial.group(0) if partial else ""
    if callee and callee.split(".")[-1] not in language.stop_words:
        cur.trigger = "call"
        cur.target = callee
        return cur
    if not before.strip() or before.strip() == cur.partial:
        cur.trigger = "statement"
    return cur


def names_near(cur: Cursor, above: int = 40, below: int = 8) -> list[NameUse]:
    """Dotted names in the lines around the cursor, nearest first (one entry per name)."""
    seen: dict[str, NameUse] = {}
    comment = cur.language.line_comment
    stop = cur.language.stop_words
    first = max(0, cur.line - above)
    last = min(len(cur.lines) - 1, cur.line + below)
    order = sorted(range(first, last + 1), key=lambda n: (abs(n - cur.line), n > cur.line))
    for n in order:
        text = cur.lines[n]
        if n == cur.line:
            text = text[: cur.column] + " " + text[cur.column :]
        line = clean_line(text, comment)
        for m in _CHAIN.finditer(line):
            name = normalize_chain(m.group(0))
            head = name.split(".", 1)[0]
            if head in stop and head not in ("self", "this", "Self", "super"):
                continue
            if name in seen:
                continue
            after = line[m.end() : m.end() + 2].lstrip()
            seen[name] = NameUse(name, n, abs(n - cur.line), after.startswith("("))
    return list(seen.values())


@dataclass(frozen=True)
class TypeFact:
    """Where a variable's type comes from: an annotation (a type name) or a call/constructor."""

    variable: str
    type_name: str | None
    call: str | None
    line: int
    constructor: bool = False  # `new X(...)`, `X{...}` literals: the call names a type


_IDENT = r"[A-Za-z_$][\w$]*"
_DOTTED = r"[A-Za-z_$][\w$]*(?:(?:\.|::)[A-Za-z_$][\w$]*)*"

# Binding patterns per resolver family. Named groups: var, ann (a type), call (a callee),
# new (a constructor). Checked on cleaned lines, latest binding before the cursor wins.
_BINDINGS: dict[str, list[re.Pattern[str]]] = {
    "python": [
        re.compile(
            rf"(?:^|[\s(,])(?P<var>(?:self\.)?{_IDENT})\s*(?::\s*(?P<ann>{_DOTTED}))?\s*=\s*(?:await\s+)?(?P<call>{_DOTTED})\s*\("
        ),
        re.compile(
            rf"(?:^|[\s(,])(?P<var>(?:self\.)?{_IDENT})\s*:\s*(?:Optional\[|\"|')?(?P<ann>{_DOTTED})"
        ),
        re.compile(rf"\bwith\s+(?:await\s+)?(?P<call>{_DOTTED})\s*\(.*\)\s+as\s+(?P<var>{_IDENT})"),
    ],
    "javascript": [
        re.compile(
            rf"(?P<var>(?:this\.)?{_IDENT})\s*(?::\s*(?P<ann>{_DOTTED}))?\s*=\s*(?:await\s+)?new\s+(?P<new>{_DOTTED})"
        ),
        re.compile(
            rf"(?:const|let|var)\s+(?P<var>{_IDENT})\s*(?::\s*(?P<ann>{_DOTTED}))?\s*=\s*(?:await\s+)?(?P<call>{_DOTTED})\s*\("
        ),
        re.compile(
            rf"(?:const|let|var|readonly|private|public|protected)?\s*(?P<var>(?:this\.)?{_IDENT})\??\s*:\s*(?P<ann>[A-Z][\w$.]*)"
        ),
    ],
    "go": [
        re.compile(rf"(?P<var>{_IDENT})\s*:?=\s*&?(?P<new>{_DOTTED})\s*\{{"),
        re.compile(rf"(?P<var>{_IDENT})(?:\s*,\s*{_IDENT})?\s*:=\s*(?P<call>{_DOTTED})\s*\("),
        re.compile(rf"\bvar\s+(?P<var>{_IDENT})\s+\*?(?P<ann>{_DOTTED})"),
        re.compile(rf"[(,]\s*(?P<var>{_IDENT})\s+\*?(?P<ann>{_DOTTED})"),
        re.compile(rf"func\s*\(\s*(?P<var>{_IDENT})\s+\*?(?P<ann>{_IDENT})\s*\)"),
    ],
    "rust": [
        re.compile(rf"let\s+(?:mut\s+)?(?P<var>{_IDENT})\s*:\s*&?(?:mut\s+)?(?P<ann>{_DOTTED})"),
        re.compile(rf"let\s+(?:mut\s+)?(?P<var>{_IDENT})\s*=\s*&?(?P<new>{_DOTTED})\s*\{{"),
        re.compile(
            rf"let\s+(?:mut\s+)?(?P<var>{_IDENT})\s*=\s*&?(?:mut\s+)?(?P<call>{_DOTTED})\s*\("
        ),
        re.compile(rf"[(,]\s*(?:mut\s+)?(?P<var>{_IDENT})\s*:\s*&?(?:mut\s+)?(?P<ann>{_DOTTED})"),
    ],
    "java": [
        re.compile(rf"(?P<var>(?:this\.)?{_IDENT})\s*=\s*new\s+(?P<new>{_DOTTED})"),
        re.compile(rf"\b(?P<ann>[A-Z][\w$.]*)(?:<[^=;]*>)?\s+(?P<var>{_IDENT})\s*[=;,)]"),
        re.compile(rf"\bvar\s+(?P<var>{_IDENT})\s*=\s*(?P<call>{_DOTTED})\s*\("),
    ],
    "c": [
        re.compile(rf"(?P<var>{_IDENT})\s*=\s*new\s+(?P<new>{_DOTTED})"),
        re.compile(
            rf"\b(?:struct\s+|const\s+)?(?P<ann>{_DOTTED})\s*[*&]*\s+(?P<var>{_IDENT})\s*[=;,)({{]"
        ),
        re.compile(rf"\bauto\s+(?P<var>{_IDENT})\s*=\s*(?P<call>{_DOTTED})\s*\("),
    ],
}


def bindings(cur: Cursor, scope_start: int = 0) -> dict[str, list[TypeFact]]:
    """Every variable binding from ``scope_start`` to the cursor, in order, per variable."""
    memo: dict[int, dict[str, list[TypeFact]]] = cur.__dict__.setdefault("_bindings", {})
    if scope_start in memo:
        return memo[scope_start]
    patterns = _BINDINGS.get(cur.language.resolver, [])
    comment = cur.language.line_comment
    stop = cur.language.stop_words
    found: dict[str, list[TypeFact]] = {}
    for n in range(max(scope_start, 0), cur.line + 1):
        raw = cur.lines[n] if n != cur.line else cur.line_before
        if "=" not in raw and ":" not in raw and " " not in raw.strip():
            continue
        line = clean_line(raw, comment)
        for pattern in patterns:
            for m in pattern.finditer(line):
                groups = m.groupdict()
                variable = groups["var"]
                ann = groups.get("ann")
                if ann and ann in stop:
                    ann = None
                new = groups.get("new")
                call = groups.get("call")
                facts = found.setdefault(variable, [])
                if new:
                    facts.append(TypeFact(variable, None, normalize_chain(new), n, True))
                elif ann or call:
                    if facts and facts[-1].line == n and facts[-1].type_name and not ann:
                        continue  # `v: T = f()` on one line: the annotation says more
                    facts.append(
                        TypeFact(
                            variable,
                            normalize_chain(ann) if ann else None,
                            normalize_chain(call) if call else None,
                            n,
                        )
                    )
    memo[scope_start] = found
    return found


def binding_of(
    cur: Cursor, variable: str, scope_start: int = 0, before: int | None = None
) -> TypeFact | None:
    """The latest binding of ``variable`` before the cursor, or before line ``before``."""
    facts = bindings(cur, scope_start).get(variable)
    if not facts:
        return None
    if before is None:
        return facts[-1]
    for fact in reversed(facts):
        if fact.line < before:
            return fact
    return None


_RETURNS: dict[str, re.Pattern[str]] = {
    "python": re.compile(r"->\s*(?:Optional\[|\"|')?(?P<t>[A-Za-z_][\w.]*)"),
    "javascript": re.compile(r"\)\s*:\s*(?:Promise<)?(?P<t>[A-Za-z_$][\w$.]*)"),
    "go": re.compile(r"\)\s*\(?\s*\*?(?P<t>[A-Za-z_][\w.]*)\s*(?:,[^)]*\))?\s*$"),
    "rust": re.compile(
        r"->\s*(?:Result<|Option<|Box<|Arc<|Rc<)?&?(?:mut\s+)?(?P<t>[A-Za-z_][\w:]*)"
    ),
    "java": re.compile(r"(?:^|\s)(?P<t>[A-Z][\w$.]*)(?:<[^(]*>)?\s+[A-Za-z_$][\w$]*\s*\("),
    "c": re.compile(r"(?:^|\s)(?P<t>[A-Za-z_][\w:]*)\s*[*&]*\s+[A-Za-z_][\w:]*\s*\("),
}
_NOT_TYPES = frozenset(
    {
        "None",
        "void",
        "str",
        "int",
        "bool",
        "float",
        "bytes",
        "list",
        "dict",
        "Any",
        "any",
        "string",
        "number",
        "boolean",
        "Promise",
        "error",
        "static",
        "public",
    }
)


def return_type(signature: str, resolver: str) -> str | None:
    """The named type a function signature returns, if it names one."""
    pattern = _RETURNS.get(resolver)
    if pattern is None:
        return None
    m = pattern.search(signature)
    if m is None:
        return None
    name = normalize_chain(m.group("t"))
    return None if name in _NOT_TYPES else name

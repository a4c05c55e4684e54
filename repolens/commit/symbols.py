"""Which definitions a change adds, removes or edits, with their signatures before and after.

Pure: two versions of a file's bytes in, a list of :class:`SymbolChange` out. Both versions go
through the indexer's own extraction (:func:`repolens.indexer.extract.extract`, tree-sitter with
the language table's tag queries), so a commit message sees the same definitions, names and
signatures as completion and Q&A.

A definition is matched by qualified name and kind (the n-th ``Session.expire`` before pairs
with the n-th after, for overloads and property setters). It is ``modified`` when its own text
changed: its lines minus the lines of the definitions nested in it, so editing one method does
not also report the class around it, while a new class attribute does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ..indexer import Definition, language_for_path
from ..indexer.discovery import check_content
from ..indexer.extract import extract

__all__ = ["SYMBOL_KINDS_OF_NEW_FILES", "SymbolChange", "changed_symbols"]

#: Kinds listed for files that are added or deleted as a whole (their variables are noise).
SYMBOL_KINDS_OF_NEW_FILES = frozenset(
    {
        "class",
        "function",
        "method",
        "interface",
        "struct",
        "enum",
        "trait",
        "type",
        "impl",
        "record",
        "module",
        "namespace",
        "macro",
    }
)
_LEAF_KINDS = frozenset({"variable", "field", "constant"})
_CHANGE_ORDER = {"signature": 0, "added": 1, "removed": 2, "modified": 3}


@dataclass(frozen=True, slots=True)
class SymbolChange:
    """One definition a change touches."""

    path: str
    name: str  # qualified: ``Session.expire``
    kind: str  # function, method, class, ...
    change: str  # added, removed, modified (body), signature (signature changed)
    old_signature: str | None = None
    new_signature: str | None = None
    line: int = 0  # 1-based, in the new version (the old one for removals)

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "kind": self.kind,
            "change": self.change,
            "old_signature": self.old_signature,
            "new_signature": self.new_signature,
            "line": self.line,
        }


def _definitions(path: str, data: bytes | None) -> tuple[list[Definition], list[bytes]]:
    if data is None:
        return [], []
    spec = language_for_path(path)
    if spec is None or check_content(data) is not None:
        return [], []
    try:
        facts = extract(path, data, spec)
    except Exception:  # a grammar that chokes must not break a commit message
        return [], []
    return facts.definitions, data.split(b"\n")


def _own_text(d: Definition, defs: list[Definition], lines: list[bytes]) -> bytes:
    """The definition's lines without the lines of definitions nested in it."""
    nested: set[int] = set()
    for other in defs:
        if other is d:
            continue
        inside = d.start_line <= other.start_line and other.end_line <= d.end_line
        if inside and (other.start_line, other.end_line) != (d.start_line, d.end_line):
            nested.update(range(other.start_line, other.end_line + 1))
    kept = [
        lines[n - 1].rstrip()
        for n in range(d.start_line, min(d.end_line, len(lines)) + 1)
        if n not in nested
    ]
    return b"\n".join(line for line in kept if line)  # blank lines around a nested def


def _grouped(defs: list[Definition]) -> dict[tuple[str, str], list[Definition]]:
    groups: dict[tuple[str, str], list[Definition]] = defaultdict(list)
    for d in sorted(defs, key=lambda d: (d.start_line, d.end_line)):
        groups[(d.qualified_name, d.kind)].append(d)
    return groups


def changed_symbols(
    path: str,
    old: bytes | None,
    new: bytes | None,
    *,
    old_path: str | None = None,
) -> list[SymbolChange]:
    """Definitions that differ between ``old`` and ``new`` (None: the file did not exist).

    ``path`` names the new version (and the language); ``old_path`` the old one when the file
    was renamed. Files whose language repolens does not parse, binary and minified content
    give no symbols. Ordered by kind of change (signature changes first), then by line.
    """
    old_defs, old_lines = _definitions(old_path or path, old)
    new_defs, new_lines = _definitions(path, new)
    whole_file = old is None or new is None
    before, after = _grouped(old_defs), _grouped(new_defs)
    out: list[SymbolChange] = []
    for key in list(before) + [k for k in after if k not in before]:
        name, kind = key
        if whole_file and kind not in SYMBOL_KINDS_OF_NEW_FILES:
            continue
        olds, news = before.get(key, []), after.get(key, [])
        for i in range(max(len(olds), len(news))):
            o = olds[i] if i < len(olds) else None
            n = news[i] if i < len(news) else None
            if o is None and n is not None:
                out.append(SymbolChange(path, name, kind, "added", None, n.signature, n.start_line))
            elif n is None and o is not None:
                out.append(
                    SymbolChange(path, name, kind, "removed", o.signature, None, o.start_line)
                )
            elif o is not None and n is not None:
                if o.signature != n.signature:
                    # a variable's "signature" is its line: a new value is an edit
                    change = "modified" if kind in _LEAF_KINDS else "signature"
                elif _own_text(o, old_defs, old_lines) != _own_text(n, new_defs, new_lines):
                    change = "modified"
                else:
                    continue
                out.append(
                    SymbolChange(path, name, kind, change, o.signature, n.signature, n.start_line)
                )
    out.sort(key=lambda s: (_CHANGE_ORDER[s.change], s.line, s.name))
    return out

"""What a Python class's outline should show as data, not as methods.

The index records a class's methods; what its users read most is often data: attributes
``__init__`` assigns (``self.status_code = status_code``) and properties
(``@property def is_error(self) -> bool``). An outline that lists ``def is_error(self) -> bool``
invites ``response.is_error()``, and one that leaves out ``status_code`` cannot help with
``response.status_code``. These pure functions turn the class's own lines into member
definitions the outline renders as ``name: type`` (kind ``attribute``).

Types come from what the source says, never from a guess at run-time behaviour: an annotation
(``self.next_request: Request | None = None``), the annotation of the ``__init__`` parameter
assigned unchanged (``self.status_code = status_code`` with ``status_code: int``), a class
being called (``self.headers = Headers(headers)``) or a literal (``self.is_closed = False``).
Otherwise the attribute is listed by name alone.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from ..indexer import Definition

__all__ = ["ATTRIBUTE", "as_attribute", "init_attributes"]

#: The kind of a member the outline shows as ``name: type``.
ATTRIBUTE = "attribute"

_SELF_ASSIGN = re.compile(r"^\s*self\.([A-Za-z]\w*)\s*(?::\s*([^=]+?))?\s*=(?!=)\s*(.*?)\s*$")
_PARAM = re.compile(r"([A-Za-z_]\w*)\s*:\s*([^=,]+?)\s*(?:=[^,]*)?(?:,|$)")
_CALLED_CLASS = re.compile(r"^((?:[A-Za-z_]\w*\.)*[A-Z]\w*)\(")
_RETURNS = re.compile(r"->\s*(.+?)\s*:?\s*$")
_PROPERTY = frozenset({"property", "cached_property", "functools.cached_property"})
_LITERALS = (
    (re.compile(r"^(True|False)$"), "bool"),
    (re.compile(r"^-?\d+$"), "int"),
    (re.compile(r"^-?\d*\.\d+$"), "float"),
    (re.compile(r"^[rbuf]?(['\"]).*\1$", re.I), "str"),
)
_MAX_ATTRIBUTES = 24


def _decorators(m: Definition, lines: Sequence[str]) -> list[str]:
    """The decorator names of a definition: the lines from its start (a decorated definition
    starts at its first decorator) to the line its name is on."""
    out: list[str] = []
    for text in lines[max(0, m.start_line - 1) : max(0, m.name_line - 1)]:
        text = text.strip()
        if text.startswith("@"):
            out.append(text[1:].split("(", 1)[0].strip())
    return out


def as_attribute(m: Definition, lines: Sequence[str]) -> Definition | None:
    """A method as the outline should show it: a property as an ``attribute``, a property's
    setter or deleter as None (its getter stands for it), anything else unchanged.
    ``lines`` are the lines of ``m``'s file."""
    if m.kind != "method":
        return m
    decorators = _decorators(m, lines)
    if any(d.endswith((".setter", ".deleter")) for d in decorators):
        return None
    if not any(d in _PROPERTY for d in decorators):
        return m
    returns = _RETURNS.search(m.signature.strip())
    signature = f"{m.name}: {returns.group(1)}" if returns else m.name
    return dataclasses.replace(m, kind=ATTRIBUTE, signature=signature)


def _parameter_types(signature: str) -> dict[str, str]:
    """Annotated parameters of a ``def`` signature (the index may have cut a long one short:
    a type cut off is left out)."""
    inside = signature.split("(", 1)[1] if "(" in signature else ""
    depth, flat = 0, []
    for ch in inside:  # up to the closing parenthesis; commas inside brackets do not count
        depth += ch in "[({"
        depth -= ch in "])}"
        if depth < 0:
            break
        flat.append(ch if depth == 0 or ch != "," else ";")
    found = _PARAM.findall("".join(flat))
    return {name: kind.replace(";", ",") for name, kind in found if "..." not in kind}


def _type_of(annotation: str | None, value: str, params: dict[str, str]) -> str:
    if annotation:
        return annotation.strip()
    if value in params:
        return params[value]
    called = _CALLED_CLASS.match(value)
    if called:
        return called.group(1)
    for pattern, name in _LITERALS:
        if pattern.match(value):
            return name
    return ""


def init_attributes(init: Definition, lines: Sequence[str], known: set[str]) -> list[Definition]:
    """The public attributes ``init`` (a class's ``__init__``) assigns on ``self``, first
    assignment each, in order, as ``attribute`` members; names in ``known`` (the class's
    other members) are left out. ``lines`` are the lines of its file."""
    params = _parameter_types(init.signature)
    out: list[Definition] = []
    seen = set(known)
    end = min(init.end_line, len(lines))
    for number in range(init.start_line + 1, end + 1):
        hit = _SELF_ASSIGN.match(lines[number - 1])
        if hit is None or hit.group(1) in seen:
            continue
        name, annotation, value = hit.groups()
        seen.add(name)
        kind = _type_of(annotation, value, params)
        column = lines[number - 1].index(name)
        out.append(
            Definition(
                name=name,
                kind=ATTRIBUTE,
                start_line=number,
                end_line=number,
                name_line=number,
                name_col=column,
                signature=f"{name}: {kind}" if kind else name,
                scope=init.scope,
                path=init.path,
            )
        )
        if len(out) >= _MAX_ATTRIBUTES:
            break
    return out

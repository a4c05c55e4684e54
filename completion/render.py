"""Rendering definitions for a prompt, at several levels of detail.

- ``full``: the definition's own lines (a method is shown under a one-line header naming its
  class, so the model knows where it lives);
- ``compact``: signature and the first paragraph of its documentation, body elided;
- ``outline``: a class/struct/interface/module as its header plus one line per member
  (inherited members included, marked with their base);
- ``stub``: the signature line alone.

Pure functions over text; the caller supplies file lines and members.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from ..indexer import Definition, LanguageSpec
from .attributes import ATTRIBUTE

__all__ = ["CONTAINER_KINDS", "Rendered", "render"]

CONTAINER_KINDS = frozenset(
    {
        "class",
        "interface",
        "struct",
        "enum",
        "trait",
        "impl",
        "namespace",
        "record",
        "module",
        "type",
    }
)
_FULL_MAX_LINES = {"function": 40, "method": 40, "class": 60}


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    level: str
    start_line: int
    end_line: int


def _first_paragraph(doc: str, limit: int = 240) -> str:
    para = doc.strip().split("\n\n", 1)[0].strip()
    return para if len(para) <= limit else para[: limit - 3].rstrip() + "..."


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _doc_lines(doc: str, spec: LanguageSpec, indent: str, docstring: bool) -> list[str]:
    para = _first_paragraph(doc)
    if not para:
        return []
    if docstring:
        body = para.replace('"""', "'''")
        lines = body.split("\n")
        if len(lines) == 1:
            return [f'{indent}"""{body}"""']
        return [f'{indent}"""{lines[0]}', *[indent + ln for ln in lines[1:]], f'{indent}"""']
    return [f"{indent}{spec.line_comment} {ln}".rstrip() for ln in para.split("\n")]


def _elided_body(spec: LanguageSpec, indent: str) -> str:
    if spec.doc == "docstring":  # Python
        return f"{indent}    ..."
    return f"{indent}    /* ... */"


def compact(d: Definition, spec: LanguageSpec, indent: str = "") -> list[str]:
    """Signature + first doc paragraph, body elided."""
    python = spec.doc == "docstring"
    signature = d.signature.strip()
    if d.kind in ("variable", "field", "constant", "macro") or not signature:
        return [indent + (signature or d.name)]
    out: list[str] = []
    if not python:
        out += _doc_lines(d.doc, spec, indent, docstring=False)
        if signature.endswith("{"):
            signature = signature[:-1].rstrip()
        if spec.resolver in ("rust", "go", "java", "javascript", "c"):
            out.append(
                f"{indent}{signature} {{ ... }}" if "(" in signature else f"{indent}{signature}"
            )
        else:
            out.append(indent + signature)
        return out
    out.append(indent + signature)
    out += _doc_lines(d.doc, spec, indent + "    ", docstring=True)
    out.append(_elided_body(spec, indent))
    return out


def stub(d: Definition, spec: LanguageSpec) -> str:
    return (d.signature or d.name).strip()


def outline(
    d: Definition,
    spec: LanguageSpec,
    members: Sequence[Definition],
    inherited: Sequence[tuple[str, Definition]] = (),
    file_lines: Sequence[str] = (),
) -> list[str]:
    """A container as its header and one line per member."""
    python = spec.doc == "docstring"
    head = d.signature.strip() or f"{d.kind} {d.name}"
    out: list[str] = []
    if not python:
        out += _doc_lines(d.doc, spec, "", docstring=False)
    if d.kind == "module":
        out.append(f"{spec.line_comment} module {d.path}")
    else:
        out.append(head if python or head.endswith("{") else head + " {")
    if python:
        out += _doc_lines(d.doc, spec, "    ", docstring=True)
    for m in members:
        if m.kind in ("field", "variable", "constant"):
            line = _member_line(m, file_lines)
            out.append("    " + line)
        else:
            out.append("    " + _one_line(m, spec))
    current_base = ""
    for base, m in inherited:
        if base != current_base:
            out.append(f"    {spec.line_comment} inherited from {base}")
            current_base = base
        out.append("    " + _one_line(m, spec))
    if not python and d.kind != "module":
        out.append("}")
    return out


def _member_line(m: Definition, file_lines: Sequence[str]) -> str:
    if m.path and file_lines and 0 < m.name_line <= len(file_lines) and m.start_line == m.end_line:
        return file_lines[m.name_line - 1].strip()
    return m.signature.strip() or m.name


def _one_line(m: Definition, spec: LanguageSpec) -> str:
    sig = m.signature.strip() or m.name
    if m.kind == ATTRIBUTE:  # data: no body to elide
        doc = _first_paragraph(m.doc, 100).split("\n", 1)[0]
        return f"{sig}  {spec.line_comment} {doc}" if doc else sig
    if spec.doc == "docstring":
        doc = _first_paragraph(m.doc, 100).split("\n", 1)[0]
        return f"{sig} ...  # {doc}" if doc else f"{sig} ..."
    if sig.endswith("{"):
        sig = sig[:-1].rstrip()
    return sig + ";" if spec.resolver in ("java", "c") else sig


def full(
    d: Definition,
    spec: LanguageSpec,
    file_lines: Sequence[str],
    container: Definition | None = None,
) -> list[str] | None:
    """The definition's own lines, or None when they are not available."""
    if not file_lines or d.end_line > len(file_lines) or d.start_line < 1:
        return None
    body = list(file_lines[d.start_line - 1 : d.end_line])
    if container is not None and d.kind in ("method", "field"):
        indent = _indent_of(body[0]) if body else ""
        head = container.signature.strip() or f"{container.kind} {container.name}"
        if spec.doc == "docstring":
            return (
                [head, *body]
                if indent
                else [head, *textwrap.indent("\n".join(body), "    ").split("\n")]
            )
        opener = head if head.endswith("{") else head + " {"
        return [opener, *body, "}"]
    return body


def render(
    d: Definition,
    spec: LanguageSpec,
    level: str,
    *,
    file_lines: Sequence[str] = (),
    container: Definition | None = None,
    members: Sequence[Definition] = (),
    inherited: Sequence[tuple[str, Definition]] = (),
) -> Rendered:
    lines: list[str] | None
    if level == "full":
        lines = full(d, spec, file_lines, container)
        if lines is None:
            level, lines = "compact", compact(d, spec)
    elif level == "outline":
        lines = outline(d, spec, members, inherited, file_lines)
    elif level == "compact":
        lines = compact(d, spec)
        if container is not None and d.kind in ("method", "field"):
            head = container.signature.strip() or container.name
            if spec.doc == "docstring":
                lines = [head, *compact(d, spec, "    ")]
            else:
                lines = [
                    head if head.endswith("{") else head + " {",
                    *compact(d, spec, "    "),
                    "}",
                ]
    else:
        lines = [stub(d, spec)]
    return Rendered("\n".join(lines), level, d.start_line, d.end_line)


def full_fits(d: Definition) -> bool:
    """Whether a definition is small enough to show whole."""
    limit = _FULL_MAX_LINES.get(d.kind, 30)
    return d.end_line - d.start_line + 1 <= limit

"""One parse of one file -> definitions, references, imports and chunks.

Driven by the tag and import queries of the language table; the only per-language code is the
import normalisation in :mod:`repolens.indexer.imports` (a Rust use-tree is not a flat list).
This module is pure: bytes in, :class:`FileFacts` out, so it runs in worker processes and on
unsaved editor buffers alike.
"""

from __future__ import annotations

import re
from collections import defaultdict

from tree_sitter import Node, Parser, QueryCursor, Tree

from .languages import LanguageSpec, combined_query, parser_for
from .model import Chunk, Definition, FileFacts, Reference
from .resolvers import normalize_imports
from .terms import terms_for_text

__all__ = ["extract", "extract_tree", "parse"]

# Node types that hold a unit's body; the signature is the text before it.
_BODY_TYPES = frozenset(
    {
        "block",
        "statement_block",
        "class_body",
        "compound_statement",
        "field_declaration_list",
        "declaration_list",
        "enum_body",
        "interface_body",
        "constructor_body",
        "enum_variant_list",
        "object_type",
        "enum_declaration_list",
    }
)
# Where a body-looking node is part of the signature (an object type in a parameter).
_NOT_BODY_PARENTS = frozenset(
    {
        "formal_parameters",
        "type_annotation",
        "parameter_list",
        "type_parameters",
        "type_arguments",
        "parameters",
        "required_parameter",
        "optional_parameter",
    }
)
# Wrappers whose text belongs to the unit they wrap (decorators, `export`, templates).
_WRAPPERS = frozenset(
    {"decorated_definition", "export_statement", "template_declaration", "ambient_declaration"}
)
# Definitions that own a body and therefore a scope for what is nested in them.
_SCOPED_KINDS = frozenset(
    {
        "class",
        "function",
        "method",
        "interface",
        "struct",
        "enum",
        "impl",
        "trait",
        "namespace",
        "module",
        "record",
    }
)
_LEAF_KINDS = frozenset({"variable", "field", "constant", "type", "macro"})
_WS = re.compile(r"\s+")
_MAX_SIGNATURE = 400
_MAX_DOC = 600


def parse(data: bytes, spec: LanguageSpec, parser: Parser | None = None) -> Tree:
    return (parser or parser_for(spec.name)).parse(data)


def extract(path: str, data: bytes, spec: LanguageSpec, parser: Parser | None = None) -> FileFacts:
    """Parse ``data`` (the file's bytes) and extract its facts."""
    return extract_tree(path, data, parse(data, spec, parser), spec)


def extract_tree(path: str, data: bytes, tree: Tree, spec: LanguageSpec) -> FileFacts:
    root = tree.root_node
    lines = data.split(b"\n")
    facts = FileFacts(path=path, language=spec.name, line_count=len(lines))
    if root.has_error:
        facts.parse_errors = _count_errors(root)

    defs: list[tuple[Definition, Node]] = []
    refs: dict[tuple[str, str], list[int]] = defaultdict(list)
    raw_refs: dict[tuple[bytes | None, str], list[int]] = defaultdict(list)
    import_matches: list[tuple[int, dict[str, list[Node]]]] = []
    compiled = combined_query(spec.name)
    if compiled is not None:
        query, n_tag_patterns = compiled
        stop_words = spec.stop_words
        for pattern, caps in QueryCursor(query).matches(root):
            if pattern >= n_tag_patterns:
                import_matches.append((pattern, caps))
                continue
            if len(caps) == 1:  # a reference pattern: one capture, no unit
                ((cap, nodes),) = caps.items()
                if cap.startswith("name.reference."):
                    for node in nodes:
                        raw_refs[(node.text, cap)].append(node.start_point[0] + 1)
                    continue
            _collect_tag_match(caps, spec, defs, raw_refs, data)
        for (raw, cap), rows in raw_refs.items():
            name = raw.decode("utf-8", "replace") if raw else ""
            if name and name not in stop_words:
                refs[(name, cap[15:])].extend(rows)
    _assign_scopes(defs, spec)
    facts.definitions = [d for d, _ in defs]
    for d in facts.definitions:
        d.path = path
    facts.references = [
        Reference(name=name, kind=kind, lines=sorted(set(ls))) for (name, kind), ls in refs.items()
    ]
    if import_matches:
        facts.imports, facts.package = normalize_imports(spec.resolver, path, import_matches)

    facts.chunks = _chunks(facts.definitions, lines, spec)
    return facts


def _count_errors(root: Node) -> int:
    count = 0
    stack = [root]
    while stack and count < 1000:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            count += 1
        if node.has_error:
            stack.extend(node.children)
    return count


def _text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""


def _collect_tag_match(
    caps: dict[str, list[Node]],
    spec: LanguageSpec,
    defs: list[tuple[Definition, Node]],
    refs: dict[tuple[bytes | None, str], list[int]],
    data: bytes,
) -> None:
    name_node: Node | None = None
    unit_node: Node | None = None
    kind = ""
    scope_override = ""
    for cap, nodes in caps.items():
        if cap.startswith("name.definition."):
            name_node, kind = nodes[0], cap[len("name.definition.") :]
        elif cap.startswith("definition."):
            unit_node = nodes[0]
        elif cap.startswith("name.reference."):
            for node in nodes:
                refs[(node.text, cap)].append(node.start_point.row + 1)
        elif cap == "scope":
            scope_override = _text(nodes[0])
    if name_node is None:
        return
    unit = unit_node or name_node
    name = _text(name_node)
    if not name:
        return
    outer = unit
    while outer.parent is not None and outer.parent.type in _WRAPPERS:
        outer = outer.parent
    doc, doc_start_row = _doc(unit, outer, spec)
    start_row = min(outer.start_point.row, doc_start_row)
    definition = Definition(
        name=name,
        kind=kind,
        start_line=start_row + 1,
        end_line=_end_row(outer) + 1,
        name_line=name_node.start_point.row + 1,
        name_col=name_node.start_point.column,
        signature=_signature(unit, kind, data),
        doc=doc,
        scope=scope_override,
    )
    defs.append((definition, unit))


def _end_row(node: Node) -> int:
    """The last row with text of a node (a #define ends at column 0 of the next line)."""
    end = node.end_point
    if end.column == 0 and end.row > node.start_point.row:
        return end.row - 1
    return end.row


def _body(unit: Node) -> Node | None:
    body = unit.child_by_field_name("body")
    if body is not None:
        return body
    frontier = [unit]
    for _ in range(4):
        nxt: list[Node] = []
        for node in frontier:
            for child in node.named_children:
                if child.type in _BODY_TYPES:
                    return child
                if child.type not in _NOT_BODY_PARENTS:
                    nxt.append(child)
        frontier = nxt
    return None


def _signature(unit: Node, kind: str, data: bytes) -> str:
    body = None if kind in _LEAF_KINDS else _body(unit)
    if body is not None and body.start_byte > unit.start_byte:
        raw = data[unit.start_byte : body.start_byte]
    else:
        raw = data[unit.start_byte : unit.end_byte].split(b"\n", 1)[0]
    text = _WS.sub(" ", raw.decode("utf-8", "replace")).strip()
    if body is not None and body.type == "block" and not text.endswith(":"):
        text = text.rstrip()  # Python: the colon sits before the block already
    if len(text) > _MAX_SIGNATURE:
        text = text[: _MAX_SIGNATURE - 3] + "..."
    return text


def _doc(unit: Node, outer: Node, spec: LanguageSpec) -> tuple[str, int]:
    """The unit's documentation and the row where its leading comment starts."""
    if spec.doc == "docstring":
        body = unit.child_by_field_name("body")
        if body is not None and body.named_child_count:
            first = body.named_children[0]
            if first.type == "expression_statement" and first.named_child_count:
                string = first.named_children[0]
                if string.type == "string":
                    return _clean_docstring(_text(string)), outer.start_point.row
        return "", outer.start_point.row
    comments: list[Node] = []
    node = outer.prev_named_sibling
    expected_row = outer.start_point.row
    # attributes/annotations between a doc comment and its item (Rust #[derive], ...)
    while (
        node is not None
        and node.type in ("attribute_item", "inner_attribute_item")
        and (node.end_point.row >= expected_row - 1)
    ):
        expected_row = node.start_point.row
        node = node.prev_named_sibling
    while node is not None and "comment" in node.type and node.end_point.row >= expected_row - 1:
        comments.append(node)
        expected_row = node.start_point.row
        node = node.prev_named_sibling
    if not comments:
        return "", outer.start_point.row
    comments.reverse()
    text = "\n".join(_strip_comment(_text(c)) for c in comments).strip()
    return text[:_MAX_DOC], comments[0].start_point.row


def _clean_docstring(raw: str) -> str:
    text = raw
    for prefix in ("r", "u", "b", "R", "U", "B"):
        if text.startswith(prefix):
            text = text[1:]
    for quote in ('"""', "'''", '"', "'"):
        if text.startswith(quote) and text.endswith(quote) and len(text) >= 2 * len(quote):
            text = text[len(quote) : -len(quote)]
            break
    lines = [ln.strip() for ln in text.strip().splitlines()]
    return "\n".join(lines)[:_MAX_DOC]


_COMMENT_MARKS = re.compile(r"^\s*(///?|//!|/\*\*?|\*/|\*|#)\s?")


def _strip_comment(text: str) -> str:
    out = []
    for line in text.splitlines():
        line = _COMMENT_MARKS.sub("", line)
        line = line.removesuffix("*/").rstrip()
        out.append(line)
    return "\n".join(out).strip()


def _assign_scopes(defs: list[tuple[Definition, Node]], spec: LanguageSpec) -> None:
    """Fill ``scope`` from span containment; functions inside containers become methods."""
    defs.sort(key=lambda pair: (pair[1].start_byte, -pair[1].end_byte))
    stack: list[tuple[Definition, Node]] = []
    for definition, node in defs:
        while stack and stack[-1][1].end_byte <= node.start_byte:
            stack.pop()
        enclosing = stack[-1][0] if stack else None
        explicit_scope = bool(definition.scope)  # @scope: a receiver, Foo:: qualifier, impl
        if not definition.scope and enclosing is not None:
            definition.scope = enclosing.qualified_name
        if definition.kind == "function" and (
            explicit_scope or (enclosing is not None and enclosing.kind in spec.container_kinds)
        ):
            definition.kind = "method"
        if definition.kind in _SCOPED_KINDS:
            stack.append((definition, node))


def _chunks(defs: list[Definition], lines: list[bytes], spec: LanguageSpec) -> list[Chunk]:
    """Function/class-sized chunks; big containers split by member; leftovers grouped."""
    n = len(lines)
    covered = bytearray(n + 2)
    out: list[Chunk] = []
    units = [d for d in defs if d.kind in _SCOPED_KINDS]
    by_scope: dict[str, list[Definition]] = defaultdict(list)
    for d in units:
        by_scope[d.scope].append(d)

    def emit(start: int, end: int, kind: str, symbol: str) -> None:
        start, end = max(1, start), min(n, end)
        if end < start:
            return
        for line in range(start, end + 1):
            covered[line] = 1
        out.append(Chunk(start_line=start, end_line=end, kind=kind, symbol=symbol))

    def split_windows(start: int, end: int, kind: str, symbol: str) -> None:
        step = max(spec.chunk_lines, 1)
        for s in range(start, end + 1, step):
            emit(s, min(end, s + step - 1), kind, symbol)

    def place(d: Definition) -> None:
        if any(covered[d.start_line : d.end_line + 1]):
            return  # nested inside something already emitted
        size = d.end_line - d.start_line + 1
        if size <= spec.chunk_max_lines:
            emit(d.start_line, d.end_line, d.kind, d.qualified_name)
            return
        members = [m for m in by_scope.get(d.qualified_name, []) if m is not d]
        members = [m for m in members if d.start_line <= m.start_line <= d.end_line]
        if not members:
            split_windows(d.start_line, d.end_line, d.kind, d.qualified_name)
            return
        members.sort(key=lambda m: m.start_line)
        header_end = members[0].start_line - 1
        if header_end >= d.start_line:
            header_end = min(header_end, d.start_line + spec.chunk_max_lines - 1)
            emit(d.start_line, header_end, d.kind, d.qualified_name)
        for m in members:
            place(m)
        _group_uncovered(d.start_line, d.end_line, lines, covered, spec, out, d.qualified_name)

    for d in sorted(units, key=lambda u: (u.start_line, -u.end_line)):
        place(d)  # parents come first; whatever they already cover is skipped
    _group_uncovered(1, n, lines, covered, spec, out, "")
    out.sort(key=lambda c: (c.start_line, c.end_line))
    for chunk in out:
        text = b"\n".join(lines[chunk.start_line - 1 : chunk.end_line]).decode("utf-8", "replace")
        chunk.terms = terms_for_text(text)
    return out


def _group_uncovered(
    start: int,
    end: int,
    lines: list[bytes],
    covered: bytearray,
    spec: LanguageSpec,
    out: list[Chunk],
    symbol: str,
) -> None:
    """Group lines no unit covers into chunks of about ``chunk_lines`` (blank runs dropped)."""
    run_start = 0
    line = start
    limit = min(end, len(lines))

    def flush(s: int, e: int) -> None:
        while s <= e and not lines[s - 1].strip():
            s += 1
        while e >= s and not lines[e - 1].strip():
            e -= 1
        if s > e:
            return
        for i in range(s, e + 1):
            covered[i] = 1
        out.append(Chunk(start_line=s, end_line=e, kind="code", symbol=symbol))

    while line <= limit:
        if not covered[line]:
            if not run_start:
                run_start = line
            if line - run_start + 1 >= spec.chunk_lines:
                flush(run_start, line)
                run_start = 0
        elif run_start:
            flush(run_start, line - 1)
            run_start = 0
        line += 1
    if run_start:
        flush(run_start, limit)

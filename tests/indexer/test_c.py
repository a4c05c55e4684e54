"""C extraction and resolution on real tree-sitter parses of fixture files."""

from __future__ import annotations

from pathlib import Path

import pytest

from repolens.indexer import RepoIndex, language_spec
from repolens.indexer.extract import extract
from repolens.indexer.model import FileFacts, Import
from repolens.indexer.resolvers import RepoFiles
from repolens.indexer.resolvers import c as c_resolver

LANG = Path(__file__).parent.parent / "fixtures" / "languages" / "c"


def _facts(name: str) -> FileFacts:
    path = LANG / name
    return extract(name, path.read_bytes(), language_spec("c"))


def test_header_definitions_kinds_scopes_signatures_docs() -> None:
    facts = _facts("sample.h")
    by_name = {d.qualified_name: d for d in facts.definitions}
    assert "SAMPLE_H" not in by_name  # the include guard is not a definition
    assert by_name["MAX_DIM"].kind == "macro"
    assert by_name["MAX_DIM"].doc == "Largest number of components."
    assert by_name["SQUARE"].kind == "macro"
    assert by_name["SQUARE"].signature == "#define SQUARE(x) ((x) * (x))"
    # typedef struct { ... } vec2: a struct known by its typedef name
    vec2 = by_name["vec2"]
    assert vec2.kind == "struct" and vec2.doc == "A 2D vector."
    assert (vec2.start_line, vec2.name_line, vec2.end_line) == (12, 16, 16)
    assert by_name["vec2.x"].kind == "field"
    node = by_name["node"]
    assert node.kind == "struct" and node.signature == "struct node"
    assert node.doc == "A node of a singly linked list."
    for field in ("value", "next", "label", "visit"):  # plain, pointer, array, fn pointer
        assert by_name[f"node.{field}"].kind == "field"
    assert by_name["node_t"].kind == "type"
    assert by_name["compare_fn"].kind == "type"
    assert by_name["ulong"].kind == "type"
    # enums are types; their constants are file-scope names, as in C
    assert by_name["log_level"].kind == "type"
    assert by_name["log_level"].doc == "How loud the log is."
    assert by_name["LOG_DEBUG"].kind == by_name["LOG_INFO"].kind == "constant"
    assert by_name["color"].kind == "type" and by_name["RED"].scope == ""
    assert by_name["number"].kind == "struct" and by_name["number.d"].kind == "field"
    assert by_name["vec_count"].kind == "variable"
    assert by_name["vec_count"].doc == "Number of vectors made so far."
    add = by_name["vec2_add"]
    assert add.kind == "function" and add.signature == "vec2 vec2_add(vec2 a, vec2 b);"
    assert add.doc == "Add two vectors."
    assert by_name["vec2_format"].kind == "function"  # returns a pointer
    assert facts.parse_errors == 0


def test_source_definitions() -> None:
    facts = _facts("sample.c")
    got = [(d.name, d.kind, d.name_line) for d in facts.definitions]
    assert got == [
        ("vec_count", "variable", 5),
        ("names", "variable", 6),
        ("vec2_add", "function", 9),
        ("vec2_format", "function", 15),
        ("compare_nodes", "function", 21),
        ("visit_all", "function", 27),
    ]
    by_name = {d.name: d for d in facts.definitions}
    assert by_name["vec2_add"].doc == "Add component-wise."
    assert by_name["vec2_add"].start_line == 8
    assert by_name["vec2_format"].signature == "char *vec2_format(const vec2 *v)"
    assert by_name["compare_nodes"].signature == (
        "static int compare_nodes(const void *a, const void *b)"
    )


def test_includes_are_wildcard_imports() -> None:
    facts = _facts("sample.c")
    got = [(i.module, i.name, i.local, i.wildcard, i.line) for i in facts.imports]
    assert got == [
        ("sample.h", None, None, True, 1),
        ("<stdio.h>", None, None, True, 2),
        ("<stdlib.h>", None, None, True, 3),
    ]
    header = [i.module for i in _facts("sample.h").imports]
    assert header == ["<stddef.h>", "types/common.h"]


def test_references_with_lines() -> None:
    facts = _facts("sample.c")
    refs = {(r.name, r.kind): r.lines for r in facts.references}
    assert refs[("malloc", "call")] == [16]
    assert refs[("qsort", "call")] == [31]
    assert refs[("visit", "call")] == [29]  # through a function pointer field
    assert refs[("node_t", "type")] == [22, 23, 27, 28]
    assert refs[("vec2", "type")] == [9, 10, 15]


def test_syntax_errors_still_extract_what_parses() -> None:
    facts = _facts("broken.c")
    names = {d.qualified_name for d in facts.definitions}
    assert {"fine", "still_found", "still_found.value", "after"} <= names
    assert facts.parse_errors > 0


def test_include_resolution_rules() -> None:
    files = RepoFiles(["src/main.c", "src/util.h", "include/app/log.h", "lib/util.h", "stdio.h"])

    def target(module: str, importer: str = "src/main.c") -> str | None:
        return c_resolver.resolve_target(
            Import(module, None, None, 1, wildcard=True), importer, files
        )

    assert target("util.h") == "src/util.h"  # next to the including file first
    assert target("util.h", "lib/x.c") == "lib/util.h"
    assert target("app/log.h") == "include/app/log.h"  # an include directory
    assert target("../include/app/log.h") == "include/app/log.h"
    assert target("<app/log.h>") == "include/app/log.h"  # the repo has it
    assert target("<stdlib.h>") is None  # a system header
    assert target("missing.h") is None
    assert c_resolver.base_names("struct node") == []
    assert c_resolver.base_names("int main(void)") == []


@pytest.fixture
def app_index(fixture_repo) -> RepoIndex:  # type: ignore[no-untyped-def]
    repo = fixture_repo("c_app")
    index = RepoIndex(repo)
    index.update()
    return index


def _where(res) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return [(d.path, d.name_line) for d in res.definitions]


def test_resolution_through_included_headers(app_index: RepoIndex) -> None:
    idx = app_index
    # a function declared in an included header: its prototype, with the header's doc
    res = idx.resolve("src/main.c", "vec2_add")
    assert (_where(res), res.via) == ([("src/vec.h", 20)], "import")
    assert res.definitions[0].doc == "The component-wise sum of a and b."
    # an include found through an include directory
    assert _where(idx.resolve("src/main.c", "log_msg")) == [("include/app/log.h", 12)]
    # types, members, macros, enum constants and globals from headers
    assert _where(idx.resolve("src/main.c", "vec2")) == [("src/vec.h", 11)]
    assert _where(idx.resolve("src/main.c", "vec2.x")) == [("src/vec.h", 9)]
    assert _where(idx.resolve("src/main.c", "VEC_EPS")) == [("src/vec.h", 5)]
    assert _where(idx.resolve("src/main.c", "LOG_INFO")) == [("include/app/log.h", 7)]
    assert _where(idx.resolve("src/main.c", "vec_count")) == [("src/vec.h", 14)]
    # the defining file's own definition wins there
    res = idx.resolve("src/vec.c", "vec2_make")
    assert (_where(res), res.via) == ([("src/vec.c", 7)], "local")
    # declaration and definition are both in the symbol table
    assert [(d.path, d.name_line) for d in idx.definitions("vec2_add")] == [
        ("src/vec.h", 20),
        ("src/vec.c", 13),
    ]
    # the C library is not in the repository
    assert idx.resolve("src/main.c", "printf").definitions == []


def test_include_targets_and_importers(app_index: RepoIndex) -> None:
    targets = {i.module: i.target for i in app_index.imports("src/main.c")}
    assert targets == {
        "<stdio.h>": None,
        "app/log.h": "include/app/log.h",
        "vec.h": "src/vec.h",
    }
    assert app_index.importers("src/vec.h") == ["src/main.c", "src/vec.c"]
    assert app_index.importers("include/app/log.h") == ["src/log.c", "src/main.c"]
    outline = [(d.qualified_name, d.kind) for d in app_index.file_definitions("src/vec.h")]
    assert outline == [
        ("VEC_EPS", "macro"),
        ("vec2", "struct"),
        ("vec2.x", "field"),
        ("vec2.y", "field"),
        ("vec_count", "variable"),
        ("vec2_make", "function"),
        ("vec2_add", "function"),
        ("vec2_len", "function"),
    ]

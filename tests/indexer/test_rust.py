"""Rust extraction and resolution on real tree-sitter parses of fixture files."""

from __future__ import annotations

from pathlib import Path

import pytest

from repolens.indexer import RepoIndex, language_spec
from repolens.indexer.extract import extract
from repolens.indexer.model import FileFacts
from repolens.indexer.resolvers import RepoFiles
from repolens.indexer.resolvers import rust as rust_resolver

LANG = Path(__file__).parent.parent / "fixtures" / "languages" / "rust"


def _facts(name: str) -> FileFacts:
    path = LANG / name
    return extract(name, path.read_bytes(), language_spec("rust"))


def test_definitions_kinds_scopes_signatures_docs() -> None:
    facts = _facts("sample.rs")
    by_name = {d.qualified_name: d for d in facts.definitions}
    assert by_name["MAX_RADIUS"].kind == "constant"
    assert by_name["MAX_RADIUS"].doc == "Largest radius we accept."
    assert by_name["GREETING"].kind == "constant"
    assert by_name["Registry"].kind == "type"
    circle = by_name["Circle"]
    assert circle.kind == "struct" and circle.signature == "pub struct Circle"
    assert circle.doc == "A circle in the plane."
    assert (circle.start_line, circle.name_line, circle.end_line) == (17, 18, 22)
    assert by_name["Circle.radius"].kind == "field"
    assert by_name["Circle.radius"].doc == "Its radius."
    assert by_name["Circle.center"].kind == "field"
    assert by_name["Shape"].kind == "enum"
    assert [by_name[f"Shape.{v}"].kind for v in ("Circle", "Square", "Empty")] == ["constant"] * 3
    assert by_name["Area"].kind == "trait" and by_name["Area"].doc == "Things with an area."
    # required and provided trait methods
    assert by_name["Area.area"].kind == "method"
    assert by_name["Area.area"].signature == "fn area(&self) -> f64;"
    assert by_name["Area.describe"].kind == "method"
    # impl blocks: members are scoped by the implemented type (generics and paths dropped)
    new = by_name["Circle.new"]
    assert new.kind == "method" and new.signature == "pub fn new(radius: f64) -> Self"
    assert new.doc == "Make a circle."
    assert by_name["Circle.diameter"].kind == "method"
    assert by_name["Circle.UNIT"].kind == "constant"
    area_impl = [d for d in facts.definitions if d.qualified_name == "Circle.area"]
    assert [d.name_line for d in area_impl] == [54]  # `impl Area for Circle`
    assert by_name["Wrapper.fmt"].kind == "method"  # impl<T> fmt::Display for Wrapper<T>
    assert by_name["Wrapper"].kind == "struct"
    assert by_name["square"].kind == "macro"
    build = by_name["build"]
    assert build.kind == "function" and build.doc == "Build the registry."
    assert build.signature == "pub fn build(names: &[&str]) -> Registry"
    assert by_name["build.key"].kind == "function"  # nested fn
    assert by_name["inner"].kind == "module"
    assert by_name["inner.Helper"].kind == "struct"
    assert "inner.help" in by_name
    # every unit is matched once
    names = [d.qualified_name for d in facts.definitions]
    assert len(names) == len(set(names))
    assert facts.parse_errors == 0


def test_imports_expand_use_trees() -> None:
    facts = _facts("sample.rs")
    got = [(i.module, i.name, i.alias, i.local, i.wildcard, i.reexport) for i in facts.imports]
    assert got == [
        ("std::collections", "HashMap", None, "HashMap", False, False),
        ("std", "fmt", None, "fmt", False, False),  # `{self, ...}` binds the module
        ("std::fmt", "Display", None, "Display", False, False),
        ("crate::util", "round2", "round", "round", False, False),
        ("crate::util::parse", "Token", None, "Token", False, False),
        ("crate::util::parse", "Lexer", None, "Lexer", False, False),
        ("super::config", None, None, None, True, False),
        ("self::inner", "Helper", None, "Helper", False, True),  # pub use: a re-export
        ("self::geometry", None, None, "geometry", False, True),  # pub mod geometry;
        ("self::storage", None, None, "storage", False, False),  # mod storage;
        ("serde", None, None, "serde", False, False),  # extern crate
    ]
    # `use super::Circle` inside `mod inner` names this file's own item: no import
    assert all(i.line < 80 for i in facts.imports)


def test_references_with_lines() -> None:
    facts = _facts("sample.rs")
    refs = {(r.name, r.kind): r.lines for r in facts.references}
    assert refs[("new", "call")] == [78, 80, 91]  # Registry::new, Circle::new x2
    assert refs[("key", "call")] == [80]
    assert refs[("round", "call")] == [49]
    assert refs[("to_lowercase", "call")] == [76]  # method call
    assert refs[("square", "call")] == [80]  # macro invocation
    assert refs[("Circle", "class")] == [45]  # struct expression
    assert 53 in refs[("Area", "type")]  # impl Area for Circle
    assert ("self", "type") not in refs and ("Self", "type") not in refs


def test_syntax_errors_still_extract_what_parses() -> None:
    facts = _facts("broken.rs")
    names = {d.qualified_name for d in facts.definitions}
    assert {"fine", "StillFound", "StillFound.value", "StillFound.method"} <= names
    assert facts.parse_errors > 0


def test_chunks_cover_units_and_leftovers() -> None:
    facts = _facts("sample.rs")
    kinds = [(c.kind, c.symbol, c.start_line, c.end_line) for c in facts.chunks]
    assert ("struct", "Circle", 17, 22) in kinds
    assert ("trait", "Area", 31, 38) in kinds
    assert ("method", "Circle.new", 43, 46) in kinds
    assert ("function", "build", 73, 83) in kinds
    assert ("module", "inner", 85, 93) in kinds
    assert any(c.kind == "code" and c.start_line == 1 for c in facts.chunks)  # the use lines


def test_module_files_follow_the_compiler_rules() -> None:
    files = RepoFiles(
        [
            "Cargo.toml",
            "src/lib.rs",
            "src/main.rs",
            "src/a.rs",
            "src/a/b.rs",
            "src/c/mod.rs",
            "src/c/d.rs",
            "src/bin/tool.rs",
            "src/bin/helper.rs",
            "tests/it.rs",
            "tests/common/mod.rs",
            "crates/geo-core/src/lib.rs",
            "crates/geo-core/src/shapes.rs",
        ]
    )

    def target(module: str, importer: str) -> str | None:
        from repolens.indexer.model import Import

        return rust_resolver.resolve_target(Import(module, None, None, 1), importer, files)

    assert target("self::a", "src/lib.rs") == "src/a.rs"  # mod a; in the crate root
    assert target("self::b", "src/a.rs") == "src/a/b.rs"  # mod b; in a.rs -> a/b.rs
    assert target("self::d", "src/c/mod.rs") == "src/c/d.rs"  # mod d; in mod.rs
    assert target("self::common", "tests/it.rs") == "tests/common/mod.rs"  # test crate root
    assert target("crate", "src/a/b.rs") == "src/lib.rs"
    assert target("crate", "src/main.rs") == "src/main.rs"
    assert target("crate::c::d", "src/a.rs") == "src/c/d.rs"
    assert target("super", "src/a/b.rs") == "src/a.rs"
    assert target("super", "src/c/d.rs") == "src/c/mod.rs"
    assert target("super::super", "src/a/b.rs") == "src/lib.rs"
    assert target("self", "src/a/b.rs") == "src/a/b.rs"
    assert target("a::b", "src/lib.rs") == "src/a/b.rs"  # 2018 path from the root
    assert target("std::collections", "src/a.rs") is None
    assert target("self::helper", "src/bin/tool.rs") == "src/bin/helper.rs"  # a bin crate root
    # a test crate reaches its package's library by the crate name
    assert target("my_app", "tests/it.rs") == "src/lib.rs"
    assert target("common", "tests/it.rs") == "tests/common/mod.rs"
    # a workspace member, by its directory name
    assert target("geo_core::shapes", "src/a.rs") == "crates/geo-core/src/shapes.rs"
    assert rust_resolver.submodule("src/a.rs", "b", files) == "src/a/b.rs"
    assert rust_resolver.submodule("src/lib.rs", "c", files) == "src/c/mod.rs"
    assert rust_resolver.base_names("pub struct Circle") == []


@pytest.fixture
def app_index(fixture_repo) -> RepoIndex:  # type: ignore[no-untyped-def]
    repo = fixture_repo("rust_app")
    index = RepoIndex(repo)
    index.update()
    return index


def _where(res) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return [(d.path, d.name_line) for d in res.definitions]


def test_resolution_through_modules_and_reexports(app_index: RepoIndex) -> None:
    idx = app_index
    # use rust_app::Circle  (lib.rs: pub use geometry::shapes::{Circle, Shape})
    assert _where(idx.resolve("src/main.rs", "Circle")) == [("src/geometry/shapes.rs", 5)]
    # renamed re-export: pub use crate::config::Config as AppConfig
    assert _where(idx.resolve("src/main.rs", "AppConfig")) == [("src/config.rs", 9)]
    # methods through the type: inherent impl, trait impl, impl of an enum
    assert _where(idx.resolve("src/main.rs", "Circle::new")) == [("src/geometry/shapes.rs", 11)]
    assert _where(idx.resolve("src/main.rs", "Circle::area")) == [("src/geometry/shapes.rs", 21)]
    assert _where(idx.resolve("src/main.rs", "Shape::describe")) == [("src/geometry/shapes.rs", 33)]
    assert _where(idx.resolve("src/main.rs", "AppConfig::new")) == [("src/config.rs", 16)]
    # `use rust_app::geometry::{self, Area}`; geometry/mod.rs: pub use self::transform::scale
    assert _where(idx.resolve("src/main.rs", "geometry::scale")) == [
        ("src/geometry/transform.rs", 4)
    ]
    assert _where(idx.resolve("src/main.rs", "Area")) == [("src/geometry/mod.rs", 9)]
    # mod cli; use cli::parse_radius;  (a module of the binary crate)
    assert _where(idx.resolve("src/main.rs", "parse_radius")) == [("src/cli.rs", 2)]
    # super::, crate:: and a glob
    assert _where(idx.resolve("src/geometry/shapes.rs", "Area")) == [("src/geometry/mod.rs", 9)]
    assert _where(idx.resolve("src/geometry/shapes.rs", "round2")) == [("src/util.rs", 2)]
    assert _where(idx.resolve("src/geometry/transform.rs", "Circle")) == [
        ("src/geometry/shapes.rs", 5)
    ]
    # mod defaults; in config.rs lives in config/defaults.rs
    assert _where(idx.resolve("src/config.rs", "DEFAULT_NAME")) == [("src/config/defaults.rs", 2)]
    assert idx.resolve("src/geometry/shapes.rs", "Circle").via == "local"
    # std is outside the repository
    assert idx.resolve("src/main.rs", "Vec").definitions == []


def test_import_targets_and_importers(app_index: RepoIndex) -> None:
    targets = {(i.module, i.name): i.target for i in app_index.imports("src/lib.rs")}
    assert targets == {
        ("self::config", None): "src/config.rs",
        ("self::geometry", None): "src/geometry/mod.rs",
        ("self::util", None): "src/util.rs",
        ("crate::config", "Config"): "src/config.rs",
        ("geometry::shapes", "Circle"): "src/geometry/shapes.rs",
        ("geometry::shapes", "Shape"): "src/geometry/shapes.rs",
    }
    reexports = [(i.local, i.reexport) for i in app_index.imports("src/lib.rs")]
    assert ("AppConfig", True) in reexports and ("util", False) in reexports
    main = {(i.module, i.name): i.target for i in app_index.imports("src/main.rs")}
    assert main[("rust_app", "Circle")] == "src/lib.rs"  # the package's own library
    assert main[("rust_app::geometry", "Area")] == "src/geometry/mod.rs"
    assert main[("cli", "parse_radius")] == "src/cli.rs"
    assert app_index.importers("src/geometry/shapes.rs") == [
        "src/geometry/mod.rs",
        "src/geometry/transform.rs",
        "src/lib.rs",
    ]
    outline = [
        (d.qualified_name, d.kind) for d in app_index.file_definitions("src/geometry/shapes.rs")
    ]
    assert outline[:6] == [
        ("Circle", "struct"),
        ("Circle.radius", "field"),
        ("Circle.new", "method"),
        ("Circle.diameter", "method"),
        ("Circle.area", "method"),
        ("Shape", "enum"),
    ]

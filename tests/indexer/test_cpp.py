"""C++ extraction and resolution on real tree-sitter parses of fixture files."""

from __future__ import annotations

from pathlib import Path

import pytest

from repolens.indexer import RepoIndex, language_spec
from repolens.indexer.extract import extract
from repolens.indexer.model import FileFacts
from repolens.indexer.resolvers import c as c_resolver

LANG = Path(__file__).parent.parent / "fixtures" / "languages" / "cpp"


def _facts(name: str) -> FileFacts:
    path = LANG / name
    return extract(name, path.read_bytes(), language_spec("cpp"))


def test_header_definitions_kinds_scopes_signatures_docs() -> None:
    facts = _facts("sample.hpp")
    by_name = {d.qualified_name: d for d in facts.definitions}
    assert by_name["SHAPES_VERSION"].kind == "macro"
    assert by_name["CLAMP"].kind == "macro"
    geo = by_name["geo"]
    assert geo.kind == "namespace" and (geo.start_line, geo.end_line) == (11, 70)
    assert (
        by_name["geo.Style"].kind == "enum" and by_name["geo.Style"].doc == "How a shape is drawn."
    )
    assert by_name["geo.Style.Solid"].kind == "constant"
    assert by_name["geo.Points"].kind == "type"  # using Points = ...
    assert by_name["geo.Visitor"].kind == "type"  # function pointer typedef
    assert by_name["geo.Point"].kind == "struct"
    assert by_name["geo.Point.x"].kind == "field"
    shape = by_name["geo.Shape"]
    assert shape.kind == "class" and shape.doc == "Base of every shape."
    assert (shape.start_line, shape.name_line) == (25, 28)
    area = by_name["geo.Shape.area"]
    assert area.kind == "method" and area.signature == "virtual double area() const = 0;"
    assert area.doc == "The area in square units."
    assert by_name["geo.Shape.~Shape"].kind == "method"
    assert by_name["geo.Shape.name"].signature == "const std::string &name() const;"
    assert by_name["geo.Shape.clone"].kind == "method"  # returns a pointer
    assert by_name["geo.Shape.name_"].kind == "field"
    assert by_name["geo.Shape.count_"].kind == "field"
    circle = by_name["geo.Circle"]
    assert circle.signature == "class Circle final : public Shape, private base::Object"
    assert by_name["geo.Circle.Circle"].kind == "method"  # constructor
    assert by_name["geo.Circle.radius"].signature == "double radius() const"  # inline body
    assert by_name["geo.Circle.operator=="].kind == "method"
    for field in ("r_", "cache_", "tag_"):
        assert by_name[f"geo.Circle.{field}"].kind == "field"
    box = by_name["geo.Box"]
    assert box.kind == "class" and box.start_line == 56  # the template<> line is part of it
    assert by_name["geo.Box.get"].kind == "method"
    assert by_name["geo.total_area"].doc == "Sum of the areas."
    assert by_name["geo.shape_count"].kind == "variable"
    assert facts.parse_errors == 0


def test_out_of_class_definitions_are_scoped_by_their_class() -> None:
    facts = _facts("sample.cpp")
    got = [(d.qualified_name, d.kind, d.name_line) for d in facts.definitions]
    assert got == [
        ("geo", "namespace", 5),
        ("geo.shape_count", "variable", 7),
        ("Shape.~Shape", "method", 10),
        ("Shape.name", "method", 12),
        ("Circle.Circle", "method", 17),
        ("Circle.~Circle", "method", 21),
        ("Circle.area", "method", 23),
        ("Circle.operator==", "method", 27),
        ("Box.get", "method", 32),  # T Box<T>::get()
        ("geo.total_area", "method", 39),  # double geo::total_area(...)
        ("make_shape", "function", 47),
        ("main", "function", 51),
    ]
    by_name = {d.qualified_name: d for d in facts.definitions}
    assert by_name["Circle.Circle"].doc == "Make a circle."
    assert by_name["Circle.area"].signature == "double Circle::area() const"
    assert by_name["Box.get"].start_line == 31


def test_includes_and_references() -> None:
    facts = _facts("sample.cpp")
    assert [(i.module, i.wildcard) for i in facts.imports] == [
        ("sample.hpp", True),
        ("<cmath>", True),
    ]
    refs = {(r.name, r.kind): r.lines for r in facts.references}
    assert refs[("area", "call")] == [42]  # s->area()
    assert refs[("pow", "call")] == [24]  # std::pow
    assert refs[("total_area", "call")] == [54]
    assert refs[("make_shape", "call")] == [52]
    assert refs[("Circle", "class")] == [48]  # new geo::Circle(r)
    header = {(r.name, r.kind): r.lines for r in _facts("sample.hpp").references}
    assert header[("Shape", "class")] == [42]  # base class
    assert header[("Object", "class")] == [42]


def test_syntax_errors_still_extract_what_parses() -> None:
    facts = _facts("broken.cpp")
    names = {d.qualified_name for d in facts.definitions}
    assert {"broken.fine", "broken.StillFound", "broken.StillFound.method"} <= names
    assert facts.parse_errors > 0


def test_base_names() -> None:
    assert c_resolver.base_names("class D final : public B, private virtual ns::C<T>") == [
        "B",
        "ns::C",
    ]
    assert c_resolver.base_names("struct S : Base<std::vector<int>>") == ["Base"]
    assert c_resolver.base_names("class geo::Inner : public ::geo::Outer") == ["geo::Outer"]
    assert c_resolver.base_names("class Plain") == []
    assert c_resolver.base_names("enum class Color : int") == []


@pytest.fixture
def app_index(fixture_repo) -> RepoIndex:  # type: ignore[no-untyped-def]
    repo = fixture_repo("cpp_app")
    index = RepoIndex(repo)
    index.update()
    return index


def _where(res) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return [(d.path, d.name_line) for d in res.definitions]


def test_resolution_through_included_headers(app_index: RepoIndex) -> None:
    idx = app_index
    # a class in a namespace of an included header
    res = idx.resolve("src/main.cpp", "geo::Circle")
    assert (_where(res), res.via) == ([("src/circle.hpp", 10)], "import")
    # its methods: declared in the header
    assert _where(idx.resolve("src/main.cpp", "geo::Circle::area")) == [("src/circle.hpp", 14)]
    assert _where(idx.resolve("src/main.cpp", "geo::Circle::unit")) == [("src/circle.hpp", 19)]
    # declared in the header, defined in the .cpp: both are the answer
    assert _where(idx.resolve("src/main.cpp", "geo::total_area")) == [
        ("src/circle.hpp", 26),
        ("src/circle.cpp", 20),
    ]
    # the standard library is not in the repository
    assert idx.resolve("src/main.cpp", "std::vector").definitions == []


def test_out_of_class_definitions_join_their_class(app_index: RepoIndex) -> None:
    circle = app_index.resolve("src/main.cpp", "geo::Circle").definitions[0]
    members = [(m.qualified_name, m.path, m.name_line) for m in app_index.members(circle)]
    assert members == [
        ("geo.Circle.Circle", "src/circle.hpp", 12),
        ("geo.Circle.area", "src/circle.hpp", 14),
        ("geo.Circle.radius", "src/circle.hpp", 16),
        ("geo.Circle.unit", "src/circle.hpp", 19),
        ("geo.Circle.radius_", "src/circle.hpp", 22),
        ("Circle.Circle", "src/circle.cpp", 7),
        ("Circle.area", "src/circle.cpp", 10),
        ("Circle.unit", "src/circle.cpp", 14),
    ]
    assert app_index.importers("src/circle.hpp") == ["src/circle.cpp", "src/main.cpp"]
    assert app_index.importers("src/shape.hpp") == ["src/circle.hpp", "src/shape.cpp"]
    targets = {i.module: i.target for i in app_index.imports("src/circle.hpp")}
    assert targets == {"<vector>": None, "shape.hpp": "src/shape.hpp"}


def test_namespace_members_and_inherited_methods(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    from repolens.indexer import RepoIndex

    repo = fixture_repo("cpp_app")
    idx = RepoIndex(repo)
    idx.update()
    # geo::Shape is declared inside `namespace geo {}` of an included header
    assert [d.path for d in idx.resolve("src/main.cpp", "geo::Shape").definitions] == [
        "src/shape.hpp"
    ]
    # a method Circle inherits from Shape
    inherited = idx.resolve("src/main.cpp", "geo::Circle::name").definitions
    assert [(d.path, d.scope) for d in inherited][:1] == [("src/shape.hpp", "geo.Shape")]

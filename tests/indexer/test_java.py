"""Java extraction and resolution on real tree-sitter parses of fixture files."""

from __future__ import annotations

from pathlib import Path

import pytest

from repolens.indexer import RepoIndex, language_spec
from repolens.indexer.extract import extract
from repolens.indexer.model import FileFacts
from repolens.indexer.resolvers import RepoFiles
from repolens.indexer.resolvers import java as java_resolver

LANG = Path(__file__).parent.parent / "fixtures" / "languages" / "java"


def _facts(name: str) -> FileFacts:
    path = LANG / name
    return extract(name, path.read_bytes(), language_spec("java"))


def test_definitions_kinds_scopes_signatures_docs() -> None:
    facts = _facts("Sample.java")
    by_name = {d.qualified_name: d for d in facts.definitions}
    sample = by_name["Sample"]
    assert sample.kind == "class" and sample.doc == "A shape with an area."
    assert sample.signature == (
        "public abstract class Sample<T extends Comparable<T>> extends Base"
        " implements Comparable<Sample<T>>, Named"
    )
    assert (sample.start_line, sample.name_line, sample.end_line) == (9, 12, 67)
    assert by_name["Sample.count"].kind == "field"
    assert by_name["Sample.count"].doc == "How many were made."
    # one field per declarator; a field and a method may share a name
    assert by_name["Sample.label"].kind == "field"
    ctor = by_name["Sample.Sample"]
    assert ctor.kind == "method" and ctor.signature == "public Sample(String name)"
    area = by_name["Sample.area"]
    assert area.kind == "method" and area.signature == "public abstract double area();"
    assert area.doc == "The area in square units.\n@return the area"
    named = [d for d in facts.definitions if d.qualified_name == "Sample.name"]
    assert [d.kind for d in named] == ["field", "method"]
    assert named[0].signature == "protected final String name, label;"
    # annotations belong to the unit
    assert named[1].signature == "@Override public String name()" and named[1].start_line == 30
    assert by_name["Sample.helper"].kind == "method"
    assert by_name["Sample.Kind"].kind == "enum"
    assert by_name["Sample.Kind.ROUND"].kind == "constant"
    assert by_name["Sample.Kind.isRound"].kind == "method"
    assert by_name["Sample.Visitor"].kind == "interface"
    assert by_name["Sample.Visitor.DEPTH"].kind == "constant"
    assert by_name["Sample.Visitor.visit"].signature == "R visit(Sample<?> sample);"
    point = by_name["Sample.Point"]
    assert point.kind == "record" and point.doc == "A point."
    assert by_name["Sample.Point.x"].kind == "field"  # record component
    assert by_name["Sample.Point.name"].kind == "method"
    assert by_name["Sample.Marker"].kind == "interface"  # @interface
    assert by_name["Sample.Marker.value"].kind == "method"
    assert facts.parse_errors == 0


def test_imports_and_package() -> None:
    facts = _facts("Sample.java")
    assert facts.package == "com.example.shapes"
    got = [(i.module, i.name, i.local, i.wildcard) for i in facts.imports]
    assert got == [
        ("java.util", "ArrayList", "ArrayList", False),
        ("java.util", "List", "List", False),
        ("java.util.function", None, None, True),
        ("java.lang.Math", "PI", "PI", False),  # import static: a member of a class
        ("java.util.Collections", None, None, True),  # import static ...*
    ]


def test_references_with_lines() -> None:
    facts = _facts("Sample.java")
    refs = {(r.name, r.kind): r.lines for r in facts.references}
    assert refs[("helper", "call")] == [32]
    assert refs[("toUpperCase", "call")] == [20]
    assert refs[("join", "call")] == [38]
    assert refs[("ArrayList", "class")] == [36]  # new ArrayList<>()
    assert refs[("Base", "class")] == [12]  # extends
    assert refs[("Named", "class")] == [12, 58]  # implements
    assert refs[("String", "type")] == [15, 18, 31, 35, 36, 59, 65]


def test_syntax_errors_still_extract_what_parses() -> None:
    facts = _facts("Broken.java")
    names = {d.qualified_name for d in facts.definitions}
    assert {"Broken", "Broken.fine", "StillFound", "StillFound.method"} <= names
    assert facts.parse_errors > 0
    assert facts.package == "com.example.broken"


def test_chunks_cover_units() -> None:
    facts = _facts("Sample.java")
    kinds = [(c.kind, c.symbol, c.start_line, c.end_line) for c in facts.chunks]
    assert ("class", "Sample", 9, 67) in kinds
    assert any(c.kind == "code" and c.start_line == 1 for c in facts.chunks)  # imports


def test_base_names_and_targets() -> None:
    assert java_resolver.base_names(
        "@Deprecated public class A<T extends Comparable<T>> extends B<T>"
        " implements C, java.io.Serializable"
    ) == ["B", "C", "java.io.Serializable"]
    assert java_resolver.base_names("public interface I extends J, K<V>") == ["J", "K"]
    assert java_resolver.base_names("record P(int x, int y) implements Q") == ["Q"]
    assert java_resolver.base_names("public sealed class S permits X, Y") == []
    files = RepoFiles(
        [
            "core/src/main/java/a/b/C.java",
            "core/src/main/java/a/b/D.java",
            "core/src/test/java/a/b/CTest.java",
            "app/src/main/java/x/Main.java",
        ]
    )
    from repolens.indexer.model import Import

    def target(imp: Import) -> str | None:
        return java_resolver.resolve_target(imp, "app/src/main/java/x/Main.java", files)

    assert target(Import("a.b", "C", None, 1)) == "core/src/main/java/a/b/C.java"
    assert target(Import("a.b", None, None, 1, wildcard=True)) == "core/src/main/java/a/b/"
    assert target(Import("a.b.C", "method", None, 1)) == "core/src/main/java/a/b/C.java"
    assert target(Import("java.util", "List", None, 1)) is None
    # same package, both source roots
    assert java_resolver.implicit_files("core/src/test/java/a/b/CTest.java", "a.b", files) == [
        "core/src/main/java/a/b/C.java",
        "core/src/main/java/a/b/D.java",
    ]


@pytest.fixture
def app_index(fixture_repo) -> RepoIndex:  # type: ignore[no-untyped-def]
    repo = fixture_repo("java_app")
    index = RepoIndex(repo)
    index.update()
    return index


def _where(res) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return [(d.path, d.name_line) for d in res.definitions]


SRC = "src/main/java/com/example"
MAIN = f"{SRC}/app/Main.java"


def test_resolution_imports_packages_and_inheritance(app_index: RepoIndex) -> None:
    idx = app_index
    # import com.example.model.Circle;
    res = idx.resolve(MAIN, "Circle")
    assert (_where(res), res.via) == ([(f"{SRC}/model/Circle.java", 6)], "import")
    # import com.example.util.*;
    assert _where(idx.resolve(MAIN, "Strings")) == [(f"{SRC}/util/Strings.java", 6)]
    assert _where(idx.resolve(MAIN, "Strings.joinAll")) == [(f"{SRC}/util/Strings.java", 10)]
    # same package, no import
    res = idx.resolve(MAIN, "AppConfig")
    assert (_where(res), res.via) == ([(f"{SRC}/app/AppConfig.java", 4)], "package")
    assert _where(idx.resolve(MAIN, "AppConfig.DEFAULT_RADIUS")) == [
        (f"{SRC}/app/AppConfig.java", 5)
    ]
    # own method, then methods inherited from the base class (same package as Circle)
    assert _where(idx.resolve(MAIN, "Circle.area")) == [(f"{SRC}/model/Circle.java", 15)]
    assert _where(idx.resolve(MAIN, "Circle.describe")) == [(f"{SRC}/model/Shape.java", 17)]
    assert _where(idx.resolve(MAIN, "Circle.name")) == [(f"{SRC}/model/Shape.java", 22)]
    assert _where(idx.resolve(f"{SRC}/model/Circle.java", "MathUtil.square")) == [
        (f"{SRC}/util/MathUtil.java", 8)
    ]
    # the same package in another source root
    res = idx.resolve("src/test/java/com/example/model/CircleTest.java", "Circle")
    assert (_where(res), res.via) == ([(f"{SRC}/model/Circle.java", 6)], "package")
    # the JDK is outside the repository
    assert idx.resolve(MAIN, "List").via == "external"


def test_import_targets_and_importers(app_index: RepoIndex) -> None:
    targets = {(i.module, i.name): i.target for i in app_index.imports(MAIN)}
    assert targets == {
        ("com.example.util.MathUtil", "square"): f"{SRC}/util/MathUtil.java",  # static
        ("com.example.model", "Circle"): f"{SRC}/model/Circle.java",
        ("com.example.util", None): f"{SRC}/util/",
        ("java.util", "List"): None,
    }
    assert app_index.file_info(MAIN) is not None
    assert app_index.file_info(MAIN).package == "com.example.app"  # type: ignore[union-attr]
    assert app_index.importers(f"{SRC}/model/Circle.java") == [MAIN]
    assert app_index.importers(f"{SRC}/util/Strings.java") == [MAIN]  # through the wildcard
    bases = app_index.bases(app_index.resolve(MAIN, "Circle").definitions[0])
    assert [(d.path, d.name) for d in bases] == [(f"{SRC}/model/Shape.java", "Shape")]


def test_static_import_resolves_to_the_member(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    from repolens.indexer import RepoIndex

    repo = fixture_repo("java_app")
    idx = RepoIndex(repo)
    idx.update()
    res = idx.resolve(f"{SRC}/app/Main.java", "square")
    assert [(d.path, d.kind, d.scope) for d in res.definitions] == [
        (f"{SRC}/util/MathUtil.java", "method", "MathUtil")
    ]

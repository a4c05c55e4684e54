"""Go extraction and resolution on real tree-sitter parses of fixture files."""

from __future__ import annotations

from pathlib import Path

import pytest

from repolens.indexer import RepoIndex, language_spec
from repolens.indexer.extract import extract
from repolens.indexer.model import FileFacts, Import
from repolens.indexer.resolvers import RepoFiles
from repolens.indexer.resolvers import go as resolver

FIXTURES = Path(__file__).parent.parent / "fixtures"
LANG = FIXTURES / "languages" / "go"


def _facts(name: str) -> FileFacts:
    path = LANG / name
    return extract(name, path.read_bytes(), language_spec("go"))


def test_definitions_kinds_scopes_signatures_docs() -> None:
    facts = _facts("sample.go")
    outline = [(d.qualified_name, d.kind) for d in facts.definitions]
    assert outline == [
        ("MaxSides", "constant"),
        ("Small", "constant"),
        ("Large", "constant"),
        ("registry", "variable"),
        ("Shape", "interface"),
        ("Shape.Area", "method"),
        ("Circle", "struct"),
        ("Circle.Radius", "field"),
        ("Circle.Name", "field"),
        ("Point", "struct"),
        ("Point.X", "field"),
        ("Point.Y", "field"),
        ("Unit", "type"),
        ("Alias", "type"),
        ("Box", "struct"),
        ("Box.value", "field"),
        ("NewCircle", "function"),
        ("Circle.Area", "method"),
        ("Circle.String", "method"),
        ("Box.Get", "method"),
        ("sorted", "function"),
    ]
    by_name = {d.qualified_name: d for d in facts.definitions}
    circle = by_name["Circle"]
    assert circle.signature == "type Circle struct" and circle.doc == "Circle is round."
    assert (circle.start_line, circle.name_line, circle.end_line) == (34, 35, 39)
    assert by_name["Circle.Radius"].doc == "Radius in metres."
    # grouped type declarations: each spec is its own unit with its own doc
    assert by_name["Point"].signature == "Point struct" and by_name["Point"].doc == (
        "Point is a position."
    )
    assert by_name["Unit"].doc == "Unit names a unit."
    assert by_name["Box"].signature == "type Box[T any] struct"
    # methods: scope is the receiver type (pointer, value and generic receivers)
    area = by_name["Circle.Area"]
    assert area.signature == "func (c *Circle) Area() float64"
    assert area.doc == "Area returns the area of the circle."
    assert (area.start_line, area.name_line) == (59, 60)
    assert by_name["Box.Get"].signature == "func (b *Box[T]) Get() T"
    assert by_name["Shape.Area"].doc == "Area returns the area."
    assert by_name["NewCircle"].signature == "func NewCircle(r float64) *Circle"
    assert by_name["MaxSides"].doc == "MaxSides is the most sides a shape may have."
    assert by_name["MaxSides"].signature == "const MaxSides = 12"
    assert by_name["Small"].doc == "Small is a small size."
    assert facts.parse_errors == 0


def test_imports_and_package_clause() -> None:
    facts = _facts("sample.go")
    assert facts.package == "shapes"
    got = [(i.module, i.alias, i.local, i.wildcard, i.line) for i in facts.imports]
    assert got == [
        ("fmt", "fmt", "fmt", False, 4),
        ("strings", "strings", "strings", False, 7),
        ("math", "m", "m", False, 9),
        ("sort", None, None, True, 10),  # dot import
        ("embed", "_", None, False, 11),  # blank import binds nothing
        ("github.com/acme/geometry/v2", "geometry", "geometry", False, 13),
    ]
    assert all(i.name is None for i in facts.imports)


def test_references_with_lines() -> None:
    facts = _facts("sample.go")
    refs = {(r.name, r.kind): r.lines for r in facts.references}
    assert refs[("ToUpper", "call")] == [56]
    assert refs[("Round", "call")] == [65]
    assert refs[("Float64s", "call")] == [74]
    assert refs[("Circle", "type")] == [55, 56, 60, 64]
    assert refs[("Stringer", "type")] == [31]
    assert refs[("Shape", "type")] == [25]


def test_syntax_errors_still_extract_what_parses() -> None:
    facts = _facts("broken.go")
    names = {d.qualified_name for d in facts.definitions}
    assert {"Fine", "StillFound", "StillFound.A", "StillFound.Method"} <= names
    assert facts.parse_errors > 0
    assert facts.package == "shapes"


def test_package_names() -> None:
    assert resolver.package_name("fmt") == "fmt"
    assert resolver.package_name("github.com/acme/goapp/internal/store") == "store"
    assert resolver.package_name("github.com/acme/geometry/v2") == "geometry"
    assert resolver.package_name("gopkg.in/yaml.v3") == "yaml"
    assert resolver.package_name("github.com/mattn/go-sqlite3") == "sqlite3"


_PATHS = [
    "go.work.md",
    "main.go",
    "run.go",
    "internal/store/store.go",
    "internal/store/ops.go",
    "internal/store/store_test.go",
    "internal/config/config.go",
    "docs/store/README.md",
]


def _target(module: str, importer: str, files: RepoFiles) -> str | None:
    return resolver.resolve_target(Import(module, None, None, 1), importer, files)


def test_resolve_target_by_path_suffix() -> None:
    files = RepoFiles(_PATHS)
    assert _target("github.com/acme/goapp/internal/store", "main.go", files) == "internal/store/"
    assert _target("myapp/internal/config", "main.go", files) == "internal/config/"
    # the standard library and packages not in the repository
    assert _target("fmt", "main.go", files) is None
    assert _target("net/http", "main.go", files) is None
    assert _target("github.com/other/lib", "main.go", files) is None


def test_resolve_target_with_go_mod(tmp_path: Path) -> None:
    """With the repository root known, go.mod's module path maps import paths exactly."""
    (tmp_path / "go.mod").write_text("module github.com/acme/goapp\n\ngo 1.22\n")
    files = RepoFiles(_PATHS)
    files.root = tmp_path  # type: ignore[attr-defined]
    assert _target("github.com/acme/goapp/internal/store", "main.go", files) == "internal/store/"
    # the module's root package
    assert _target("github.com/acme/goapp", "internal/store/ops.go", files) == "/"
    # same suffix, other module: external
    assert _target("github.com/other/x/internal/store", "main.go", files) is None


def test_implicit_files_are_the_package() -> None:
    files = RepoFiles(_PATHS)
    assert resolver.implicit_files("internal/store/ops.go", "store", files) == [
        "internal/store/store.go"
    ]
    # test files see the whole package
    assert resolver.implicit_files("internal/store/store_test.go", "store", files) == [
        "internal/store/ops.go",
        "internal/store/store.go",
    ]
    assert resolver.implicit_files("main.go", "main", files) == ["run.go"]


@pytest.fixture
def app_index(fixture_repo) -> RepoIndex:  # type: ignore[no-untyped-def]
    repo = fixture_repo("go_app")
    index = RepoIndex(repo)
    index.update()
    return index


def _where(res) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return [(d.path, d.name_line) for d in res.definitions]


def test_package_qualified_resolution(app_index: RepoIndex) -> None:
    idx = app_index
    # store.New(): the import path's package directory
    assert _where(idx.resolve("main.go", "store.New")) == [("internal/store/store.go", 19)]
    # aliased import: cfg "github.com/acme/goapp/internal/config"
    assert _where(idx.resolve("main.go", "cfg.Load")) == [("internal/config/config.go", 13)]
    assert _where(idx.resolve("main.go", "cfg.Config.Port")) == [("internal/config/config.go", 9)]
    # a method of an imported struct, defined in another file of its package
    assert _where(idx.resolve("main.go", "store.Store.Put")) == [("internal/store/ops.go", 6)]
    assert _where(idx.resolve("run.go", "store.Store.Keys")) == [("internal/store/ops.go", 14)]
    assert _where(idx.resolve("main.go", "store.Store.Get")) == [("internal/store/store.go", 24)]
    # the standard library is external
    assert idx.resolve("main.go", "fmt.Println").via == "external"


def test_same_package_resolution(app_index: RepoIndex) -> None:
    idx = app_index
    # a name from another file of the package, without an import
    run = idx.resolve("main.go", "run")
    assert (run.via, _where(run)) == ("package", [("run.go", 10)])
    validate = idx.resolve("internal/store/store.go", "validate")
    assert (validate.via, _where(validate)) == ("package", [("internal/store/ops.go", 23)])
    assert _where(idx.resolve("internal/store/store_test.go", "New")) == [
        ("internal/store/store.go", 19)
    ]
    # a local struct's method defined in the package's other file
    put = idx.resolve("internal/store/store.go", "Store.Put")
    assert (put.via, _where(put)) == ("local", [("internal/store/ops.go", 6)])


def test_struct_members_across_files(app_index: RepoIndex) -> None:
    store = app_index.definitions("Store", kinds=["struct"])
    assert [(d.path, d.name_line) for d in store] == [("internal/store/store.go", 7)]
    members = [(m.qualified_name, m.kind, m.path) for m in app_index.members(store[0])]
    # the struct's own file first, in order; then the package's other files
    assert members[:3] == [
        ("Store.mu", "field", "internal/store/store.go"),
        ("Store.items", "field", "internal/store/store.go"),
        ("Store.Get", "method", "internal/store/store.go"),
    ]
    assert sorted(members[3:]) == [
        ("Store.Keys", "method", "internal/store/ops.go"),
        ("Store.Put", "method", "internal/store/ops.go"),
    ]


def test_import_targets_and_importers(app_index: RepoIndex) -> None:
    targets = {(i.module, i.local): i.target for i in app_index.imports("main.go")}
    assert targets == {
        ("fmt", "fmt"): None,
        ("github.com/acme/goapp/internal/config", "cfg"): "internal/config/",
        ("github.com/acme/goapp/internal/store", "store"): "internal/store/",
    }
    # a package's importers: files importing its directory
    assert app_index.importers("internal/store/ops.go") == ["main.go", "run.go"]
    info = app_index.file_info("internal/store/ops.go")
    assert info is not None and info.package == "store"

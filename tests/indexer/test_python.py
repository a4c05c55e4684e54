"""Python extraction and resolution on real tree-sitter parses of fixture files."""

from __future__ import annotations

from pathlib import Path

import pytest

from repolens.indexer import RepoIndex, language_spec
from repolens.indexer.extract import extract

LANG = Path(__file__).parent.parent / "fixtures" / "languages" / "python"


def _facts(name: str):
    path = LANG / name
    return extract(name, path.read_bytes(), language_spec("python"))


def test_definitions_kinds_scopes_signatures_docs() -> None:
    facts = _facts("sample.py")
    by_name = {d.qualified_name: d for d in facts.definitions}
    assert by_name["LIMIT"].kind == "variable"
    top = by_name["top_level"]
    assert top.kind == "function"
    assert top.signature == 'def top_level(a: int, b: str = "x") -> Other:'
    assert top.doc.startswith("Do the top-level thing.")
    # the decorator belongs to the unit
    assert top.start_line == 16 and top.name_line == 17
    assert by_name["top_level.nested"].kind == "function"
    shape = by_name["Shape"]
    assert shape.kind == "class" and shape.doc == "A shape with an area."
    assert by_name["Shape.__init__"].kind == "method"
    assert by_name["Shape.area"].kind == "method"
    assert by_name["Shape.sides"].kind == "field"
    assert by_name["Shape.Inner"].kind == "class"
    assert by_name["Shape.Inner.deep"].kind == "method"
    assert facts.parse_errors == 0


def test_imports_bindings() -> None:
    facts = _facts("sample.py")
    got = [(i.module, i.name, i.alias, i.local, i.wildcard) for i in facts.imports]
    assert got == [
        ("os", None, None, "os", False),
        ("collections.abc", None, "cabc", "cabc", False),
        (".", "sibling", None, "sibling", False),
        ("..pkg.mod", "Thing", "Other", "Other", False),
        ("..pkg.mod", "helper", None, "helper", False),
        (".star", None, None, None, True),
    ]


def test_references_with_lines() -> None:
    facts = _facts("sample.py")
    refs = {(r.name, r.kind): r.lines for r in facts.references}
    assert refs[("helper", "call")] == [26]
    assert refs[("getcwd", "call")] == [47]
    assert refs[("Base", "class")] == [33]


def test_syntax_errors_still_extract_what_parses() -> None:
    facts = _facts("broken.py")
    names = {d.qualified_name for d in facts.definitions}
    assert {"fine", "StillFound", "StillFound.method"} <= names
    assert facts.parse_errors > 0


def test_chunks_cover_units_and_leftovers() -> None:
    facts = _facts("sample.py")
    kinds = [(c.kind, c.symbol, c.start_line, c.end_line) for c in facts.chunks]
    assert ("function", "top_level", 16, 26) in kinds
    assert ("class", "Shape", 33, 47) in kinds
    assert any(c.kind == "code" and c.start_line == 1 for c in facts.chunks)  # imports
    # identifier-split terms: whole identifiers and their parts
    top = next(c for c in facts.chunks if c.symbol == "top_level")
    assert "top_level" in top.terms.split() and "level" in top.terms.split()


@pytest.fixture
def app_index(fixture_repo) -> RepoIndex:  # type: ignore[no-untyped-def]
    repo = fixture_repo("python_app")
    index = RepoIndex(repo)
    index.update()
    return index


def _where(res) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return [(d.path, d.name_line) for d in res.definitions]


def test_resolution_through_reexports_and_aliases(app_index: RepoIndex) -> None:
    idx = app_index
    # from app import User  (app/__init__ re-exports app.models, which re-exports .user)
    assert _where(idx.resolve("main.py", "User")) == [("app/models/user.py", 19)]
    # renamed re-export: from .services.mail import send_welcome as welcome
    assert _where(idx.resolve("main.py", "welcome")) == [("app/services/mail.py", 5)]
    # wildcard re-export: from .util import *
    assert _where(idx.resolve("main.py", "slugify")) == [("app/util.py", 11)]
    # submodule imported by name: from app.models import repository as repo_mod
    assert _where(idx.resolve("main.py", "repo_mod.UserRepository")) == [
        ("app/models/repository.py", 6)
    ]
    # import a.b.c binds a; a.b.c.NAME reaches into the module
    assert _where(idx.resolve("main.py", "app.models.user.DEFAULT_ROLE")) == [
        ("app/models/user.py", 5)
    ]
    # relative imports
    assert _where(idx.resolve("app/services/mail.py", "User")) == [("app/models/user.py", 19)]
    assert _where(idx.resolve("app/services/mail.py", "util.render_template")) == [
        ("app/util.py", 6)
    ]
    # inherited member through a base class in the same file
    assert _where(idx.resolve("main.py", "User.display_name")) == [("app/models/user.py", 14)]
    # local definition wins
    assert idx.resolve("app/models/user.py", "Person").via == "local"
    # a module outside the repository is external, not a guess
    assert idx.resolve("app/util.py", "string.Template").via == "external"


def test_import_targets_and_importers(app_index: RepoIndex) -> None:
    targets = {(i.module, i.name): i.target for i in app_index.imports("main.py")}
    assert targets[("app.models.user", None)] == "app/models/user.py"
    assert targets[("app", "User")] == "app/__init__.py"
    assert targets[("app.models", "repository")] == "app/models/__init__.py"
    assert app_index.importers("app/models/user.py") == [
        "app/models/__init__.py",
        "app/models/repository.py",
        "app/services/mail.py",
        "main.py",
        "tests/test_user.py",
    ]


def test_fuzzy_symbols_and_search(app_index: RepoIndex) -> None:
    names = [d.name for d, _ in app_index.fuzzy_definitions("getByMail", limit=3)]
    assert names[0] == "get_by_email"
    chunks = {c.id: c for c in app_index.all_chunks()}
    welcome = [chunks[i] for i in app_index.term_chunk_ids("welcome")]
    assert ("app/services/mail.py", "send_welcome") in {(c.path, c.symbol) for c in welcome}
    outline = [
        (d.qualified_name, d.kind) for d in app_index.file_definitions("app/models/repository.py")
    ]
    assert outline == [
        ("UserRepository", "class"),
        ("UserRepository.__init__", "method"),
        ("UserRepository.add", "method"),
        ("UserRepository.get_by_email", "method"),
        ("UserRepository.admins", "method"),
    ]


def test_module_names_come_from_each_files_source_root() -> None:
    from repolens.indexer.resolvers import RepoFiles

    paths = [
        "src/flask/__init__.py",
        "src/flask/app.py",
        "src/flask/app.pyi",  # a stub next to its source: the source wins
        "src/flask/json/__init__.py",
        "src/flask/json/provider.py",
        "stubs/typed.pyi",  # a stub alone
        "tests/test_app.py",  # no package: its own name
        "a/flask/app.py",  # the same module name twice: the last source in path order
        "a/flask/__init__.py",
        "ns/pkg/mod.py",  # a namespace package (no __init__): mod's source root is ns/pkg
        "README.md",
    ]
    expected = {
        "flask": "src/flask/__init__.py",
        "flask.app": "src/flask/app.py",
        "flask.json": "src/flask/json/__init__.py",
        "flask.json.provider": "src/flask/json/provider.py",
        "mod": "ns/pkg/mod.py",
        "test_app": "tests/test_app.py",
        "typed": "stubs/typed.pyi",
    }
    for name in {*expected, "flask.missing", "json", "pkg.mod", ""}:
        assert RepoFiles(paths).python_module(name) == expected.get(name), name
    # with the importer: the file nearest it, so each copy's imports stay in that copy
    assert RepoFiles(paths).python_module("flask.app", "a/flask/views.py") == "a/flask/app.py"
    assert RepoFiles(paths).python_module("flask.app", "src/flask/views.py") == "src/flask/app.py"


def test_each_project_of_a_monorepo_imports_its_own_package(tmp_path: Path) -> None:
    # two services with a package of the same name: each one's import resolves into itself
    for service, value in (("billing", 1), ("search", 2)):
        pkg = tmp_path / "repo" / service / "app"
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "config.py").write_text(f"LIMIT = {value}\n")
        (tmp_path / "repo" / service / "main.py").write_text("from app.config import LIMIT\n")
    idx = RepoIndex(tmp_path / "repo", cache_dir=tmp_path / "cache")
    idx.update(workers=1)
    for service in ("billing", "search"):
        (imp,) = idx.imports(f"{service}/main.py")
        assert imp.target == f"{service}/app/config.py"
    idx.close()

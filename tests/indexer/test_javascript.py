"""JavaScript extraction and resolution (ES modules and CommonJS) on real tree-sitter parses."""

from __future__ import annotations

from pathlib import Path

import pytest

from repolens.indexer import RepoIndex, language_spec
from repolens.indexer.extract import extract
from repolens.indexer.model import FileFacts, Import
from repolens.indexer.resolvers import RepoFiles
from repolens.indexer.resolvers import javascript as resolver

LANG = Path(__file__).parent.parent / "fixtures" / "languages" / "javascript"


def _facts(name: str) -> FileFacts:
    path = LANG / name
    return extract(name, path.read_bytes(), language_spec("javascript"))


def test_definitions_kinds_scopes_signatures_docs() -> None:
    facts = _facts("sample.js")
    outline = [(d.qualified_name, d.kind) for d in facts.definitions]
    assert outline == [
        ("MAX_SIZE", "variable"),
        ("counter", "variable"),
        ("Shape", "class"),
        ("Shape.count", "field"),
        ("Shape.#secret", "field"),
        ("Shape.constructor", "method"),
        ("Shape.area", "method"),
        ("Shape.label", "method"),
        ("Circle", "class"),
        ("Circle.area", "method"),
        ("Circle.points", "method"),
        ("makeCircle", "function"),
        ("add", "function"),
        ("area", "function"),
        ("ids", "function"),
        ("Registry", "class"),
        ("Registry.register", "method"),
        ("Button", "function"),
    ]
    by_name = {d.qualified_name: d for d in facts.definitions}
    # JSDoc block above `export class`: the doc, and the unit starts at the comment
    shape = by_name["Shape"]
    assert shape.doc == "Base of every shape."
    assert (shape.start_line, shape.name_line, shape.end_line) == (14, 17, 33)
    assert shape.signature == "class Shape"
    assert by_name["Shape.area"].doc == "The area of the shape."
    assert by_name["Shape.label"].signature == "get label()"
    assert by_name["Circle"].signature == "class Circle extends Shape"
    assert by_name["Circle.points"].signature == "static *points()"
    make = by_name["makeCircle"]
    assert make.signature == "function makeCircle(r)" and make.doc == "Make a fresh circle."
    # arrow functions and function expressions bound to a name are functions
    add = by_name["add"]
    assert add.doc == "Sum two numbers." and add.signature.startswith("const add = (a, b) =>")
    assert by_name["area"].signature == "const area = function (shape)"
    assert by_name["MAX_SIZE"].doc == "The largest size a cache may grow to."
    assert by_name["MAX_SIZE"].signature == "const MAX_SIZE = 100;"
    assert facts.parse_errors == 0


def test_commonjs_definitions() -> None:
    facts = _facts("common.cjs")
    by_name = {d.qualified_name: d for d in facts.definitions}
    assert sorted(by_name) == ["Queue", "Queue.push", "create"]
    assert by_name["Queue"].doc == "A queue of jobs."
    # Queue.prototype.push = function: a method of Queue
    push = by_name["Queue.push"]
    assert push.kind == "method" and push.doc == "Add a job."
    assert push.signature == "Queue.prototype.push = function (job)"
    assert by_name["create"].kind == "function"
    # require() bindings are imports, not variables
    assert "EventEmitter" not in by_name and "log" not in by_name


def test_anonymous_default_export_is_named_default() -> None:
    facts = _facts("defaults.mjs")
    default = facts.definitions[0]
    assert (default.name, default.kind, default.scope) == ("default", "function", "")
    assert default.signature == "async function (request)"
    assert default.doc == "Handle one request."
    assert (default.start_line, default.name_line) == (1, 2)


def _bindings(facts: FileFacts) -> list[tuple[str, str | None, str | None, str | None, bool, bool]]:
    return [(i.module, i.name, i.alias, i.local, i.wildcard, i.reexport) for i in facts.imports]


def test_es_imports_and_reexports() -> None:
    facts = _facts("sample.js")
    assert _bindings(facts) == [
        ("react", "default", "React", "React", False, False),
        ("node:fs/promises", "readFile", None, "readFile", False, False),
        ("node:fs/promises", "writeFile", "write", "write", False, False),
        ("path", None, "path", "path", False, False),
        ("./polyfills.js", None, None, None, False, False),
        ("./local.js", "default", "Default", "Default", False, False),
        ("./local.js", "named", None, "named", False, False),
        ("./helpers.js", "helper", None, "helper", False, True),
        ("./helpers.js", "other", "renamed", "renamed", False, True),
        ("./everything.js", None, None, None, True, True),
        ("./shapes.js", None, "shapes", "shapes", False, True),
        # `export default class Registry`: the module's `default` is Registry
        ("./sample.js", "Registry", "default", "default", False, True),
    ]
    assert [i.line for i in facts.imports][:5] == [1, 2, 2, 3, 4]


def test_commonjs_requires_and_exports() -> None:
    facts = _facts("common.cjs")
    assert _bindings(facts) == [
        ("events", "default", "EventEmitter", "EventEmitter", False, False),
        ("./util", "slugify", None, "slugify", False, False),
        ("./util", "render", "renderPage", "renderPage", False, False),
        ("./log", "info", "log", "log", False, False),
        ("./setup", None, None, None, False, False),
        # module.exports = Queue (it replaces the `exports.create` object)
        ("./common.cjs", "Queue", "default", "default", False, True),
    ]


def test_local_renamed_exports() -> None:
    facts = _facts("defaults.mjs")
    assert _bindings(facts) == [("./defaults.mjs", "inner", "helper", "helper", False, True)]


def test_references_with_lines() -> None:
    facts = _facts("sample.js")
    refs = {(r.name, r.kind): r.lines for r in facts.references}
    assert refs[("helper", "call")] == [37]
    assert refs[("Circle", "class")] == [45]  # new Circle(r)
    assert refs[("Shape", "class")] == [35]  # extends Shape
    assert refs[("join", "call")] == [61]
    # JSX components (upper-case tags, member tags)
    assert refs[("Label", "class")] == [66]
    assert refs[("Icon", "class")] == [66]
    cjs = {(r.name, r.kind) for r in _facts("common.cjs").references}
    assert ("slugify", "call") in cjs and ("Queue", "class") in cjs
    assert not any(name == "require" for name, _ in cjs)


def test_syntax_errors_still_extract_what_parses() -> None:
    facts = _facts("broken.js")
    names = {d.qualified_name for d in facts.definitions}
    assert {"fine", "StillFound", "StillFound.method"} <= names
    assert facts.parse_errors > 0


def test_base_names() -> None:
    assert resolver.base_names("class Circle extends Shape") == ["Shape"]
    assert resolver.base_names("class A extends React.Component") == ["React.Component"]
    assert resolver.base_names("class Named extends mixin(A, B)") == []
    assert resolver.base_names("class Plain") == []
    assert resolver.base_names("const Foo = class extends Base") == ["Base"]


def _target(module: str, importer: str, paths: list[str]) -> str | None:
    return resolver.resolve_target(Import(module, None, None, 1), importer, RepoFiles(paths))


def test_resolve_target_relative_paths() -> None:
    paths = [
        "lib/a.js",
        "lib/a.ts",
        "lib/b.cjs",
        "lib/dir/index.js",
        "lib/types.d.ts",
        "src/util/x.ts",
        "main.js",
    ]
    # a JavaScript importer prefers .js, a TypeScript one .ts
    assert _target("./a", "lib/main.js", paths) == "lib/a.js"
    assert _target("./a", "lib/main.ts", paths) == "lib/a.ts"
    assert _target("./a.js", "lib/main.js", paths) == "lib/a.js"
    assert _target("./b", "lib/main.js", paths) == "lib/b.cjs"
    assert _target("./dir", "lib/main.js", paths) == "lib/dir/index.js"
    assert _target("../lib/dir/", "src/x.js", paths) == "lib/dir/index.js"
    assert _target("./types", "lib/main.ts", paths) == "lib/types.d.ts"
    assert _target("./lib/a", "main.js", paths) == "lib/a.js"
    # `@/` and `~/` name the nearest src/ folder
    assert _target("@/util/x", "src/deep/y.ts", paths) == "src/util/x.ts"
    # packages, missing files and paths above the root are outside the repository
    assert _target("lodash", "lib/main.js", paths) is None
    assert _target("node:fs", "lib/main.js", paths) is None
    assert _target("./missing", "lib/main.js", paths) is None
    assert _target("../../x", "lib/main.js", paths) is None


@pytest.fixture
def app_index(fixture_repo) -> RepoIndex:  # type: ignore[no-untyped-def]
    repo = fixture_repo("js_app")
    index = RepoIndex(repo)
    index.update()
    return index


def _where(res) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return [(d.path, d.name_line) for d in res.definitions]


def test_require_resolution(app_index: RepoIndex) -> None:
    idx = app_index
    # const User = require('./lib/user'), and lib/user.js has `module.exports = User`
    assert _where(idx.resolve("server.js", "User")) == [("lib/user.js", 4)]
    assert _where(idx.resolve("server.js", "User.greet")) == [("lib/user.js", 10)]
    # inherited through a base class that user.js itself requires
    assert _where(idx.resolve("server.js", "User.save")) == [("lib/model.js", 3)]
    # destructured require, with and without renaming (module.exports = { slugify, render })
    assert _where(idx.resolve("server.js", "slugify")) == [("lib/util.js", 2)]
    assert _where(idx.resolve("server.js", "renderPage")) == [("lib/util.js", 6)]
    # `exports.capitalize = function` through a required module object
    assert _where(idx.resolve("server.js", "strings.capitalize")) == [("lib/strings.js", 2)]
    # a directory's index.js
    assert _where(idx.resolve("server.js", "helpers.noop")) == [("lib/helpers/index.js", 1)]
    # a Node built-in is external, not a guess
    assert idx.resolve("server.js", "http.createServer").via == "external"


def test_esm_resolution(app_index: RepoIndex) -> None:
    idx = app_index
    # default import of a CommonJS module is its module.exports
    assert _where(idx.resolve("web/app.mjs", "User")) == [("lib/user.js", 4)]
    assert _where(idx.resolve("web/app.mjs", "User.save")) == [("lib/model.js", 3)]
    assert _where(idx.resolve("web/app.mjs", "slugify")) == [("lib/util.js", 2)]
    # an anonymous `export default {...}` is the definition named default
    config = idx.resolve("web/app.mjs", "config").definitions
    assert [(d.path, d.name, d.kind, d.name_line) for d in config] == [
        ("lib/config.mjs", "default", "variable", 3)
    ]
    assert _where(idx.resolve("web/app.mjs", "PORT")) == [("lib/config.mjs", 1)]
    # import * as strings: exports.lower
    assert _where(idx.resolve("web/app.mjs", "strings.lower")) == [("lib/strings.js", 6)]


def test_import_targets_and_importers(app_index: RepoIndex) -> None:
    targets = {(i.module, i.name, i.local): i.target for i in app_index.imports("server.js")}
    assert targets == {
        ("http", "default", "http"): None,
        ("./lib/user", "default", "User"): "lib/user.js",
        ("./lib/util", "slugify", "slugify"): "lib/util.js",
        ("./lib/util", "render", "renderPage"): "lib/util.js",
        ("./lib/strings", "default", "strings"): "lib/strings.js",
        ("./lib/helpers", "default", "helpers"): "lib/helpers/index.js",
    }
    # (a module with exports under another name also lists itself: its own re-export record)
    assert _others("lib/model.js", app_index) == ["lib/user.js"]
    assert _others("lib/strings.js", app_index) == ["server.js", "web/app.mjs"]


def _others(path: str, index: RepoIndex) -> list[str]:
    return [p for p in index.importers(path) if p != path]

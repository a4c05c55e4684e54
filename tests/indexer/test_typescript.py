"""TypeScript and TSX extraction and resolution on real tree-sitter parses of fixture files."""

from __future__ import annotations

from pathlib import Path

import pytest

from repolens.indexer import RepoIndex, language_spec
from repolens.indexer.extract import extract
from repolens.indexer.languages import combined_query, query_for
from repolens.indexer.model import FileFacts
from repolens.indexer.resolvers import javascript as resolver

LANG = Path(__file__).parent.parent / "fixtures" / "languages" / "typescript"


def _facts(name: str) -> FileFacts:
    path = LANG / name
    language = "tsx" if name.endswith(".tsx") else "typescript"
    return extract(name, path.read_bytes(), language_spec(language))


@pytest.mark.parametrize("language", ["typescript", "tsx"])
def test_queries_compile_for_both_grammars(language: str) -> None:
    assert query_for(language, "tags") is not None
    assert query_for(language, "imports") is not None
    assert combined_query(language) is not None


def test_definitions_kinds_scopes_signatures_docs() -> None:
    facts = _facts("sample.ts")
    outline = [(d.qualified_name, d.kind) for d in facts.definitions]
    assert outline == [
        ("MAX_RETRIES", "variable"),
        ("Storable", "interface"),
        ("Storable.id", "field"),
        ("Storable.save", "method"),
        ("UserId", "type"),
        ("Color", "enum"),
        ("Color.Red", "field"),
        ("Color.Green", "field"),
        ("Repository", "class"),
        ("Repository.items", "field"),
        ("Repository.constructor", "method"),
        ("Repository.find", "method"),
        ("Repository.add", "method"),
        ("Repository.[Symbol.iterator]", "method"),
        ("UserRepository", "class"),
        ("UserRepository.find", "method"),
        ("Validation", "namespace"),
        ("Validation.isEmail", "method"),
        ("parse", "function"),
        ("parse", "function"),
        ("parse", "function"),
        ("double", "function"),
        ("external", "function"),
        ("Service", "class"),
        ("Service.run", "method"),
    ]
    by_name = {d.qualified_name: d for d in facts.definitions}
    storable = by_name["Storable"]
    assert storable.signature == "interface Storable<T> extends Serializable, Comparable<T>"
    assert storable.doc == "A thing that can be stored."
    assert by_name["Storable.save"].signature == "save(target: Store<T>): Promise<void>"
    assert by_name["UserId"].signature == "type UserId = string | number;"
    assert by_name["UserId"].doc == "A user's id."
    repo = by_name["Repository"]
    assert repo.signature == (
        "abstract class Repository<T extends Storable<T>> implements Iterable<T>"
    )
    assert repo.doc == "Base of every repository."
    assert (repo.start_line, repo.name_line, repo.end_line) == (27, 30, 45)
    assert by_name["Repository.find"].signature == "abstract find(id: string): T | undefined"
    assert by_name["Repository.add"].doc == "Add an item."
    # the decorator belongs to the unit
    user_repo = by_name["UserRepository"]
    assert (user_repo.start_line, user_repo.name_line) == (47, 48)
    assert by_name["double"].doc == "Double a number."
    overloads = [d.signature for d in facts.definitions if d.name == "parse"]
    assert overloads == [
        "function parse(input: string): Options;",
        "function parse(input: Buffer): Options;",
        "function parse(input: string | Buffer): Options",
    ]
    assert facts.parse_errors == 0


def test_tsx_component_file() -> None:
    facts = _facts("widget.tsx")
    outline = [(d.qualified_name, d.kind) for d in facts.definitions]
    assert outline == [
        ("BadgeProps", "interface"),
        ("BadgeProps.user", "field"),
        ("BadgeProps.size", "field"),
        ("Badge", "function"),
        ("Compact", "function"),
        ("Panel", "class"),
        ("Panel.render", "method"),
    ]
    by_name = {d.qualified_name: d for d in facts.definitions}
    assert by_name["Badge"].doc == "A small badge with the user's avatar."
    assert by_name["Badge"].signature == "function Badge({ user, size = 16 }: BadgeProps)"
    assert by_name["Panel"].signature == "class Panel extends React.Component<BadgeProps>"
    assert facts.parse_errors == 0
    got = [(i.module, i.name, i.local, i.reexport) for i in facts.imports]
    assert got == [
        ("react", "default", "React", False),
        ("react", "useState", "useState", False),
        ("./models", "User", "User", False),
        ("./Avatar", "default", "Avatar", False),
        ("./widget.tsx", "Panel", "default", True),
    ]
    refs = {(r.name, r.kind): r.lines for r in facts.references}
    assert refs[("useState", "call")] == [13]
    assert refs[("BadgeProps", "type")] == [12, 21, 23]
    assert refs[("Component", "class")] == [23]


def test_imports_bindings() -> None:
    facts = _facts("sample.ts")
    got = [(i.module, i.name, i.alias, i.local, i.wildcard, i.reexport) for i in facts.imports]
    assert got == [
        ("./config", "Config", None, "Config", False, False),  # import type
        ("./config", "default", "Default", "Default", False, False),
        ("./config", "Options", None, "Options", False, False),
        ("./config", "load", "loadConfig", "loadConfig", False, False),
        ("../util", None, "util", "util", False, False),
        ("reflect-metadata", None, None, None, False, False),
        ("fs", "default", "fs", "fs", False, False),  # import fs = require("fs")
        ("./shapes", "area", None, "area", False, True),
        ("./shapes", "Shape", "BaseShape", "BaseShape", False, True),
        ("./types", None, None, None, True, True),
        ("./models", None, "models", "models", False, True),
        ("./sample.ts", "Service", "default", "default", False, True),
    ]


def test_declaration_file() -> None:
    facts = _facts("globals.d.ts")
    outline = [(d.qualified_name, d.kind) for d in facts.definitions]
    assert outline == [
        ("VERSION", "variable"),
        ("debugMode", "variable"),
        ("setup", "function"),
        ("Client", "class"),
        ("Client.constructor", "method"),
        ("Client.send", "method"),
        ("Plugins", "namespace"),
        ("Plugins.register", "method"),
    ]
    by_name = {d.qualified_name: d for d in facts.definitions}
    assert by_name["VERSION"].doc == "The build's version string."
    assert by_name["VERSION"].start_line == 1 and by_name["VERSION"].name_line == 2
    send = by_name["Client.send"]
    assert send.signature == "send(body: string): Promise<string>"
    assert send.doc == "Send one request."


def test_typescript_only_export_forms() -> None:
    source = (
        b"export default abstract class Shape {}\n"
        b"export default interface Props { a: number }\n"
        b"export = Legacy;\n"
    )
    for language in ("typescript", "tsx"):
        facts = extract("m.ts", source, language_spec(language))
        got = [(i.module, i.name, i.local, i.reexport) for i in facts.imports]
        assert got == [
            ("./m.ts", "Shape", "default", True),
            ("./m.ts", "Props", "default", True),
            ("./m.ts", "Legacy", "default", True),
        ]


def test_references_with_lines() -> None:
    facts = _facts("sample.ts")
    refs = {(r.name, r.kind): r.lines for r in facts.references}
    assert refs[("Repository", "class")] == [48]  # extends
    assert refs[("Iterable", "type")] == [30]  # implements
    assert refs[("Serializable", "type")] == [14]  # interface extends
    assert refs[("Options", "type")] == [60, 61, 62, 63]
    assert refs[("loadConfig", "call")] == [63]
    assert refs[("Injectable", "call")] == [47]
    assert refs[("User", "type")] == [48, 49]


def test_syntax_errors_still_extract_what_parses() -> None:
    facts = _facts("broken.ts")
    names = {d.qualified_name for d in facts.definitions}
    assert {"Fine", "Fine.a", "broken", "StillFound", "StillFound.method"} <= names
    assert facts.parse_errors > 0


def test_base_names() -> None:
    assert resolver.base_names("class X<T> extends B<T, Map<K, V>> implements C, ns.D<T>") == [
        "B",
        "C",
        "ns.D",
    ]
    assert resolver.base_names(
        "abstract class Repository<T extends Storable<T>> implements Iterable<T>"
    ) == ["Iterable"]
    assert resolver.base_names("interface I extends J, K<T>") == ["J", "K"]
    assert resolver.base_names("class F<T = () => void> extends G") == ["G"]


@pytest.fixture
def app_index(fixture_repo) -> RepoIndex:  # type: ignore[no-untyped-def]
    repo = fixture_repo("ts_app")
    index = RepoIndex(repo)
    index.update()
    return index


def _where(res) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return [(d.path, d.name_line) for d in res.definitions]


def test_resolution_through_barrel_reexports(app_index: RepoIndex) -> None:
    idx = app_index
    # import { UserService } from "."  ->  index.ts: export { UserService } from ...
    assert _where(idx.resolve("src/app.ts", "UserService")) == [("src/services/userService.ts", 7)]
    # a method reached through the imported class
    assert _where(idx.resolve("src/app.ts", "UserService.register")) == [
        ("src/services/userService.ts", 13)
    ]
    # index.ts: export * from "./models"  ->  models/index.ts: export * from "./user"
    assert _where(idx.resolve("src/app.ts", "User")) == [("src/models/user.ts", 13)]
    assert _where(idx.resolve("src/app.ts", "User.displayName")) == [("src/models/user.ts", 24)]
    # inherited from a base class that user.ts imports from base.ts
    assert _where(idx.resolve("src/app.ts", "User.touch")) == [("src/models/base.ts", 6)]
    # export { default as Logger } from "./logger"  (export default class Logger)
    assert _where(idx.resolve("src/app.ts", "Logger")) == [("src/logger.ts", 2)]
    assert _where(idx.resolve("src/app.ts", "Logger.log")) == [("src/logger.ts", 5)]
    # export { formatName as format } from "./util/format"
    assert _where(idx.resolve("src/app.ts", "format")) == [("src/util/format.ts", 2)]
    # import * as models; models/index.ts: export { Role } from "./role"; an enum member
    assert _where(idx.resolve("src/app.ts", "models.Role")) == [("src/models/role.ts", 1)]
    assert _where(idx.resolve("src/app.ts", "models.Role.Admin")) == [("src/models/role.ts", 2)]
    # a package is external
    assert idx.resolve("src/app.ts", "renderToString").via == "external"


def test_default_imports(app_index: RepoIndex) -> None:
    idx = app_index
    # a .tsx default import: `export default UserCard;` at the bottom of the component file
    card = idx.resolve("src/app.ts", "UserCard")
    assert _where(card) == [("src/components/UserCard.tsx", 10)]
    assert card.definitions[0].doc == "A card with the user's name and a link to the profile."
    # the local name need not match: import AppLogger from "../logger"
    assert _where(idx.resolve("src/services/userService.ts", "AppLogger")) == [("src/logger.ts", 2)]
    assert _where(idx.resolve("src/services/userService.ts", "AppLogger.log")) == [
        ("src/logger.ts", 5)
    ]
    # an anonymous default export is the definition named `default`
    slug = idx.resolve("src/components/UserCard.tsx", "slug").definitions
    assert [(d.path, d.name, d.kind, d.name_line) for d in slug] == [
        ("src/util/format.ts", "default", "function", 7)
    ]


def test_explicit_js_extension_and_relative_imports(app_index: RepoIndex) -> None:
    idx = app_index
    # import type { Repo } from "./repo.js" means repo.ts
    assert _where(idx.resolve("src/services/userService.ts", "Repo")) == [
        ("src/services/repo.ts", 4)
    ]
    assert _where(idx.resolve("src/services/userService.ts", "MemoryRepo.add")) == [
        ("src/services/repo.ts", 12)
    ]
    assert _where(idx.resolve("src/models/user.ts", "BaseEntity")) == [("src/models/base.ts", 2)]
    # a tsx file resolves through the same barrel
    assert _where(idx.resolve("src/components/UserCard.tsx", "User.displayName")) == [
        ("src/models/user.ts", 24)
    ]
    assert idx.resolve("src/models/user.ts", "User").via == "local"


def test_import_targets_and_importers(app_index: RepoIndex) -> None:
    targets = {(i.module, i.name): i.target for i in app_index.imports("src/app.ts")}
    assert targets == {
        (".", "UserService"): "src/index.ts",
        (".", "User"): "src/index.ts",
        (".", "Logger"): "src/index.ts",
        (".", "format"): "src/index.ts",
        ("./models", None): "src/models/index.ts",
        ("./components/UserCard", "default"): "src/components/UserCard.tsx",
        ("react-dom/server", "renderToString"): None,
    }
    assert app_index.importers("src/models/user.ts") == [
        "src/models/index.ts",
        "src/services/repo.ts",
    ]
    assert app_index.importers("src/models/index.ts") == [
        "src/app.ts",
        "src/components/UserCard.tsx",
        "src/index.ts",
        "src/services/userService.ts",
    ]

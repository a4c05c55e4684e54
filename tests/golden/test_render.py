"""Golden renderings of definitions (``repolens.completion.render``): each definition of a
fixture repository at every level the budget may choose (full, compact, outline, stub), one
file per language, from a real tree-sitter index.

Regenerate with ``REPOLENS_UPDATE_GOLDEN=1`` (see ``tests/golden/conftest.py``) and review the
diff: these are the texts the model reads for cross-file definitions.
"""

from __future__ import annotations

import posixpath

import pytest

from repolens.completion.render import CONTAINER_KINDS, render
from repolens.indexer import Definition, RepoIndex, language_for_path

from .conftest import Golden, IndexedRepo

#: (fixture, language, [(path, qualified name)]): classes with bases and members, methods
#: shown under their class, documented functions, constants.
CASES = [
    (
        "python_app",
        "python",
        [
            ("app/models/user.py", "User"),
            ("app/models/user.py", "User.is_admin"),
            ("app/models/user.py", "DEFAULT_ROLE"),
            ("app/models/repository.py", "UserRepository"),
            ("app/models/repository.py", "UserRepository.get_by_email"),
            ("app/services/mail.py", "send_welcome"),
            ("app/util.py", "slugify"),
        ],
    ),
    (
        "go_app",
        "go",
        [
            ("internal/store/store.go", "Store"),
            ("internal/store/store.go", "Store.Get"),
            ("internal/store/ops.go", "Store.Keys"),
            ("internal/config/config.go", "Load"),
            ("internal/config/config.go", "DefaultPort"),
        ],
    ),
    (
        "ts_app",
        "typescript",
        [
            ("src/models/user.ts", "User"),
            ("src/models/user.ts", "User.displayName"),
            ("src/services/repo.ts", "Repo"),
            ("src/util/format.ts", "formatName"),
        ],
    ),
    (
        "java_app",
        "java",
        [
            ("src/main/java/com/example/model/Circle.java", "Circle"),
            ("src/main/java/com/example/model/Circle.java", "Circle.area"),
            ("src/main/java/com/example/model/Named.java", "Named"),
        ],
    ),
]


def find(index: RepoIndex, path: str, qualified: str) -> Definition:
    found = [d for d in index.file_definitions(path) if d.qualified_name == qualified]
    assert found, f"{path} has no {qualified}: the fixture or the index changed"
    return found[0]


def container_of(index: RepoIndex, d: Definition) -> Definition | None:
    """The class a method belongs to: in its file, or (Go) in a file of its package."""
    if not d.scope:
        return None
    name = d.scope.rsplit(".", 1)[-1]
    candidates = [c for c in index.definitions(name) if c.kind in CONTAINER_KINDS]
    same_file = [c for c in candidates if c.path == d.path]
    same_dir = [c for c in candidates if posixpath.dirname(c.path) == posixpath.dirname(d.path)]
    found = same_file or same_dir
    return found[0] if found else None


def renderings(index: RepoIndex, d: Definition) -> str:
    spec = language_for_path(d.path)
    assert spec is not None
    text = index.text(d.path)
    assert text is not None
    lines = text.split("\n")
    container = container_of(index, d) if d.kind in ("method", "field") else None
    levels = ["full", "compact", "stub"]
    members: list[Definition] = []
    inherited: list[tuple[str, Definition]] = []
    if d.kind in CONTAINER_KINDS:
        levels.insert(1, "outline")
        members = index.members(d)
        own = {(m.path, m.start_line) for m in members}
        inherited = [
            (m.scope.rsplit(".", 1)[-1], m)
            for m in index.all_members(d)
            if (m.path, m.start_line) not in own
        ]
    where = f" in {container.qualified_name}" if container else ""
    out = [f"=== {d.path}:{d.start_line}-{d.end_line} {d.kind} {d.qualified_name}{where}"]
    for level in levels:
        r = render(
            d,
            spec,
            level,
            file_lines=lines,
            container=container,
            members=members,
            inherited=inherited,
        )
        shown = level if r.level == level else f"{level} (as {r.level})"
        out += [f"--- {shown}, lines {r.start_line}-{r.end_line}", r.text]
    return "\n".join(out) + "\n"


@pytest.mark.parametrize(("fixture", "language", "targets"), CASES, ids=[c[1] for c in CASES])
def test_every_level_of_each_definition(
    fixture: str,
    language: str,
    targets: list[tuple[str, str]],
    indexed_repo: IndexedRepo,
    golden: Golden,
) -> None:
    index = indexed_repo(fixture)
    text = "\n".join(renderings(index, find(index, path, name)) for path, name in targets)
    golden(f"render/{language}.txt", text)

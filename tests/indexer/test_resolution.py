"""Name resolution through its narrow read interface, on a tiny in-memory repository (no
parsing, no SQLite): which definition a name means, how it was found, and that answers are
kept until a file they read is forgotten."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from pathlib import Path

from repolens.indexer import RepoIndex
from repolens.indexer.memo import Memo
from repolens.indexer.model import Definition, Import
from repolens.indexer.reads import FileInfo
from repolens.indexer.resolution import NameResolution, SymbolReads
from repolens.indexer.resolvers import RepoFiles


def _def(path: str, name: str, line: int, kind: str = "function", scope: str = "") -> Definition:
    signature = f"class {name}:" if kind == "class" else f"def {name}():"
    return Definition(name, kind, line, line + 1, line, 0, signature, scope=scope, path=path)


class Versions:
    generation = 0

    def reader_data_version(self) -> tuple[int, int]:
        return (1, 1)


class FakeReads:
    """A repository as dictionaries; counts the reads of top-level definitions."""

    def __init__(self) -> None:
        self.defs: dict[str, list[Definition]] = {
            "pkg/__init__.py": [],
            "pkg/core.py": [_def("pkg/core.py", "run", 1), _def("pkg/core.py", "helper", 5)],
            "pkg/models.py": [
                _def("pkg/models.py", "User", 1, "class"),
                _def("pkg/models.py", "save", 2, "method", scope="User"),
            ],
            "app.py": [_def("app.py", "main", 10)],
            "deep/a/b/near.py": [_def("deep/a/b/near.py", "shared", 1)],
            "far.py": [_def("far.py", "shared", 1)],
            "deep/a/b/user.py": [],
        }
        self.imports_of: dict[str, list[Import]] = {
            "pkg/__init__.py": [Import(".core", "run", None, 1, "run", target="pkg/core.py")],
            "app.py": [
                Import("pkg.models", "User", None, 1, "User", target="pkg/models.py"),
                Import("pkg", "run", None, 2, "run", target="pkg/__init__.py"),
                Import("pkg", "core", "c", 3, "c", target="pkg/__init__.py"),
                Import("pkg.core", None, None, 4, "pkg", target="pkg/core.py"),
                Import("requests", None, None, 5, "requests"),
            ],
            "star.py": [
                Import("pkg.core", None, None, 1, None, wildcard=True, target="pkg/core.py")
            ],
        }
        self.top_level_reads = 0

    def top_level_definitions(self, path: str) -> list[Definition]:
        self.top_level_reads += 1
        return [d for d in self.defs.get(path, []) if not d.scope]

    def file_definitions(self, path: str) -> list[Definition]:
        return list(self.defs.get(path, []))

    def definitions(
        self, name: str, *, scope: str | None = None, kinds: Iterable[str] | None = None
    ) -> list[Definition]:
        return [
            d
            for defs in self.defs.values()
            for d in defs
            if d.name == name and (scope is None or d.scope == scope)
        ]

    def all_members(self, container: Definition, depth: int = 4) -> list[Definition]:
        return [d for d in self.defs.get(container.path, []) if d.scope == container.name]

    def imports(self, path: str) -> list[Import]:
        return list(self.imports_of.get(path, []))

    def file_info(self, path: str) -> FileInfo | None:
        if path not in self.defs and path not in self.imports_of:
            return None
        return FileInfo(path, "python", 42, "", 0)

    def repo_files(self) -> RepoFiles:
        return RepoFiles([*self.defs, *self.imports_of])


def _resolution() -> tuple[NameResolution, FakeReads, Memo]:
    reads = FakeReads()
    memo = Memo(Versions())
    return NameResolution(reads, memo), reads, memo


def _found(res: NameResolution, path: str, name: str) -> tuple[str, list[tuple[str, str]]]:
    answer = res.resolve(path, name)
    return answer.via, [(d.path, d.name) for d in answer.definitions]


def test_the_index_and_the_fake_offer_every_read_of_the_protocol() -> None:
    # (mypy checks RepoIndex against SymbolReads where the index builds its NameResolution)
    wanted = {
        name: inspect.signature(member)
        for name, member in vars(SymbolReads).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }
    assert "imports" in wanted and "top_level_definitions" in wanted
    for implementation in (RepoIndex, FakeReads):
        for name, signature in wanted.items():
            got = inspect.signature(getattr(implementation, name))
            assert list(got.parameters) == list(signature.parameters), (implementation, name)


def test_own_definitions_come_first() -> None:
    res, _, _ = _resolution()
    assert _found(res, "pkg/core.py", "helper") == ("local", [("pkg/core.py", "helper")])


def test_imports_re_exports_and_members() -> None:
    res, _, _ = _resolution()
    assert _found(res, "app.py", "User") == ("import", [("pkg/models.py", "User")])
    assert _found(res, "app.py", "User.save") == ("import", [("pkg/models.py", "save")])
    # `from pkg import run`, where pkg/__init__.py imports it from .core
    assert _found(res, "app.py", "run") == ("import", [("pkg/core.py", "run")])
    # an unknown member leaves the deepest definition found
    assert _found(res, "app.py", "User.nope") == ("import", [("pkg/models.py", "User")])


def test_modules_bound_by_an_import() -> None:
    res, _, _ = _resolution()
    # `from pkg import core as c`: core is no name of pkg/__init__.py but its submodule
    via, defs = _found(res, "app.py", "c")
    assert (via, defs) == ("import", [("pkg/core.py", "core.py")])
    assert res.resolve("app.py", "c").definitions[0].kind == "module"
    assert _found(res, "app.py", "c.helper") == ("import", [("pkg/core.py", "helper")])
    # `import pkg.core` binds pkg; pkg.core is the module, pkg.core.run a function of it
    module = res.resolve("app.py", "pkg.core").definitions
    assert [(d.kind, d.path, d.end_line) for d in module] == [("module", "pkg/core.py", 42)]
    assert _found(res, "app.py", "pkg.core.run") == ("import", [("pkg/core.py", "run")])


def test_wildcards_outside_names_guesses_and_nothing() -> None:
    res, _, _ = _resolution()
    assert _found(res, "star.py", "helper") == ("import", [("pkg/core.py", "helper")])
    assert _found(res, "app.py", "requests.get") == ("external", [])
    # no import: a guess by name, nearest directory first
    via, defs = _found(res, "deep/a/b/user.py", "shared")
    assert via == "global" and defs == [("deep/a/b/near.py", "shared"), ("far.py", "shared")]
    assert _found(res, "app.py", "missing") == ("none", [])
    assert _found(res, "app.py", "..") == ("none", [])


def test_answers_are_kept_until_a_file_they_read_is_forgotten() -> None:
    res, reads, memo = _resolution()
    assert _found(res, "app.py", "c.helper") == ("import", [("pkg/core.py", "helper")])
    reads_before = reads.top_level_reads
    res.resolve("app.py", "c.helper")
    assert reads.top_level_reads == reads_before  # from the memo
    # the answer read pkg/core.py: an edit there (an overlay) is seen once forgotten
    reads.defs["pkg/core.py"] = [_def("pkg/core.py", "helper", 30)]
    assert res.resolve("app.py", "c.helper").definitions[0].start_line == 5
    memo.forget("pkg/models.py")  # not read by that answer
    assert res.resolve("app.py", "c.helper").definitions[0].start_line == 5
    memo.forget("pkg/core.py")
    assert res.resolve("app.py", "c.helper").definitions[0].start_line == 30


def test_callers_get_their_own_lists() -> None:
    res, _, _ = _resolution()
    first = res.resolve("app.py", "User")
    first.definitions.clear()
    assert res.resolve("app.py", "User").definitions


def test_the_index_resolves_through_the_same_code(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg/__init__.py").write_text("from .core import run\n")
    (root / "pkg/core.py").write_text(
        "class Runner:\n    def go(self):\n        pass\n\n\nrun = 1\n"
    )
    (root / "app.py").write_text("from pkg.core import Runner\n")
    idx = RepoIndex(root, cache_dir=tmp_path / "cache")
    idx.update(workers=1)
    res = idx.resolve("app.py", "Runner.go")
    assert (res.via, [(d.path, d.name) for d in res.definitions]) == (
        "import",
        [("pkg/core.py", "go")],
    )
    assert [d.name for d in idx.top_level_definitions("pkg/core.py")] == ["Runner", "run"]
    idx.set_overlay("pkg/core.py", "def Runner():\n    pass\n")
    assert idx.top_level_definitions("pkg/core.py")[0].kind == "function"
    assert idx.resolve("app.py", "Runner.go").definitions[0].kind == "function"
    idx.close()

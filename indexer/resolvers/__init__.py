"""Per-language import handling: normalise what the import query captured, map it to files.

Each module here (named by the ``resolver`` column of the language table) provides

- ``normalize(path, matches) -> (imports, package)``: the bindings an import query matched,
  as :class:`~repolens.indexer.model.Import` values, and the file's package clause if any;
- ``resolve_target(imp, importer, files) -> str | None``: the repository file (or directory,
  ending in ``/``) an import refers to, None when it is outside the repository;
- ``submodule(target, name, files) -> str | None``: when ``from pkg import name`` names a
  module rather than a definition, that module's file;
- ``implicit_files(importer, package, files) -> list[str]``: files whose top-level names are
  visible without an import (a Go package's other files, a Java package's classes);
- ``base_names(signature) -> list[str]``: the base classes/interfaces a class signature names;
- optionally ``member_owner(target) -> str | None``: for imports of a member of a class (Java
  ``import static``), the class that owns it.
"""

from __future__ import annotations

import functools
import importlib
import posixpath
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Protocol, cast

from tree_sitter import Node

from ..model import Import

__all__ = ["RepoFiles", "Resolver", "normalize_imports", "resolver_for"]

Matches = list[tuple[int, dict[str, list[Node]]]]


class RepoFiles:
    """The repository's indexed paths, with the look-ups resolvers need.

    Only the set of paths is built up front; each look-up table is built the first time it is
    needed, so that resolving a single file's imports in a large repository (a save, a
    one-file re-index) does not pay for tables it never reads.
    """

    def __init__(self, paths: Iterable[str], root: Path | None = None) -> None:
        self.root = root  # the repository root, for resolvers that read a manifest (go.mod)
        self.paths: set[str] = set(paths)
        self._module_files: dict[str, list[str]] = {}  # module name -> its files
        self._nearest: dict[tuple[str, str], str] = {}  # (module, importer's dir) -> file

    @functools.cached_property
    def _by_basename(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for path in self.paths:
            out[path.rpartition("/")[2]].append(path)
        return out

    @functools.cached_property
    def _dir_files(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for path in self.paths:
            out[path.rpartition("/")[0]].append(path)
        return out

    @functools.cached_property
    def dirs(self) -> set[str]:
        dirs: set[str] = set()
        for parent in {path.rpartition("/")[0] for path in self.paths}:
            while parent and parent not in dirs:
                dirs.add(parent)
                parent = posixpath.dirname(parent)
        return dirs

    @functools.cached_property
    def _by_dirname(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for d in self.dirs:
            out[posixpath.basename(d)].append(d)
        return out

    @functools.cached_property
    def _python_by_last_name(self) -> dict[str, list[str]]:
        """Python files by the last part of the module name they would have (``c`` for both
        ``a/b/c.py`` and ``a/b/c/__init__.py``)."""
        out: dict[str, list[str]] = defaultdict(list)
        for path in self.paths:
            if path.endswith(".py"):
                stem = path[:-3]
            elif path.endswith(".pyi"):
                stem = path[:-4]
            else:
                continue
            head, _, last = stem.rpartition("/")
            if last == "__init__":
                last = head.rpartition("/")[2]
            out[last].append(path)
        return out

    def _python_module_name(self, path: str) -> str:
        """A Python file's dotted module name from its source root: its nearest ancestor
        directory without ``__init__.py`` (``src/flask/app.py`` is ``flask.app``,
        ``tests/test_app.py`` is ``test_app``); "" for a file that is not Python."""
        stem, ext = posixpath.splitext(path)
        if ext not in (".py", ".pyi"):
            return ""
        parts = stem.split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
            package_depth = len(parts)
        else:
            package_depth = len(parts) - 1
        first = package_depth  # climb while the directory is a package
        while first > 0:
            directory = "/".join(parts[:first])
            paths = self.paths
            if directory + "/__init__.py" in paths or directory + "/__init__.pyi" in paths:
                first -= 1
            else:
                break
        return ".".join(parts[first:])

    @staticmethod
    def _preferred(candidates: list[str]) -> str:
        """Of the files with one module name: the last ``.py`` in path order, else the first
        stub."""
        ordered = sorted(candidates)
        sources = [p for p in ordered if p.endswith(".py")]
        return sources[-1] if sources else ordered[0]

    def python_module(self, module: str, importer: str = "") -> str | None:
        """The file of a dotted module name, computed from each file's source root.

        Several files can have one name (a monorepo's projects each with their own ``app``
        package, vendored copies): the one nearest ``importer`` (sharing the longest
        directory prefix with it), a source before its stub; without an importer, the last
        source in path order, else the first stub."""
        found = self._module_files.get(module)
        if found is None:
            last = module.rpartition(".")[2]
            found = self._module_files[module] = [
                p
                for p in self._python_by_last_name.get(last, ())
                if self._python_module_name(p) == module
            ]
        if len(found) <= 1:
            return found[0] if found else None
        if not importer:
            return self._preferred(found)
        key = (module, importer.rpartition("/")[0])  # nearness depends on the directory only
        nearest = self._nearest.get(key)
        if nearest is None:
            nearest = self._nearest[key] = self.closest(found, importer) or found[0]
        return nearest

    def __contains__(self, path: object) -> bool:
        return path in self.paths

    def files_in(self, directory: str) -> list[str]:
        return sorted(self._dir_files.get(directory.rstrip("/"), []))

    def ending_with(self, suffix: str) -> list[str]:
        """Paths equal to ``suffix`` or ending in ``/suffix``."""
        base = posixpath.basename(suffix)
        return [
            p for p in self._by_basename.get(base, []) if p == suffix or p.endswith("/" + suffix)
        ]

    def dirs_ending_with(self, suffix: str) -> list[str]:
        base = posixpath.basename(suffix)
        return [
            d for d in self._by_dirname.get(base, []) if d == suffix or d.endswith("/" + suffix)
        ]

    @staticmethod
    def closest(candidates: Iterable[str], importer: str) -> str | None:
        """The candidate sharing the longest directory prefix with ``importer``."""
        importer_parts = posixpath.dirname(importer).split("/")

        def key(path: str) -> tuple[int, int, str]:
            parts = posixpath.dirname(path).split("/")
            common = 0
            for a, b in zip(parts, importer_parts, strict=False):
                if a != b:
                    break
                common += 1
            return (-common, len(parts), path)

        ranked = sorted(candidates, key=key)
        return ranked[0] if ranked else None


class Resolver(Protocol):
    def normalize(self, path: str, matches: Matches) -> tuple[list[Import], str]: ...

    def resolve_target(self, imp: Import, importer: str, files: RepoFiles) -> str | None: ...

    def submodule(self, target: str, name: str, files: RepoFiles) -> str | None: ...

    def implicit_files(self, importer: str, package: str, files: RepoFiles) -> list[str]: ...

    def base_names(self, signature: str) -> list[str]: ...


@functools.cache
def resolver_for(name: str) -> Resolver:
    module: ModuleType = importlib.import_module(f"{__name__}.{name}")
    return cast(Resolver, module)


def normalize_imports(resolver: str, path: str, matches: Matches) -> tuple[list[Import], str]:
    return resolver_for(resolver).normalize(path, matches)


def node_text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""


def first_text(caps: dict[str, list[Node]], name: str) -> str | None:
    nodes = caps.get(name)
    return node_text(nodes[0]) if nodes else None


def statement_line(caps: dict[str, list[Node]]) -> int:
    for key in ("import", "import.module", "import.name"):
        nodes = caps.get(key)
        if nodes:
            return nodes[0].start_point.row + 1
    return 1

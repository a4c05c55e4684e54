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
    """The repository's indexed paths, with the look-ups resolvers need."""

    def __init__(self, paths: Iterable[str], root: Path | None = None) -> None:
        self.root = root  # the repository root, for resolvers that read a manifest (go.mod)
        self.paths: set[str] = set(paths)
        self._by_basename: dict[str, list[str]] = defaultdict(list)
        self._dir_files: dict[str, list[str]] = defaultdict(list)
        self.dirs: set[str] = set()
        for path in self.paths:
            self._by_basename[posixpath.basename(path)].append(path)
            parent = posixpath.dirname(path)
            self._dir_files[parent].append(path)
            while parent and parent not in self.dirs:
                self.dirs.add(parent)
                parent = posixpath.dirname(parent)
        self._by_dirname: dict[str, list[str]] = defaultdict(list)
        for d in self.dirs:
            self._by_dirname[posixpath.basename(d)].append(d)

    def python_modules(self) -> dict[str, str]:
        """Dotted module name -> file, computed from each file's source root.

        The source root of a file is its nearest ancestor directory without ``__init__.py``:
        ``src/flask/app.py`` is ``flask.app``, ``tests/test_app.py`` is ``test_app``.
        """
        cached: dict[str, str] | None = getattr(self, "_python_modules", None)
        if cached is not None:
            return cached
        modules: dict[str, str] = {}
        for path in sorted(self.paths):
            stem, ext = posixpath.splitext(path)
            if ext not in (".py", ".pyi"):
                continue
            parts = stem.split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
                package_depth = len(parts)
            else:
                package_depth = len(parts) - 1
            # climb while the directory is a package
            first = package_depth
            while first > 0:
                directory = "/".join(parts[:first]) if first else ""
                if (
                    directory + "/__init__.py" in self.paths
                    or directory + "/__init__.pyi" in self.paths
                ):
                    first -= 1
                else:
                    break
            name = ".".join(parts[first:])
            if name and (name not in modules or ext == ".py"):
                modules[name] = path
        self._python_modules = modules
        return modules

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

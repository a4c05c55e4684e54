"""Name resolution: which definition(s) a (possibly dotted) name used in a file refers to.

Written against :class:`SymbolReads`, the few reads it needs (a file's definitions and
imports, members of a class, definitions by name, the file list); :class:`~.index.RepoIndex`
is the one in use, a test can pass a small fake. Answers are kept in the index's
:class:`~.memo.Memo`, so an overlay (unsaved buffer) forgets exactly those that read it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from .memo import Memo
from .model import Definition, Import
from .reads import FileInfo
from .resolvers import RepoFiles, resolver_for

__all__ = ["NameResolution", "Resolution", "SymbolReads", "resolver_name", "resolver_name_for_path"]

_MAX_DEPTH = 6


@dataclass(frozen=True, slots=True)
class Resolution:
    """Definitions a name resolves to and how: local, import, package, global (a guess)."""

    definitions: list[Definition]
    via: str


class SymbolReads(Protocol):
    """What resolution reads (each answer reflecting overlays, like :class:`RepoIndex`'s)."""

    def top_level_definitions(self, path: str) -> list[Definition]:
        """The definitions of ``path`` with no enclosing scope."""
        ...

    def file_definitions(self, path: str) -> list[Definition]:
        """Every definition of ``path`` in order."""
        ...

    def definitions(
        self, name: str, *, scope: str | None = None, kinds: Iterable[str] | None = None
    ) -> list[Definition]:
        """Definitions named ``name`` anywhere in the repository."""
        ...

    def all_members(self, container: Definition, depth: int = 4) -> list[Definition]:
        """Members of a class, then those it inherits."""
        ...

    def imports(self, path: str) -> list[Import]:
        """What ``path`` imports, with targets resolved to repository paths."""
        ...

    def file_info(self, path: str) -> FileInfo | None: ...

    def repo_files(self) -> RepoFiles: ...


class NameResolution:
    """Resolves names through ``reads``, keeping answers in ``memo``."""

    def __init__(self, reads: SymbolReads, memo: Memo) -> None:
        self._reads = reads
        self._memo = memo

    def resolve(self, path: str, name: str) -> Resolution:
        """Which definition(s) the (possibly dotted) ``name`` used in ``path`` refers to.

        Tries, in order: the file's own top-level definitions, its imports (following
        re-exports and submodules), wildcard imports, names visible without import (Go and Java
        packages), and finally a repository-wide guess by name.
        """
        res: Resolution = self._memo.memoized(
            ("resolve", path, name), self._resolve_uncached, path, name
        )
        return Resolution(list(res.definitions), res.via)

    def _resolve_uncached(self, path: str, name: str) -> Resolution:
        parts = [p for p in name.replace("::", ".").replace("->", ".").split(".") if p]
        if not parts:
            return Resolution([], "none")
        head, rest = parts[0], parts[1:]
        local = [d for d in self._top_level(path, head)]
        if local:
            return Resolution(self._descend(local, rest), "local")
        reads = self._reads
        imports = reads.imports(path)
        for imp in imports:
            if imp.local == head and imp.target is not None:
                found = self._through_import(imp, path, parts, 0)
                if found:
                    return Resolution(found, "import")
        for imp in imports:
            if imp.wildcard and imp.target is not None:
                found = self._in_module(imp.target, head, 0)
                if found:
                    return Resolution(self._descend(found, rest), "import")
        info = reads.file_info(path)
        name_of_resolver = resolver_name(info.language) if info else None
        if name_of_resolver is not None and info is not None:
            resolver = resolver_for(name_of_resolver)
            implicit = resolver.implicit_files(path, info.package, reads.repo_files())
            found = [d for f in implicit for d in self._top_level(f, head)]
            if found:
                return Resolution(self._descend(found, rest), "package")
        # An import we could not resolve to a file (a third-party module) is an answer too:
        # the name is not defined in this repository.
        if any(imp.local == head for imp in imports):
            return Resolution([], "external")
        guess = reads.definitions(head, scope="")
        if guess:
            guess.sort(key=lambda d: _distance(path, d.path))
            return Resolution(self._descend(guess[:5], rest), "global")
        return Resolution([], "none")

    def _top_level(self, path: str, name: str) -> list[Definition]:
        """Top-level definitions of ``path`` named ``name`` (from a per-file map)."""
        table: dict[str, list[Definition]] = self._memo.memoized(
            ("toplevel", path), self._top_level_map, path
        )
        return list(table.get(name, ()))

    def _top_level_map(self, path: str) -> dict[str, list[Definition]]:
        self._memo.touch(path)
        table: dict[str, list[Definition]] = {}
        for d in self._reads.top_level_definitions(path):
            table.setdefault(d.name, []).append(d)
        return table

    def _module_definition(self, target: str) -> Definition:
        info = self._reads.file_info(target) if not target.endswith("/") else None
        name = posixpath.basename(target.rstrip("/"))
        return Definition(
            name=name,
            kind="module",
            start_line=1,
            end_line=info.line_count if info else 1,
            name_line=1,
            name_col=0,
            signature=target,
            path=target,
        )

    def _through_import(
        self, imp: Import, importer: str, parts: list[str], depth: int
    ) -> list[Definition]:
        assert imp.target is not None
        if imp.name is None:  # the whole module is bound: ``import a.b`` / ``import * as ns``
            rest = parts[1:]
            if imp.alias is None and "." in imp.module:  # import a.b.c binds a; a.b.c.f
                module_parts = imp.module.split(".")
                if parts[: len(module_parts)] != module_parts:
                    return []
                rest = parts[len(module_parts) :]
            if not rest:
                return [self._module_definition(imp.target)]
            found = self._in_module(imp.target, rest[0], depth + 1)
            return self._descend(found, rest[1:])
        found = self._in_module(imp.target, imp.name, depth + 1)
        if found:
            return self._descend(found, parts[1:])
        name_of_resolver = resolver_name_for_path(importer)
        if name_of_resolver is not None:
            sub = resolver_for(name_of_resolver).submodule(
                imp.target, imp.name, self._reads.repo_files()
            )
            if sub is not None:
                if len(parts) == 1:
                    return [self._module_definition(sub)]
                return self._descend(self._in_module(sub, parts[1], depth + 1), parts[2:])
        return []

    def _in_module(self, target: str, name: str, depth: int) -> list[Definition]:
        """``name`` as defined or re-exported by a module file (or a package directory)."""
        if depth > _MAX_DEPTH:
            return []
        reads = self._reads
        if target.endswith("/"):
            directory = target.rstrip("/")
            files = reads.repo_files().files_in(directory)
            return [d for f in files for d in self._top_level(f, name)]
        found = self._top_level(target, name) or self._namespace_level(target, name)
        if found:
            return found
        imports = reads.imports(target)
        for imp in imports:
            if imp.local == name and imp.target is not None:
                via = self._through_import(imp, target, [name], depth + 1)
                if via:
                    return via
        for imp in imports:
            if imp.wildcard and imp.target is not None and imp.target != target:
                via = self._in_module(imp.target, name, depth + 1)
                if via:
                    return via
        name_of_resolver = resolver_name_for_path(target)
        if name_of_resolver is not None:
            resolver = resolver_for(name_of_resolver)
            sub = resolver.submodule(target, name, reads.repo_files())
            if sub is not None:
                return [self._module_definition(sub)]
            owner_of = getattr(resolver, "member_owner", None)
            owner = owner_of(target) if owner_of is not None else None
            if owner:  # Java `import static a.b.C.m`: m is a member of class C
                return [
                    m
                    for c in self._top_level(target, owner)
                    for m in reads.all_members(c)
                    if m.name == name
                ]
        return []

    def _namespace_level(self, path: str, name: str) -> list[Definition]:
        """``name`` declared directly in a namespace the file opens (C++ headers)."""
        defs = self._reads.file_definitions(path)
        namespaces = {d.qualified_name for d in defs if d.kind == "namespace"}
        if not namespaces:
            return []
        return [d for d in defs if d.name == name and d.scope in namespaces]

    def _descend(self, defs: list[Definition], rest: list[str]) -> list[Definition]:
        for part in rest:
            nxt: list[Definition] = []
            for d in defs:
                if d.kind == "module":
                    nxt.extend(self._in_module(d.path, part, 1))
                elif d.kind == "namespace":  # C++ namespaces reopen across files
                    nxt.extend(self._reads.definitions(part, scope=d.qualified_name))
                else:
                    nxt.extend(m for m in self._reads.all_members(d) if m.name == part)
            if not nxt:
                return defs  # the deepest definition we could find
            seen: set[tuple[str, int, str]] = set()
            defs = []
            for m in nxt:
                key = (m.path, m.start_line, m.name)
                if key not in seen:
                    seen.add(key)
                    defs.append(m)
        return defs


def resolver_name(language: str) -> str | None:
    """The ``resolver`` column of a language, None for an unknown one."""
    from .languages import UnknownLanguageError, language_spec

    try:
        return language_spec(language).resolver
    except UnknownLanguageError:
        return None


def resolver_name_for_path(path: str) -> str | None:
    """The ``resolver`` column of the language of ``path``, None when it has none."""
    from .languages import language_for_path

    spec = language_for_path(path)
    return spec.resolver if spec else None


def _distance(a: str, b: str) -> tuple[int, str]:
    pa, pb = posixpath.dirname(a).split("/"), posixpath.dirname(b).split("/")
    common = 0
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            break
        common += 1
    return (len(pa) + len(pb) - 2 * common, b)

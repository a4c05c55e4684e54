"""``RepoIndex``: the one object completion, Q&A and the language server read the index through.

It is a facade over three parts: :class:`~.reads.StoreReads` (every query, on a per-thread
SQLite connection: WAL, reads never wait for a re-index), :class:`~.memo.Memo` (answers kept
until the database or an overlay changes what they read) and
:class:`~.resolution.NameResolution` (which definition a name refers to, reading through this
object). What it adds itself are *overlays*: unsaved editor buffers. A path set with
:meth:`RepoIndex.set_overlay` is answered from the buffer's text and fresh facts instead of the
database, so a function typed a second ago in another tab is already a definition.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from .build import IndexSummary, ProgressCallback, facts_for_text, index_repository
from .discovery import DiscoveryOptions, file_kind
from .memo import Memo
from .model import Definition, FileFacts, Import, Reference
from .reads import ChunkHit, FileInfo, StoreReads
from .resolution import NameResolution, Resolution, resolver_name, resolver_name_for_path
from .resolvers import RepoFiles, resolver_for
from .store import Store, db_path_for

__all__ = ["ChunkHit", "FileInfo", "RepoIndex", "Resolution"]


@dataclass(slots=True)
class _Overlay:
    text: str
    facts: FileFacts


class RepoIndex:
    """The index of one repository root."""

    def __init__(
        self,
        root: str | Path,
        cache_dir: Path | None = None,
        options: DiscoveryOptions | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.options = options or DiscoveryOptions()
        self.store = Store(db_path_for(self.root, cache_dir), self.root)
        self._db = StoreReads(self.store)
        self._memo = Memo(self.store)
        self._resolution = NameResolution(self, self._memo)
        self._overlay: dict[str, _Overlay] = {}
        self._overlay_lock = threading.Lock()
        self._names_cache: tuple[int, int, list[str]] | None = None
        self._files_cache: tuple[int, int, frozenset[str], RepoFiles] | None = None
        self._overlay_version = 0

    # -- writing ---------------------------------------------------------------------------

    def update(
        self,
        progress: ProgressCallback | None = None,
        workers: int | None = None,
        only: Iterable[str] | None = None,
    ) -> IndexSummary:
        """Index what changed on disk (everything on the first run)."""
        return index_repository(self.store, self.root, self.options, progress, workers, only)

    def rebuild(
        self, progress: ProgressCallback | None = None, workers: int | None = None
    ) -> IndexSummary:
        """Start over and index everything, under one hold of the writer lock (no other
        process's update can land in between). A read-only index is only counted."""
        if self.store.read_only is not None:
            return self.update(progress, workers)
        with self.store.writing(progress):
            self.store.rebuild(None)
            return self.update(progress, workers)

    def close(self) -> None:
        self.store.close()

    # -- overlay (unsaved buffers) --------------------------------------------------------

    def set_overlay(self, path: str, text: str) -> FileFacts | None:
        """Serve ``path`` from ``text`` (an editor buffer) until :meth:`clear_overlay`."""
        kind = file_kind(path)
        if kind is None:
            return None
        facts = facts_for_text(path, kind, text.encode("utf-8", "surrogatepass"))
        with self._overlay_lock:
            new_file = path not in self._overlay and self.file_info(path) is None
            self._overlay[path] = _Overlay(text, facts)
            self._overlay_version += 1
        if new_file:
            self._memo.forget_all()  # the set of files changed: any import may resolve differently
        else:
            self._memo.forget(path)
        return facts

    def clear_overlay(self, path: str) -> None:
        with self._overlay_lock:
            removed = self._overlay.pop(path, None) is not None
            if removed:
                self._overlay_version += 1
        if not removed:
            return
        if self.file_info(path) is None:
            self._memo.forget_all()  # an unsaved new file is gone
        else:
            self._memo.forget(path)

    def overlay_facts(self, path: str) -> FileFacts | None:
        entry = self._overlay.get(path)
        return entry.facts if entry else None

    def _stored(self, defs: list[Definition]) -> list[Definition]:
        """``defs`` read from the database, without those of overlaid files."""
        if self._overlay:
            defs = [d for d in defs if d.path not in self._overlay]
        return defs

    def _overlay_defs(self, predicate: Callable[[Definition], bool]) -> list[Definition]:
        out: list[Definition] = []
        for entry in list(self._overlay.values()):
            out.extend(d for d in entry.facts.definitions if predicate(d))
        return out

    # -- files -----------------------------------------------------------------------------

    def files(self) -> list[str]:
        paths = set(self._db.paths())
        paths.update(self._overlay)
        return sorted(paths)

    def repo_files(self) -> RepoFiles:
        version = self._memo.data_version()
        overlaid = frozenset(self._overlay)  # the file list depends on overlay paths only
        cached = self._files_cache
        if cached is not None and cached[:3] == (*version, overlaid):
            return cached[3]
        files = RepoFiles(self.files(), self.root)
        self._files_cache = (version[0], version[1], overlaid, files)
        return files

    def file_info(self, path: str) -> FileInfo | None:
        entry = self._overlay.get(path)
        if entry is not None:
            f = entry.facts
            return FileInfo(path, f.language, f.line_count, f.package, f.parse_errors)
        return self._db.file_info(path)

    def text(self, path: str) -> str | None:
        """The indexed text of a file (an open buffer's text when it has one)."""
        entry = self._overlay.get(path)
        if entry is not None:
            return entry.text
        return self._db.content(path)

    def lines(self, path: str, start: int, end: int) -> str:
        """Lines ``start``..``end`` (1-based, inclusive) of a file's indexed text."""
        text = self.text(path)
        if text is None:
            return ""
        return "\n".join(text.split("\n")[max(start, 1) - 1 : end])

    def skipped(self) -> list[tuple[str, str]]:
        return self._db.skipped()

    def stats(self) -> dict[str, int]:
        return self._db.stats()

    # -- symbols ---------------------------------------------------------------------------

    def definitions(
        self, name: str, *, scope: str | None = None, kinds: Iterable[str] | None = None
    ) -> list[Definition]:
        """Definitions named exactly ``name`` (optionally in ``scope``, of ``kinds``)."""
        kind_key = tuple(sorted(kinds)) if kinds is not None else None
        return list(
            self._memo.memoized(
                ("definitions", name, scope, kind_key),
                self._definitions_uncached,
                name,
                scope,
                kind_key,
            )
        )

    def _definitions_uncached(
        self, name: str, scope: str | None, kinds: Iterable[str] | None
    ) -> list[Definition]:
        self._memo.touch(Memo.EVERYTHING)
        kind_set = set(kinds) if kinds is not None else None
        defs = self._stored(self._db.definitions(name, scope, kind_set))
        defs += self._overlay_defs(
            lambda d: (
                d.name == name
                and (scope is None or d.scope == scope)
                and (kind_set is None or d.kind in kind_set)
            )
        )
        return defs

    def _symbol_names(self) -> list[str]:
        version = self._memo.data_version()
        if self._names_cache is not None and self._names_cache[:2] == version:
            names = self._names_cache[2]
        else:
            names = self._db.symbol_names()
            self._names_cache = (version[0], version[1], names)
        if self._overlay:
            extra = {d.name for e in self._overlay.values() for d in e.facts.definitions}
            names = sorted(set(names) | extra)
        return names

    def symbol_names(self) -> list[str]:
        """Every distinct definition name (cached until the index changes)."""
        return list(self._symbol_names())

    def fuzzy_definitions(
        self, query: str, limit: int = 20, kinds: Iterable[str] | None = None
    ) -> list[tuple[Definition, float]]:
        """Definitions whose names look like ``query`` (``getUsr`` finds ``get_user``)."""

        def norm(s: str) -> str:
            return s.lower().replace("_", "")

        names = self._symbol_names()
        if not names or not query.strip():
            return []
        matches = process.extract(
            norm(query), names, scorer=fuzz.WRatio, processor=norm, limit=limit * 2
        )
        kind_set = set(kinds) if kinds is not None else None
        out: list[tuple[Definition, float]] = []
        for name, score, _ in matches:
            for d in self.definitions(name, kinds=kind_set):
                out.append((d, float(score)))
        out.sort(key=lambda pair: (-pair[1], pair[0].scope != "", pair[0].path, pair[0].start_line))
        return out[:limit]

    def documented_definitions(self) -> list[Definition]:
        """Every definition that has documentation (a docstring or doc comment)."""
        return self._stored(self._db.documented_definitions()) + self._overlay_defs(
            lambda d: bool(d.doc)
        )

    def file_definitions(self, path: str) -> list[Definition]:
        """The outline of a file: every definition in order, with its enclosing scope."""
        return list(self._memo.memoized(("defs", path), self._file_definitions_uncached, path))

    def _file_definitions_uncached(self, path: str) -> list[Definition]:
        self._memo.touch(path)
        entry = self._overlay.get(path)
        if entry is not None:
            return sorted(entry.facts.definitions, key=lambda d: (d.start_line, d.name_line))
        return self._stored(self._db.file_definitions(path))

    def top_level_definitions(self, path: str) -> list[Definition]:
        """The definitions of a file with no enclosing scope (an overlay's when it has one)."""
        entry = self._overlay.get(path)
        if entry is not None:
            return [d for d in entry.facts.definitions if not d.scope]
        return self._stored(self._db.top_level_definitions(path))

    def members(self, container: Definition) -> list[Definition]:
        """Definitions directly inside a class/struct/interface/impl (same file or package)."""
        key = ("members", container.path, container.start_line, container.qualified_name)
        return list(self._memo.memoized(key, self._members_uncached, container))

    def _members_uncached(self, container: Definition) -> list[Definition]:
        self._memo.touch(container.path, "dir:" + posixpath.dirname(container.path))
        qualified = container.qualified_name
        if container.path in self._overlay:
            own = [d for d in self.file_definitions(container.path) if d.scope == qualified]
        else:
            own = self._stored(self._db.scope_definitions(container.path, qualified))
        # Go methods and Rust impls live outside the type's span, often in other files.
        directory = posixpath.dirname(container.path)
        elsewhere: list[Definition] = []
        for d in self._stored(self._db.scope_definitions_elsewhere(container.name, container.path)):
            if posixpath.dirname(d.path) == directory and d.kind in ("method", "function", "field"):
                elsewhere.append(d)
        for d in self._overlay_defs(
            lambda d: d.scope == container.name and d.path != container.path
        ):
            if posixpath.dirname(d.path) == directory:
                elsewhere.append(d)
        seen = {(d.path, d.start_line, d.name) for d in own}
        return own + [d for d in elsewhere if (d.path, d.start_line, d.name) not in seen]

    def bases(self, container: Definition) -> list[Definition]:
        """The classes/interfaces a class derives from, resolved from its own file."""
        key = ("bases", container.path, container.start_line, container.name)
        return list(self._memo.memoized(key, self._bases_uncached, container))

    def _bases_uncached(self, container: Definition) -> list[Definition]:
        name_of_resolver = resolver_name_for_path(container.path)
        if name_of_resolver is None:
            return []
        out: list[Definition] = []
        for base in resolver_for(name_of_resolver).base_names(container.signature):
            found = self.resolve(container.path, base).definitions
            out.extend(d for d in found if d.kind not in ("module",) and d is not container)
        return out

    def all_members(self, container: Definition, depth: int = 4) -> list[Definition]:
        """Members of a class and, after them, those it inherits (nearest base first)."""
        key = ("all_members", container.path, container.start_line, container.name, depth)
        return list(self._memo.memoized(key, self._all_members_uncached, container, depth))

    def _all_members_uncached(self, container: Definition, depth: int = 4) -> list[Definition]:
        out: list[Definition] = []
        seen_names: set[str] = set()
        seen_classes: set[tuple[str, int]] = set()
        frontier = [container]
        for _ in range(depth + 1):
            nxt: list[Definition] = []
            for cls in frontier:
                key = (cls.path, cls.start_line)
                if key in seen_classes:
                    continue
                seen_classes.add(key)
                for m in self.members(cls):
                    if m.name not in seen_names:
                        seen_names.add(m.name)
                        out.append(m)
                nxt.extend(self.bases(cls))
            frontier = nxt
            if not frontier:
                break
        return out

    def file_references(self, path: str) -> list[Reference]:
        """The names a file uses, each with its kind and the lines it is used on."""
        entry = self._overlay.get(path)
        if entry is not None:
            return list(entry.facts.references)
        return self._db.file_references(path)

    def references(self, name: str) -> list[tuple[str, str, list[int]]]:
        """Files that use ``name``: (path, kind, lines)."""
        out = [r for r in self._db.references(name) if r[0] not in self._overlay]
        for path, entry in list(self._overlay.items()):
            out.extend((path, r.kind, r.lines) for r in entry.facts.references if r.name == name)
        return out

    # -- imports ---------------------------------------------------------------------------

    def imports(self, path: str) -> list[Import]:
        """What a file imports, with resolved targets."""
        return list(self._memo.memoized(("imports", path), self._imports_uncached, path))

    def _imports_uncached(self, path: str) -> list[Import]:
        self._memo.touch(path)
        entry = self._overlay.get(path)
        if entry is not None:
            return self._resolve_overlay_imports(path, entry.facts)
        return self._db.imports(path)

    def _resolve_overlay_imports(self, path: str, facts: FileFacts) -> list[Import]:
        spec_resolver = resolver_name(facts.language)
        if spec_resolver is None:
            return list(facts.imports)
        resolver = resolver_for(spec_resolver)
        files = self.repo_files()
        for imp in facts.imports:
            if imp.target is None:
                imp.target = resolver.resolve_target(imp, path, files)
        return list(facts.imports)

    def importers(self, path: str) -> list[str]:
        """Files whose imports resolve to ``path`` (or to its directory, for Go/Java)."""
        directory = posixpath.dirname(path) + "/"
        rows = self._db.importers((path, directory))
        # a JS/TS module's exports are recorded as imports of itself: not an importer
        out = {p for p in rows if p not in self._overlay and p != path}
        for p in list(self._overlay):
            if p != path and any(i.target in (path, directory) for i in self.imports(p)):
                out.add(p)
        return sorted(out)

    # -- search ----------------------------------------------------------------------------

    def term_chunk_ids(self, term: str, column: str = "terms") -> list[int]:
        """Ids of the chunks whose FTS ``column`` (terms or path) holds ``term`` exactly.

        One doclist read, no ranking: callers that score many terms at once (Q&A retrieval)
        do it faster than FTS5's per-row ``bm25()``.
        """
        return self._db.term_chunk_ids(term, column)

    def ranked_chunks(self, terms: Sequence[str], limit: int = 8) -> list[ChunkHit]:
        """The chunks of the database that best match the rarest of ``terms`` (whole lower-case
        identifiers or their parts, as the FTS column holds them) that at least two chunks
        hold, by FTS5's BM25, best first; overlays are not included. Capped counts and one
        ranked query over a few rare terms that hold at most ~3,000 chunks together: cheap
        enough for completion time at any repository size."""
        return self._db.ranked_chunks(terms, limit)

    def term_counts(self, terms: Sequence[str]) -> dict[str, int]:
        """How many chunks of the database hold each of ``terms`` (as the FTS column holds
        them: whole lower-case identifiers, outer underscores stripped, and their parts): how
        much the repository uses a name, attribute reads included, up to 1,001 ("more than
        1,000"). Terms no chunk holds are left out. Overlays are not counted."""
        return self._db.term_counts(terms)

    def all_chunks(self) -> list[ChunkHit]:
        """Every chunk of the database (score 0), by id; overlays are not included."""
        return self._db.all_chunks()

    def file_hashes(self) -> dict[str, str]:
        """Content hash of every indexed file, by path."""
        return self._db.file_hashes()

    def version(self) -> tuple[int, int, int]:
        """Changes whenever the database (any process's write) or an overlay changes."""
        return (*self._memo.data_version(), self._overlay_version)

    def chunks_of(self, path: str) -> list[ChunkHit]:
        entry = self._overlay.get(path)
        if entry is not None:
            lines = entry.text.split("\n")
            return [
                ChunkHit(
                    0,
                    path,
                    c.start_line,
                    c.end_line,
                    c.kind,
                    c.symbol,
                    sum(len(x) + 1 for x in lines[c.start_line - 1 : c.end_line]),
                    0.0,
                )
                for c in entry.facts.chunks
            ]
        return self._db.file_chunks(path)

    # -- resolution ------------------------------------------------------------------------

    def resolve(self, path: str, name: str) -> Resolution:
        """Which definition(s) the (possibly dotted) ``name`` used in ``path`` refers to.

        Tries, in order: the file's own top-level definitions, its imports (following
        re-exports and submodules), wildcard imports, names visible without import (Go and Java
        packages), and finally a repository-wide guess by name.
        """
        return self._resolution.resolve(path, name)

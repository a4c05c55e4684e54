"""The read queries of the index database: one method per question, answering value objects.

Every query runs on the calling thread's reader connection (:attr:`Store.reader`: WAL, it sees
the last committed state and never waits for a re-index). A query that finds the file corrupt
rebuilds the store (the index is a cache) and answers as if it were empty; while another
process writes, it does not wait to do so (the writer repairs it). Overlays (unsaved buffers)
are not known here: :class:`~.index.RepoIndex` puts them over these answers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .model import Definition, Import, Reference
from .store import Store, is_corruption

__all__ = ["COUNT_CAP", "RANK_POSTINGS", "ChunkHit", "FileInfo", "StoreReads"]

#: Chunk counts of a term stop here (a name this common ranks with the others this common).
COUNT_CAP = 1000
#: How many chunks a ranked search reads at most (the rare terms' lists, together): ~15 ms.
#: Small repositories stay as they were (the six rarest terms of a window in flask or httpx
#: hold more than this in 2% and 0.4% of windows; with 1,000, in 18% and 12%).
RANK_POSTINGS = 3000

_SYMBOLS = (
    "SELECT symbols.id, files.path, symbols.name, symbols.kind, symbols.scope,"
    " symbols.start_line, symbols.end_line, symbols.name_line, symbols.name_col,"
    " symbols.signature, symbols.doc FROM symbols JOIN files ON files.id = symbols.file_id"
)
_CHUNKS = (
    "SELECT chunks.id, files.path, start_line, end_line, kind, symbol, chars FROM chunks"
    " JOIN files ON files.id = chunks.file_id"
)


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str
    language: str
    line_count: int
    package: str
    parse_errors: int


class ChunkHit(NamedTuple):
    """A chunk with where it is and a score. A named tuple: Q&A's lexical search makes one
    for every chunk of the repository (427K in a large monorepo)."""

    id: int
    path: str
    start_line: int
    end_line: int
    kind: str
    symbol: str
    chars: int
    score: float


def _definition(row: tuple[Any, ...]) -> Definition:
    (id_, path, name, kind, scope, start, end, nline, ncol, signature, doc) = row
    return Definition(
        name=name,
        kind=kind,
        start_line=start,
        end_line=end,
        name_line=nline,
        name_col=ncol,
        signature=signature,
        doc=doc,
        scope=scope,
        path=path,
        id=id_,
    )


def _import(row: tuple[Any, ...]) -> Import:
    module, name, alias, local, line, wildcard, reexport, target = row
    return Import(module, name, alias, line, local, bool(wildcard), bool(reexport), target)


def _lines(text: str) -> list[int]:
    # written as ",".join of the line numbers: no empty parts but in the empty string
    return list(map(int, text.split(","))) if text else []


class StoreReads:
    """The queries :class:`~.index.RepoIndex` answers from, over one :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._counts_version: object = None
        self._counts: dict[int, dict[str, int]] = {}  # per cap: term -> capped count

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.store.reader.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            self.store.rebuild(f"is corrupt ({exc})", wait=False)
            return []

    def _definitions(self, where: str, params: tuple[Any, ...]) -> list[Definition]:
        return [_definition(r) for r in self._rows(f"{_SYMBOLS} WHERE {where}", params)]

    # -- files -----------------------------------------------------------------------------

    def paths(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT path FROM files")]

    def file_info(self, path: str) -> FileInfo | None:
        rows = self._rows(
            "SELECT path, language, line_count, package, parse_errors FROM files WHERE path = ?",
            (path,),
        )
        return FileInfo(*rows[0]) if rows else None

    def content(self, path: str) -> str | None:
        rows = self._rows("SELECT content FROM files WHERE path = ?", (path,))
        return rows[0][0] if rows else None

    def file_hashes(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self._rows("SELECT path, hash FROM files")}

    def skipped(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._rows("SELECT path, reason FROM skipped ORDER BY path")]

    def stats(self) -> dict[str, int]:
        rows = self._rows(
            "SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM symbols),"
            " (SELECT count(*) FROM chunks), (SELECT count(*) FROM skipped)"
        )
        row = rows[0] if rows else (0, 0, 0, 0)  # none when the file was found corrupt
        return {"files": row[0], "symbols": row[1], "chunks": row[2], "skipped": row[3]}

    # -- symbols ---------------------------------------------------------------------------

    def definitions(
        self, name: str, scope: str | None = None, kinds: Iterable[str] | None = None
    ) -> list[Definition]:
        """Definitions named ``name`` (in ``scope``, of ``kinds``: any when None or empty)."""
        where, params = "symbols.name = ?", [name]
        if scope is not None:
            where += " AND symbols.scope = ?"
            params.append(scope)
        kind_list = sorted(set(kinds)) if kinds is not None else None
        if kind_list:
            where += f" AND symbols.kind IN ({','.join('?' * len(kind_list))})"
            params.extend(kind_list)
        return self._definitions(where, tuple(params))

    def symbol_names(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT DISTINCT name FROM symbols")]

    def documented_definitions(self) -> list[Definition]:
        return self._definitions("symbols.doc != ''", ())

    def file_definitions(self, path: str) -> list[Definition]:
        """A file's definitions in order."""
        return self._definitions(
            "files.path = ? ORDER BY symbols.start_line, symbols.name_line", (path,)
        )

    def top_level_definitions(self, path: str) -> list[Definition]:
        """A file's definitions with no enclosing scope."""
        return self._definitions("files.path = ? AND symbols.scope = ''", (path,))

    def scope_definitions(self, path: str, scope: str) -> list[Definition]:
        """Definitions of ``path`` whose enclosing scope is ``scope``, in order."""
        return self._definitions(
            "files.path = ? AND symbols.scope = ? ORDER BY symbols.start_line", (path, scope)
        )

    def scope_definitions_elsewhere(self, scope: str, path: str) -> list[Definition]:
        """Methods, functions and fields scoped ``scope`` in the other files of ``path``'s
        directory (Go methods, Rust impls). The directory is matched here, not by the caller:
        in a monorepo a common class name has members in many directories."""
        directory, _, _ = path.rpartition("/")
        prefix = directory + "/" if directory else ""
        return self._definitions(
            "symbols.scope = ? AND files.path != ? AND symbols.kind IN ('method', 'function',"
            " 'field') AND substr(files.path, 1, ?) = ? AND instr(substr(files.path, ?), '/') = 0",
            (scope, path, len(prefix), prefix, len(prefix) + 1),
        )

    # -- references and imports ------------------------------------------------------------

    def file_references(self, path: str) -> list[Reference]:
        rows = self._rows(
            "SELECT refs.name, refs.kind, refs.lines FROM refs"
            " JOIN files ON files.id = refs.file_id WHERE files.path = ?",
            (path,),
        )
        return [Reference(n, k, _lines(lines)) for n, k, lines in rows]

    def references(self, name: str) -> list[tuple[str, str, list[int]]]:
        """Files that use ``name``: (path, kind, lines)."""
        rows = self._rows(
            "SELECT files.path, refs.kind, refs.lines FROM refs"
            " JOIN files ON files.id = refs.file_id"
            " WHERE refs.name = ?",
            (name,),
        )
        return [(p, k, _lines(lines)) for p, k, lines in rows]

    def imports(self, path: str) -> list[Import]:
        """What a file imports, with the targets resolved at indexing time, by line."""
        return [
            _import(r)
            for r in self._rows(
                "SELECT module, imports.name, alias, local, line, wildcard, reexport, target"
                " FROM imports JOIN files ON files.id = imports.file_id WHERE files.path = ?"
                " ORDER BY line",
                (path,),
            )
        ]

    def importers(self, targets: tuple[str, str]) -> list[str]:
        """Distinct files with an import resolved to one of ``targets``."""
        rows = self._rows(
            "SELECT DISTINCT files.path FROM imports JOIN files ON files.id = imports.file_id"
            " WHERE imports.target IN (?, ?)",
            targets,
        )
        return [r[0] for r in rows]

    # -- chunks ----------------------------------------------------------------------------

    def term_chunk_ids(self, term: str, column: str) -> list[int]:
        """Ids of the chunks whose FTS ``column`` (terms or path) holds ``term`` exactly."""
        if column not in ("terms", "path") or not term or '"' in term:
            return []
        rows = self._rows(
            "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?", (f'{column} : "{term}"',)
        )
        return [r[0] for r in rows]

    def term_counts(self, terms: Sequence[str], cap: int = COUNT_CAP) -> dict[str, int]:
        """How many chunks hold each of ``terms`` (lowercased identifiers, leading and trailing
        underscores stripped, as the full-text index stores them), up to ``cap + 1`` ("more
        than ``cap``"); a term no chunk holds is left out.

        Each count reads at most ``cap + 1`` entries of the term's list: an exact count of a
        word a large repository uses everywhere reads all of it (tens of milliseconds for one
        term in an 18K-file monorepo), and callers only compare rare terms with each other.
        Counts are kept until the index changes."""
        wanted = list(dict.fromkeys(t for t in terms if t and '"' not in t))
        if not wanted:
            return {}
        version = self.store.reader_data_version()
        if self._counts_version != version:
            self._counts_version, self._counts = version, {}
        counts = self._counts.setdefault(cap, {})
        out: dict[str, int] = {}
        for term in wanted:
            n = counts.get(term)
            if n is None:
                rows = self._rows(
                    "SELECT count(*) FROM (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?"
                    " LIMIT ?)",
                    (f'terms : "{term}"', cap + 1),
                )
                n = counts[term] = rows[0][0] if rows else 0
            if n:
                out[term] = n
        return out

    def ranked_chunks(
        self, terms: Sequence[str], limit: int, rarest: int = 6, postings: int = RANK_POSTINGS
    ) -> list[ChunkHit]:
        """The ``limit`` chunks that best match the ``rarest`` of ``terms`` held by at least
        two chunks (FTS5's BM25), best first, with the score (higher is better).

        Rare terms are what near-duplicates share, and what the search costs little for:
        ranking reads every chunk that holds one of the terms (~5 us each). The terms taken,
        rarest first, hold at most ``postings`` chunks between them, so a search in a large
        repository costs what it costs in a small one; a term more chunks hold is no sign of
        a look-alike there anyway."""
        wanted = list(dict.fromkeys(t for t in terms if t and '"' not in t))
        if not wanted or limit < 1:
            return []
        df = self.term_counts(wanted, cap=postings)
        shared = sorted((t for t in wanted if df.get(t, 0) >= 2), key=lambda t: df[t])
        chosen: list[str] = []
        total = 0
        for term in shared[:rarest]:
            if total + df[term] > postings:
                break
            chosen.append(term)
            total += df[term]
        if not chosen:
            return []
        quoted = [f'"{t}"' for t in chosen]
        rows = self._rows(
            "SELECT chunks.id, files.path, start_line, end_line, kind, symbol, chars, rank"
            " FROM (SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ?"
            " ORDER BY rank LIMIT ?) AS hits"
            " JOIN chunks ON chunks.id = hits.rowid JOIN files ON files.id = chunks.file_id"
            " ORDER BY rank",
            (f"terms : ({' OR '.join(quoted)})", limit),
        )
        return [ChunkHit(r[0], r[1], r[2], r[3], r[4], r[5], r[6], -r[7]) for r in rows]

    def all_chunks(self) -> list[ChunkHit]:
        # paths from an index of the files table (a scan of small entries), not by a join
        # that reads each file's row, which holds its content, for every chunk
        paths = dict(self._rows("SELECT id, path FROM files"))
        rows = self._rows(
            "SELECT id, file_id, start_line, end_line, kind, symbol, chars FROM chunks ORDER BY id"
        )
        return [
            ChunkHit(i, paths[f], start, end, kind, symbol, chars, 0.0)
            for i, f, start, end, kind, symbol, chars in rows
            if f in paths
        ]

    def file_chunks(self, path: str) -> list[ChunkHit]:
        rows = self._rows(f"{_CHUNKS} WHERE files.path = ? ORDER BY start_line", (path,))
        return [ChunkHit(r[0], r[1], r[2], r[3], r[4], r[5], r[6], 0.0) for r in rows]

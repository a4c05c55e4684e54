"""Building and updating the index: discover, extract in parallel, write, resolve imports.

Re-indexing is incremental: a file whose size and mtime are unchanged is not read; one whose
content hash is unchanged is not parsed; deleted files are dropped. Parsing runs in worker
processes (one per core) when there is enough work to pay for starting them; the main process
is the single writer, and holds the store's writer lock (one writer per index, across
processes) for the whole run; a run that had to wait finds what changed meanwhile.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import gc
import hashlib
import logging
import multiprocessing
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from tree_sitter import Parser

from .discovery import (
    Candidate,
    DiscoveryOptions,
    check_content,
    discover,
    excluded_dir,
    file_kind,
)
from .extract import extract
from .languages import language_for_path, language_spec, parser_for
from .model import Chunk, FileFacts, Import, SkippedFile
from .resolvers import RepoFiles, resolver_for
from .store import Store, is_corruption
from .terms import symbol_terms, terms_for_text

__all__ = ["IndexSummary", "ProgressCallback", "facts_for_text", "index_repository"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]
"""Called as ``progress(done, total, path)`` while files are processed; before that, once as
``progress(0, 0, message)`` when the run waits for another process's (the message starts with
:data:`~.store.WAITING`)."""

#: The rules imports are resolved by: an index whose imports an older repolens resolved (its
#: meta 'resolver' differs) has them all resolved again, once. Bump it when the rules change.
RESOLVER_VERSION = "2"  # 2: a module name several files have goes to the nearest one

_PARALLEL_THRESHOLD = 48
_BATCH_FILES = 200
_BATCH_SECONDS = 1.0


@dataclass
class IndexSummary:
    files: int = 0
    skipped: int = 0
    symbols: int = 0
    chunks: int = 0
    files_changed: int = 0
    added: int = 0
    changed: int = 0
    deleted: int = 0
    seconds: float = 0.0
    skipped_files: list[SkippedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rebuilt: str | None = None
    not_updated: str | None = None  # why the index was left as it is (it is read-only)

    def as_json(self) -> dict[str, object]:
        return {
            "files": self.files,
            "skipped": self.skipped,
            "symbols": self.symbols,
            "chunks": self.chunks,
            "files_changed": self.files_changed,
            "seconds": round(self.seconds, 4),
        }


# -- worker side ------------------------------------------------------------------------------

_PARSERS: dict[str, Parser] = {}


@dataclass(slots=True)
class _Job:
    root: str
    path: str
    language: str
    old_hash: str | None


@dataclass(slots=True)
class _FileRows:
    """A file's rows for every table, as plain tuples (cheap to pickle across processes).

    File ids and chunk ids are left out; the writer prepends them.
    """

    symbols: list[tuple[object, ...]]
    refs: list[tuple[object, ...]]
    imports: list[tuple[object, ...]]
    chunks: list[tuple[object, ...]]
    fts: list[tuple[str, str]]


def _rows_for(facts: FileFacts, text: str) -> _FileRows:
    line_chars = [len(line) + 1 for line in text.split("\n")]
    path_terms = terms_for_text(facts.path)
    chunks: list[tuple[object, ...]] = []
    fts: list[tuple[str, str]] = []
    for c in facts.chunks:
        chars = sum(line_chars[c.start_line - 1 : c.end_line])
        chunks.append((c.start_line, c.end_line, c.kind, c.symbol, chars))
        fts.append((f"{symbol_terms(c.symbol)} {c.terms}", path_terms))
    return _FileRows(
        symbols=[
            (
                d.name,
                d.kind,
                d.scope,
                d.start_line,
                d.end_line,
                d.name_line,
                d.name_col,
                d.signature,
                d.doc,
            )
            for d in facts.definitions
        ],
        refs=[(r.name, r.kind, ",".join(map(str, r.lines))) for r in facts.references],
        imports=[
            (i.module, i.name, i.alias, i.local, i.line, int(i.wildcard), int(i.reexport), None)
            for i in facts.imports
        ],
        chunks=chunks,
        fts=fts,
    )


@dataclass(slots=True)
class _Result:
    path: str
    status: str  # "ok", "same", "skip", "gone"
    reason: str = ""
    language: str = ""
    hash: str = ""
    size: int = 0
    mtime_ns: int = 0
    text: str = ""
    file_row: tuple[object, ...] = ()
    rows: _FileRows | None = None
    warning: str = ""


def _text_chunks(text: str, path: str) -> list[Chunk]:
    """Chunks of a non-code file: markdown sections, otherwise windows of 40 lines."""
    lines = text.split("\n")
    markdown = path.lower().endswith((".md", ".rst"))
    chunks: list[Chunk] = []
    start = 1
    heading = ""
    for i, line in enumerate(lines, start=1):
        new_section = markdown and line.startswith("#") and i > start
        if new_section or i - start >= 40:
            chunks.append(Chunk(start, i - 1, "text", heading))
            start = i
        if markdown and line.startswith("#"):
            heading = line.lstrip("#").strip()[:80]
    if start <= len(lines):
        chunks.append(Chunk(start, len(lines), "text", heading))
    out = []
    for chunk in chunks:
        body = "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        if body.strip():
            chunk.terms = terms_for_text(body)
            out.append(chunk)
    return out


def facts_for_text(
    path: str, language: str, data: bytes, parser: Parser | None = None
) -> FileFacts:
    """Facts of a file's bytes (a source file, or a "text" file with chunks only)."""
    if language == "text":
        text = data.decode("utf-8", "replace")
        facts = FileFacts(path=path, language="text", line_count=text.count("\n") + 1)
        facts.chunks = _text_chunks(text, path)
        return facts
    return extract(path, data, language_spec(language), parser)


def _process(job: _Job) -> _Result:
    # Extraction allocates many short-lived objects and no cycles: the cyclic GC only costs.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _process_file(job)
    finally:
        if gc_was_enabled:
            gc.enable()


def _process_file(job: _Job) -> _Result:
    full = os.path.join(job.root, job.path)
    try:
        st = os.stat(full)
        with open(full, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return _Result(job.path, "gone")
    except OSError as exc:
        return _Result(job.path, "skip", reason=f"unreadable ({exc.strerror or exc})")
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    if digest == job.old_hash:
        return _Result(job.path, "same", hash=digest, size=st.st_size, mtime_ns=st.st_mtime_ns)
    problem = check_content(data)
    if problem is not None:
        return _Result(job.path, "skip", reason=problem)
    warning = ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", "replace")
        warning = (
            f"{job.path}: invalid UTF-8 at byte {exc.start}, indexed with replacement characters"
        )
    parser = None
    if job.language != "text":
        parser = _PARSERS.get(job.language)
        if parser is None:
            parser = _PARSERS[job.language] = parser_for(job.language)
    try:
        facts = facts_for_text(job.path, job.language, data, parser)
    except Exception as exc:  # a grammar bug must not stop the whole index
        return _Result(job.path, "skip", reason=f"parser failed ({type(exc).__name__}: {exc})")
    return _Result(
        job.path,
        "ok",
        language=job.language,
        hash=digest,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        text=text,
        file_row=(facts.line_count, facts.package, facts.parse_errors),
        rows=_rows_for(facts, text),
        warning=warning,
    )


def _watch_parent(parent: int) -> None:
    """In a parser process: exit once the indexing process is gone (killed, say), instead of
    waiting forever for work that will not come."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="repolens-parent-watch", daemon=True).start()


# -- main side --------------------------------------------------------------------------------


def _results(jobs: list[_Job], workers: int) -> Iterator[_Result]:
    if workers <= 1 or len(jobs) < _PARALLEL_THRESHOLD:
        for job in jobs:
            yield _process(job)
        return
    # fork is cheapest and needs no importable __main__, but is unsafe once threads exist
    # (the language server); spawn then.
    method = "fork" if threading.active_count() == 1 else "spawn"
    done = 0
    try:
        ctx = multiprocessing.get_context(method)
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_watch_parent,
            initargs=(os.getpid(),),
        ) as pool:
            for result in pool.map(_process, jobs, chunksize=4):
                done += 1
                yield result
    except (concurrent.futures.process.BrokenProcessPool, OSError, RuntimeError) as exc:
        log.warning("parallel indexing failed (%s); continuing in one process", exc)
        for job in jobs[done:]:
            yield _process(job)


def _delete_file_rows(
    conn: sqlite3.Connection,
    file_ids: Iterable[int],
    keep_fts: Collection[int] = (),
    tables: tuple[str, ...] = ("chunks", "symbols", "refs", "imports"),
) -> tuple[int, int]:
    """Delete the rows of these files in ``tables`` (chunks always), except the full-text rows
    (by chunk id) in ``keep_fts``: those stay for chunks the files' new version has word for
    word. Returns how many symbols and chunks went."""
    ids = [(i,) for i in file_ids]
    if not ids:
        return 0, 0
    doomed = [
        (cid,)
        for file_id in ids
        for (cid,) in conn.execute("SELECT id FROM chunks WHERE file_id = ?", file_id)
        if cid not in keep_fts
    ]
    conn.executemany("DELETE FROM chunks_fts WHERE rowid = ?", doomed)
    gone = {"symbols": 0, "chunks": 0}
    for table in tables:
        gone[table] = conn.executemany(f"DELETE FROM {table} WHERE file_id = ?", ids).rowcount
    return gone["symbols"], gone["chunks"]


_SYMBOL_COLUMNS = "name, kind, scope, start_line, end_line, name_line, name_col, signature, doc"


def _rewrite_rows(
    conn: sqlite3.Connection, file_id: int, rows: _FileRows
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]], int]:
    """A re-indexed file's symbols and references against the rows it had: rows equal to
    an old one stay, rows of the same name (kind, scope) take over an old row's id with an
    UPDATE of the columns no index covers (lines, signature, doc), and only the rest are
    deleted or inserted. Deleting and inserting a row costs its three index entries each
    way; a branch switch moves the lines of most definitions and renames few.

    Imports the same way: one that is still there keeps its resolved target (its line is
    updated), so that an edit that leaves the imports alone resolves nothing.

    Returns the symbols, references and imports to insert (with the file id) and how many
    symbols were deleted."""
    old_symbols: dict[tuple[object, ...], list[int]] = {}
    by_key: dict[tuple[object, ...], list[int]] = {}
    for sid, *row in conn.execute(
        f"SELECT id, {_SYMBOL_COLUMNS} FROM symbols WHERE file_id = ?", (file_id,)
    ):
        old_symbols.setdefault(tuple(row), []).append(sid)
    pending = []
    for row in rows.symbols:
        ids = old_symbols.get(row)
        if ids:
            ids.pop()
        else:
            pending.append(row)
    for row, ids in old_symbols.items():
        for sid in ids:
            by_key.setdefault(row[:3], []).append(sid)
    updates: list[tuple[object, ...]] = []
    inserts: list[tuple[object, ...]] = []
    for row in pending:
        ids = by_key.get(row[:3])
        if ids:
            updates.append((*row[3:], ids.pop()))
        else:
            inserts.append((file_id, *row))
    doomed = [(sid,) for ids in by_key.values() for sid in ids]
    conn.executemany(
        "UPDATE symbols SET start_line = ?, end_line = ?, name_line = ?, name_col = ?,"
        " signature = ?, doc = ? WHERE id = ?",
        updates,
    )
    conn.executemany("DELETE FROM symbols WHERE id = ?", doomed)

    old_refs = {
        (name, kind): (rid, lines)
        for rid, name, kind, lines in conn.execute(
            "SELECT rowid, name, kind, lines FROM refs WHERE file_id = ?", (file_id,)
        )
    }
    ref_updates: list[tuple[object, ...]] = []
    ref_inserts: list[tuple[object, ...]] = []
    for name, kind, lines in rows.refs:
        old = old_refs.pop((name, kind), None)
        if old is None:
            ref_inserts.append((file_id, name, kind, lines))
        elif old[1] != lines:
            ref_updates.append((lines, old[0]))
    conn.executemany("UPDATE refs SET lines = ? WHERE rowid = ?", ref_updates)
    conn.executemany("DELETE FROM refs WHERE rowid = ?", [(rid,) for rid, _ in old_refs.values()])

    old_imports: dict[tuple[object, ...], list[tuple[int, int]]] = {}
    for iid, module, name, alias, local, line, wildcard, reexport in conn.execute(
        "SELECT id, module, name, alias, local, line, wildcard, reexport FROM imports"
        " WHERE file_id = ?",
        (file_id,),
    ):
        key = (module, name, alias, local, wildcard, reexport)
        old_imports.setdefault(key, []).append((iid, line))
    import_updates: list[tuple[object, ...]] = []
    import_inserts: list[tuple[object, ...]] = []
    for row in rows.imports:
        module, name, alias, local, line, wildcard, reexport, _target = row
        kept = old_imports.get((module, name, alias, local, wildcard, reexport))
        if kept:
            iid, old_line = kept.pop()
            if old_line != line:
                import_updates.append((line, iid))
        else:
            import_inserts.append((file_id, *row))
    conn.executemany("UPDATE imports SET line = ? WHERE id = ?", import_updates)
    conn.executemany(
        "DELETE FROM imports WHERE id = ?",
        [(iid,) for kept in old_imports.values() for iid, _ in kept],
    )
    return inserts, ref_inserts, import_inserts, len(doomed)


def _reusable_chunks(
    conn: sqlite3.Connection, file_ids: Iterable[int]
) -> dict[int, dict[tuple[object, ...], list[int]]]:
    """Per file, its chunks' full-text rows by content: (terms, path) -> chunk ids.

    A changed file's new version mostly has the same chunks as the old one, at other lines
    or not; their full-text rows can stay as they are. Deleting a row from FTS5 costs about
    twice what inserting it does (the old text is read back and tokenized again), so a
    re-index that keeps them costs what the changed chunks cost, not what the files do.
    """
    out: dict[int, dict[tuple[object, ...], list[int]]] = {}
    for fid in file_ids:
        by_content: dict[tuple[object, ...], list[int]] = {}
        for rowid, *content in conn.execute(
            "SELECT rowid, terms, path FROM chunks_fts"
            " WHERE rowid IN (SELECT id FROM chunks WHERE file_id = ?)",
            (fid,),
        ):
            by_content.setdefault(tuple(content), []).append(rowid)
        out[fid] = by_content
    return out


# A stored file's row as change detection reads it for every file: (path, size, mtime_ns).
_Stat = tuple[str, int, int]
_SIZE: Final = 1
_MTIME: Final = 2
# What the writer needs of a stored file it replaces or deletes (only those): (id, hash).
_Stored = tuple[int, str]
_ID: Final = 0
_HASH: Final = 1


def _parts(values: list[str], size: int) -> Iterator[list[str]]:
    """``values`` in slices of ``size``: SQLite takes a bounded number of ``?`` per query."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _stored_rows(reader: sqlite3.Connection, paths: list[str]) -> dict[str, _Stored]:
    out: dict[str, _Stored] = {}
    for part in _parts(paths, 500):
        for path, file_id, digest in reader.execute(
            f"SELECT path, id, hash FROM files WHERE path IN ({','.join('?' * len(part))})", part
        ):
            out[path] = (file_id, digest)
    return out


def _write_batch(
    store: Store, batch: list[_Result], stored: dict[str, _Stored], unresolved: set[str]
) -> tuple[int, int]:
    """Write one batch of results in one transaction, with one executemany per table.

    ``stored``: the id and hash of each file in the batch that the index has. A re-indexed
    file keeps its id, and the rows of its symbols and references that did not change (see
    :func:`_rewrite_rows`). The paths of files that got import rows to resolve go into
    ``unresolved``. Returns how the number of symbols and of chunks changed."""
    with store.write() as conn:
        removed = [
            stored[r.path][_ID] for r in batch if r.status in ("skip", "gone") and r.path in stored
        ]
        ok = [r for r in batch if r.status == "ok" and r.rows is not None]
        rewritten = [stored[r.path][_ID] for r in ok if r.path in stored]
        reusable = _reusable_chunks(conn, rewritten)
        # before any delete: a kept full-text row may hold the highest chunk id
        chunk_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM chunks").fetchone()[0]
        # which old rows the new versions take over, chunk by chunk
        taken: dict[tuple[int, int], int] = {}  # (file in ok, its chunk) -> kept chunk id
        for n, r in enumerate(ok):
            by_content = reusable.get(stored[r.path][_ID]) if r.path in stored else None
            if not by_content:
                continue
            assert r.rows is not None
            for k, fts_row in enumerate(r.rows.fts):
                ids = by_content.get(tuple(fts_row))
                if ids:
                    taken[n, k] = ids.pop()
        kept_fts = set(taken.values())
        gone_symbols, gone_chunks = _delete_file_rows(conn, removed)
        if removed:
            conn.executemany("DELETE FROM files WHERE id = ?", [(i,) for i in removed])
        # the rewritten files' chunks go; their symbols, references and imports are diffed
        _, less_chunks = _delete_file_rows(conn, rewritten, keep_fts=kept_fts, tables=("chunks",))
        gone_chunks += less_chunks
        conn.executemany(
            "UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?",
            [(r.size, r.mtime_ns, r.path) for r in batch if r.status == "same"],
        )
        if not ok:
            return -gone_symbols, -gone_chunks
        file_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM files").fetchone()[0]
        new_files: list[tuple[object, ...]] = []
        file_updates: list[tuple[object, ...]] = []
        symbols: list[tuple[object, ...]] = []
        refs: list[tuple[object, ...]] = []
        imports: list[tuple[object, ...]] = []
        chunks: list[tuple[object, ...]] = []
        fts: list[tuple[object, ...]] = []
        for n, r in enumerate(ok):
            rows = r.rows
            assert rows is not None
            if r.path in stored:
                fid = stored[r.path][_ID]
                file_updates.append(
                    (r.language, r.hash, r.size, r.mtime_ns, *r.file_row, r.text, fid)
                )
                new_symbols, new_refs, new_imports, doomed = _rewrite_rows(conn, fid, rows)
                symbols.extend(new_symbols)
                refs.extend(new_refs)
                imports.extend(new_imports)
                gone_symbols += doomed
                if new_imports:
                    unresolved.add(r.path)
            else:
                fid = file_id
                file_id += 1
                new_files.append(
                    (fid, r.path, r.language, r.hash, r.size, r.mtime_ns, *r.file_row, r.text)
                )
                head = (fid,)
                symbols.extend(head + row for row in rows.symbols)
                refs.extend(head + row for row in rows.refs)
                imports.extend(head + row for row in rows.imports)
                unresolved.add(r.path)
            for k, (chunk_row, fts_row) in enumerate(zip(rows.chunks, rows.fts, strict=True)):
                kept = taken.get((n, k))
                if kept is not None:  # its full-text row is there already
                    chunks.append((kept, fid, *chunk_row))
                    continue
                chunks.append((chunk_id, fid, *chunk_row))
                fts.append((chunk_id, *fts_row))
                chunk_id += 1
        conn.executemany(
            "UPDATE files SET language = ?, hash = ?, size = ?, mtime_ns = ?, line_count = ?,"
            " package = ?, parse_errors = ?, content = ? WHERE id = ?",
            file_updates,
        )
        conn.executemany(
            "INSERT INTO files(id, path, language, hash, size, mtime_ns, line_count, package,"
            " parse_errors, content) VALUES (?,?,?,?,?,?,?,?,?,?)",
            new_files,
        )
        conn.executemany(
            f"INSERT INTO symbols(file_id, {_SYMBOL_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            symbols,
        )
        conn.executemany("INSERT INTO refs(file_id, name, kind, lines) VALUES (?,?,?,?)", refs)
        conn.executemany(
            "INSERT INTO imports(file_id, module, name, alias, local, line, wildcard, reexport,"
            " target) VALUES (?,?,?,?,?,?,?,?,?)",
            imports,
        )
        conn.executemany(
            "INSERT INTO chunks(id, file_id, start_line, end_line, kind, symbol, chars)"
            " VALUES (?,?,?,?,?,?,?)",
            chunks,
        )
        conn.executemany("INSERT INTO chunks_fts(rowid, terms, path) VALUES (?,?,?)", fts)
    return len(symbols) - gone_symbols, len(chunks) - gone_chunks


def _repo_files(store: Store, refresh: bool) -> RepoFiles:
    """All indexed paths, cached on the store until files are added or deleted."""
    cached = store.derived.get("repo_files")
    if not isinstance(cached, RepoFiles) or refresh:
        paths = (row[0] for row in store.reader.execute("SELECT path FROM files"))
        cached = RepoFiles(paths, store.root)
        store.derived["repo_files"] = cached  # emptied when another process writes
    return cached


def _mentions(paths: Iterable[str]) -> set[str] | None:
    """The words an import must mention for the arrival or departure of ``paths`` to change
    where it resolves: each file's stem and the names of the directories it is in (a Go
    package, ``mod.rs``, ``index.js``, a namespace package that exists while a file below it
    does). None when any of them is a Python package marker: an ``__init__.py`` changes the
    module name of every file below it, named or not."""
    words: set[str] = set()
    for path in paths:
        *folders, base = path.split("/")
        if base.startswith("__init__."):
            return None
        words.add(base.split(".", 1)[0])
        words.update(folders)
    return {w for w in words if w}


def resolve_imports(
    store: Store,
    only_files: set[str] | None = None,
    files_changed: bool = True,
    mentioning: Collection[str] = (),
) -> int:
    """Fill ``imports.target`` for every import, or only for those of ``only_files`` and
    those whose module or name holds one of the words ``mentioning`` (see :func:`_mentions`)
    or whose target is one of ``only_files``."""
    reader = store.reader
    files = _repo_files(store, refresh=files_changed)
    sql = (
        "SELECT imports.id, files.path, files.language, module, name, alias, local, line,"
        " wildcard, reexport, target FROM imports JOIN files ON files.id = imports.file_id"
    )
    if only_files is None:
        rows = reader.execute(sql).fetchall()
    else:
        found: dict[int, tuple[Any, ...]] = {}
        for part in _parts(sorted(only_files), 500):
            marks = ",".join("?" * len(part))
            # two queries, not one with OR: each one uses its index
            for where in (f"files.path IN ({marks})", f"imports.target IN ({marks})"):
                for row in reader.execute(f"{sql} WHERE {where}", part):
                    found[row[0]] = row
        for part in _parts(sorted(mentioning), 200):
            where = " OR ".join(["instr(module, ?) > 0"] * len(part))
            names = ",".join("?" * len(part))
            for row in reader.execute(
                sql + f" WHERE {where} OR imports.name IN ({names})", part * 2
            ):
                found[row[0]] = row
        rows = list(found.values())
    updates: list[tuple[str | None, int]] = []
    for row in rows:
        (imp_id, path, language, module, name, alias, local, line, wildcard, reexport, old) = row
        spec = language_for_path(path)
        if spec is None or spec.name != language:
            continue
        imp = Import(module, name, alias, line, local, bool(wildcard), bool(reexport))
        try:
            target = resolver_for(spec.resolver).resolve_target(imp, path, files)
        except Exception:  # a resolver bug must not break indexing
            log.exception("resolving %s in %s failed", module, path)
            target = None
        if target != old:
            updates.append((target, imp_id))
    if updates:
        with store.write() as conn:
            conn.executemany("UPDATE imports SET target = ? WHERE id = ?", updates)
    return len(updates)


def index_repository(
    store: Store,
    root: Path,
    options: DiscoveryOptions | None = None,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    only: Iterable[str] | None = None,
) -> IndexSummary:
    """Bring the index of ``root`` up to date with the files on disk.

    ``only`` limits the work to those repository paths (a save, a watched-file event); files
    not listed are neither re-read nor deleted. The run holds the writer lock throughout,
    waiting for another process's run first (``progress`` hears of it). A read-only index is
    left as it is: the summary counts what it holds and says why (``not_updated``).
    """
    root = root.resolve()
    summary = IndexSummary(rebuilt=store.rebuilt_reason)
    if store.read_only is not None:
        started = time.perf_counter()
        summary.not_updated = store.read_only
        files, top = store.reader.execute(
            "SELECT count(*), coalesce(max(id), 0) FROM files"
        ).fetchone()
        _count(store, summary, _kept_counts(store, files, top))
        summary.seconds = time.perf_counter() - started
        return summary
    with store.writing(progress):
        started = time.perf_counter()  # the work, not the wait for another process's
        try:
            _index(store, root, options, progress, workers, only, summary)
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            store.rebuild(f"is corrupt ({exc})")
            summary = IndexSummary(rebuilt=store.rebuilt_reason)
            _index(store, root, options, progress, workers, None, summary)
        summary.seconds = time.perf_counter() - started
    return summary


def _kept_counts(store: Store, files: int, top: int) -> tuple[int, int] | None:
    """The symbol and chunk counts the last writer kept, if they are of these files: their
    number and highest row id. A writer that keeps no counts (an older repolens) gives every
    file it re-indexes a new row id, so what it changed leaves them unmatched."""
    kept = (store.meta("counts") or "").split()
    if len(kept) == 4 and kept[0] == str(files) and kept[3] == str(top):
        return int(kept[1]), int(kept[2])
    return None


def _count(store: Store, summary: IndexSummary, kept: tuple[int, int] | None) -> None:
    """The summary's counts, and keep them for the next run.

    ``kept``: the symbol and chunk counts as this run's writes left them, worked out from the
    counts the last run kept; None when there were none to trust, and then they are counted.
    Counting a large index's symbols and chunks costs a tenth of what a run with nothing to do
    does, and more than a run that re-indexes a single file."""
    reader = store.reader
    files, top = reader.execute("SELECT count(*), coalesce(max(id), 0) FROM files").fetchone()
    if kept is not None:
        symbols, chunks = kept
    else:
        symbols, chunks = reader.execute(
            "SELECT (SELECT count(*) FROM symbols), (SELECT count(*) FROM chunks)"
        ).fetchone()
    counts = f"{files} {symbols} {chunks} {top}"
    if store.read_only is None and store.meta("counts") != counts:
        with store.write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('counts', ?)", (counts,))
    summary.files, summary.symbols, summary.chunks = files, symbols, chunks
    summary.skipped = reader.execute("SELECT count(*) FROM skipped").fetchone()[0]


def _index(
    store: Store,
    root: Path,
    options: DiscoveryOptions | None,
    progress: ProgressCallback | None,
    workers: int | None,
    only: Iterable[str] | None,
    summary: IndexSummary,
) -> None:
    opts = options or DiscoveryOptions()
    reader = store.reader
    marks = [("start", time.perf_counter())]  # where the time goes, for -vv
    # (path, size, mtime_ns): columns of the files_stat index, which answers this without
    # reading the table's rows (each holds a file's content); ids and hashes are read later,
    # for the files that changed only
    existing: dict[str, _Stat] = {
        row[0]: row for row in reader.execute("SELECT path, size, mtime_ns FROM files")
    }
    marks.append(("stored rows", time.perf_counter()))
    (top,) = reader.execute("SELECT coalesce(max(id), 0) FROM files").fetchone()
    base = _kept_counts(store, len(existing), top)
    delta_symbols = delta_chunks = 0
    only_set = {p.replace(os.sep, "/") for p in only} if only is not None else None
    if only_set is not None:
        candidates = _candidates_for(root, only_set, opts, summary)
        deleted = [p for p in only_set if p in existing and p not in {c.path for c in candidates}]
    else:
        # files as stored come back as `unchanged`, the rest as candidates
        found = discover(root, opts, known=existing)
        candidates = found.candidates
        summary.skipped_files.extend(found.skipped)
        seen = set(found.unchanged)
        seen.update(c.path for c in candidates)
        deleted = sorted(existing.keys() - seen)

    marks.append(("discover", time.perf_counter()))
    todo: list[Candidate] = []
    for cand in candidates:
        old = existing.get(cand.path)
        if (
            old is not None
            and old[_SIZE] == cand.size
            and old[_MTIME] == cand.mtime_ns
            and only_set is None
        ):
            continue
        todo.append(cand)
    stored = _stored_rows(reader, [c.path for c in todo if c.path in existing] + deleted)
    jobs = [
        _Job(str(root), c.path, c.language, stored[c.path][_HASH] if c.path in stored else None)
        for c in todo
    ]
    if len(jobs) > 1:
        sizes = {c.path: c.size for c in candidates}
        jobs.sort(key=lambda j: -sizes.get(j.path, 0))  # big files first: no straggler at the end

    total = len(jobs)
    batch: list[_Result] = []
    last_flush = time.perf_counter()
    changed_paths: set[str] = set()
    unresolved: set[str] = set()  # files with import rows whose targets are not resolved yet
    added_paths: list[str] = []
    gone_paths: list[str] = list(deleted)
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    for done, result in enumerate(_results(jobs, n_workers), start=1):
        if result.status == "skip":
            summary.skipped_files.append(SkippedFile(result.path, result.reason))
        if result.warning:
            summary.warnings.append(result.warning)
        if result.status == "ok":
            if result.path in stored:
                summary.changed += 1
            else:
                summary.added += 1
                added_paths.append(result.path)
            changed_paths.add(result.path)
        elif result.status in ("skip", "gone") and result.path in stored:
            summary.deleted += 1
            gone_paths.append(result.path)
            changed_paths.add(result.path)
        batch.append(result)
        if progress is not None:
            progress(done, total, result.path)
        if len(batch) >= _BATCH_FILES or time.perf_counter() - last_flush > _BATCH_SECONDS:
            d_symbols, d_chunks = _write_batch(store, batch, stored, unresolved)
            delta_symbols, delta_chunks = delta_symbols + d_symbols, delta_chunks + d_chunks
            batch.clear()
            last_flush = time.perf_counter()
    if batch:
        d_symbols, d_chunks = _write_batch(store, batch, stored, unresolved)
        delta_symbols, delta_chunks = delta_symbols + d_symbols, delta_chunks + d_chunks
    marks.append(("parse and write", time.perf_counter()))
    if deleted:
        with store.write() as conn:
            ids = [stored[p][_ID] for p in deleted]
            gone_symbols, gone_chunks = _delete_file_rows(conn, ids)
            delta_symbols, delta_chunks = delta_symbols - gone_symbols, delta_chunks - gone_chunks
            conn.executemany("DELETE FROM files WHERE id = ?", [(i,) for i in ids])
        summary.deleted += len(deleted)
        changed_paths.update(deleted)

    with store.write() as conn:
        if only_set is None:
            conn.execute("DELETE FROM skipped")
        else:
            conn.executemany("DELETE FROM skipped WHERE path = ?", [(p,) for p in only_set])
        conn.executemany(
            "INSERT OR REPLACE INTO skipped(path, reason) VALUES (?, ?)",
            [(s.path, s.reason) for s in summary.skipped_files],
        )
        conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('indexed_at', ?)", (str(time.time()),)
        )

    marks.append(("deletes and skips", time.perf_counter()))
    summary.files_changed = summary.added + summary.changed + summary.deleted
    if store.meta("resolver") != RESOLVER_VERSION:
        resolve_imports(store)  # resolved by other rules (an older repolens), or never
        with store.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('resolver', ?)",
                (RESOLVER_VERSION,),
            )
    elif summary.added or summary.deleted:
        # the set of files changed: imports that name an added or deleted file may now resolve
        # differently (all of them, after a package's __init__.py came or went)
        mentions = _mentions(added_paths + gone_paths)
        if mentions is None:
            resolve_imports(store)
        else:
            resolve_imports(store, changed_paths, mentioning=mentions)
    elif unresolved:  # the same files: only imports new to their file need resolving
        resolve_imports(store, unresolved, files_changed=False)
    kept = None if base is None else (base[0] + delta_symbols, base[1] + delta_chunks)
    marks.append(("imports", time.perf_counter()))
    _count(store, summary, kept)
    marks.append(("counts", time.perf_counter()))
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "index run: %s",
            ", ".join(
                f"{name} {1000 * (t - marks[i][1]):.1f} ms" for i, (name, t) in enumerate(marks[1:])
            ),
        )


def _candidates_for(
    root: Path, paths: set[str], opts: DiscoveryOptions, summary: IndexSummary
) -> list[Candidate]:
    """Candidates for an explicit set of paths (editor saves), with the discovery rules."""
    out: list[Candidate] = []
    for rel in sorted(paths):
        kind = file_kind(rel)
        full = root / rel
        if kind is None or not full.is_file():
            continue
        if excluded_dir(rel, opts.excluded_dirs) is not None:
            continue
        try:
            real = full.resolve()
            st = full.stat()
        except OSError as exc:
            summary.skipped_files.append(SkippedFile(rel, f"unreadable ({exc.strerror or exc})"))
            continue
        if not real.is_relative_to(root):
            summary.skipped_files.append(
                SkippedFile(rel, "symlink to a file outside the repository")
            )
            continue
        if st.st_size > opts.max_file_bytes:
            summary.skipped_files.append(
                SkippedFile(rel, f"larger than {opts.max_file_bytes} bytes ({st.st_size})")
            )
            continue
        out.append(Candidate(rel, kind, st.st_size, st.st_mtime_ns))
    return out

"""The index database: one SQLite file per repository, in the user's cache directory.

This module owns the schema. The database is a cache: an old-schema or corrupt file is
deleted and rebuilt with a one-line message on stderr, never a traceback. WAL mode lets the
language server keep reading while a re-index writes through the single writer connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "SCHEMA_VERSION",
    "Store",
    "StoreRebuilt",
    "db_path_for",
    "default_cache_dir",
    "is_corruption",
]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    language TEXT NOT NULL,
    hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    line_count INTEGER NOT NULL,
    package TEXT NOT NULL DEFAULT '',
    parse_errors INTEGER NOT NULL DEFAULT 0,
    content TEXT NOT NULL
);
CREATE TABLE symbols (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    name_line INTEGER NOT NULL,
    name_col INTEGER NOT NULL,
    signature TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX symbols_name ON symbols(name);
CREATE INDEX symbols_file ON symbols(file_id);
CREATE INDEX symbols_scope ON symbols(scope, name);
CREATE TABLE refs (
    file_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    lines TEXT NOT NULL
);
CREATE INDEX refs_name ON refs(name);
CREATE INDEX refs_file ON refs(file_id);
CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL,
    module TEXT NOT NULL,
    name TEXT,
    alias TEXT,
    local TEXT,
    line INTEGER NOT NULL,
    wildcard INTEGER NOT NULL,
    reexport INTEGER NOT NULL,
    target TEXT
);
CREATE INDEX imports_file ON imports(file_id);
CREATE INDEX imports_target ON imports(target);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    kind TEXT NOT NULL,
    symbol TEXT NOT NULL,
    chars INTEGER NOT NULL
);
CREATE INDEX chunks_file ON chunks(file_id);
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    terms, path, tokenize = "unicode61 tokenchars '_'", detail = column
);
CREATE TABLE skipped (path TEXT PRIMARY KEY, reason TEXT NOT NULL);
"""


class StoreRebuilt(Exception):
    """Raised inside a write when the database turned out corrupt and was recreated."""


_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


def is_corruption(exc: BaseException) -> bool:
    """True for errors that mean the file is damaged (not for busy/locked/full disk)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc)
    return "malformed" in text or "not a database" in text


def default_cache_dir() -> Path:
    """``$REPOLENS_CACHE_DIR``, else ``$XDG_CACHE_HOME/repolens``, else ``~/.cache/repolens``."""
    explicit = os.environ.get("REPOLENS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "repolens"


def db_path_for(root: Path, cache_dir: Path | None = None) -> Path:
    """The database file of a repository root: readable name plus a hash of the full path."""
    root = root.resolve()
    digest = hashlib.sha1(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in root.name) or "root"
    return (cache_dir or default_cache_dir()) / f"{name}-{digest}.sqlite3"


class Store:
    """The SQLite file of one repository: a writer connection and one reader per thread."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.root = root.resolve()
        self.rebuilt_reason: str | None = None
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self.generation = 0  # bumped after every committed write, for reader-side caches
        path.parent.mkdir(parents=True, exist_ok=True)
        self._open_or_rebuild()

    # -- lifecycle -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA cache_size = -32000")
        return conn

    def _open_or_rebuild(self) -> None:
        reason = self._check_existing()
        if reason is not None:
            if self.path.exists():
                self.rebuilt_reason = reason
                print(
                    f"repolens: index {self.path} {reason}; rebuilding it",
                    file=sys.stderr,
                )
            self._delete_files()
            self._create()

    def _check_existing(self) -> str | None:
        if not self.path.exists():
            return "missing"
        try:
            conn = self._connect()
            try:
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                root = conn.execute("SELECT value FROM meta WHERE key = 'root'").fetchone()
                conn.execute("SELECT count(*) FROM files").fetchone()
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            return f"is corrupt ({exc})"
        if row is None:
            return "has no schema version"
        if row[0] != str(SCHEMA_VERSION):
            return f"has schema version {row[0]}, this repolens uses {SCHEMA_VERSION}"
        if root is None or root[0] != str(self.root):
            return "belongs to another repository path"
        return None

    def _delete_files(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(str(self.path) + suffix)

    def _create(self) -> None:
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
            conn.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)",
                [
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("root", str(self.root)),
                    ("created", str(time.time())),
                ],
            )
        finally:
            conn.close()

    def rebuild(self, reason: str | None) -> None:
        """Throw the database away and start empty.

        ``reason`` (corruption found mid-use, say) is reported on stderr; None when the user
        asked for the rebuild.
        """
        with self._write_lock:
            self.rebuilt_reason = reason
            if reason is not None:
                print(f"repolens: index {self.path} {reason}; rebuilding it", file=sys.stderr)
            self._delete_files()
            self._create()
            self.generation += 1

    def close(self) -> None:
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        with self._readers_lock:
            for conn in self._readers:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._readers.clear()
        self._local = threading.local()

    # -- connections -----------------------------------------------------------------------

    @property
    def reader(self) -> sqlite3.Connection:
        """This thread's read connection (WAL: sees the last committed state, never blocks)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def reader_data_version(self) -> tuple[int, int]:
        """(which connection, its ``PRAGMA data_version``) for this thread's reader.

        The value moves whenever another connection committed since this one last looked; it
        is per connection: values of two threads' readers are not comparable with each other.
        """
        conn = self.reader
        return id(conn), int(conn.execute("PRAGMA data_version").fetchone()[0])

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on the single writer connection."""
        with self._write_lock:
            if self._writer is None:
                self._writer = self._connect()
                # The index is a cache: a crash costs a rebuild, never user data, so the
                # writer does not wait for fsync.
                self._writer.execute("PRAGMA synchronous = OFF")
                self._writer.execute("PRAGMA wal_autocheckpoint = 20000")
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
                self.generation += 1

    def meta(self, key: str) -> str | None:
        row = self.reader.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

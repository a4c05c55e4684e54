"""The index database: one SQLite file per repository, in the user's cache directory.

This module owns the schema. The database is a cache: an old-schema or corrupt file is
rebuilt with a one-line message on stderr, never a traceback. WAL mode lets readers (the
language server's completion) keep reading the last committed state while a re-index writes.

One writer per index at a time, across processes: every write happens under an exclusive
``flock`` on ``<database>.lock`` (:class:`WriterLock`), held for a whole update or rebuild and
released by the kernel when its owner dies, however it dies. A second writer waits and says for
whom (``waiting for another repolens process indexing this repository (pid N)``); after the wait
an update finds what changed meanwhile (usually nothing) and a rebuild rebuilds. Creating the
schema and rebuilding happen under the lock too, each in one transaction, so a reader sees the
old index or the new one, never a half-made schema. Reads take no lock.

A cache that cannot be written (a read-only file system, no permission) or an odd index path
(a directory) is said in one line on stderr, with a fallback: a valid index is used read-only
(``mode=ro``, no updates); otherwise a temporary index is built in a temporary directory. A
valid index is never deleted: only a file SQLite itself calls corrupt is.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "SCHEMA_VERSION",
    "WAITING",
    "ReadOnlyIndex",
    "Store",
    "StoreRebuilt",
    "WriterLock",
    "db_path_for",
    "default_cache_dir",
    "is_corruption",
]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3

#: What a writer that has to wait for the lock says (on stderr, and to its progress callback).
WAITING = "waiting for another repolens process indexing this repository"

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
CREATE INDEX files_stat ON files(path, size, mtime_ns, id, hash);
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


# Additions to a schema version that an older index of the same version gets, idempotently,
# the first time this repolens writes to it (no rebuild for an index that only lacks these).
_UPGRADES = (
    # change detection reads every file's (path, size, mtime): from this index, a scan of a
    # few pages; from the table, one page per file, since each row holds the file's content
    "CREATE INDEX IF NOT EXISTS files_stat ON files(path, size, mtime_ns, id, hash)",
)


class StoreRebuilt(Exception):
    """Raised inside a write when the database turned out corrupt and was recreated."""


class ReadOnlyIndex(Exception):
    """A write was asked of an index used read-only (:attr:`Store.read_only` says why)."""


_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26

_Progress = Callable[[int, int, str], None]


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


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _uri(path: Path, query: str) -> str:
    return f"file:{urllib.parse.quote(str(path))}?{query}"


# -- the writer lock ------------------------------------------------------------------------

_LOCKS: weakref.WeakSet[WriterLock] = weakref.WeakSet()


class WriterLock:
    """An exclusive ``flock`` on a file beside the database: one writer per index.

    ``flock`` belongs to the open file, so two stores in one process exclude each other as two
    processes do, and the kernel drops it when the owner exits or is killed. The owner writes
    its pid into the file for the waiters' message. The file is never deleted (deleting a lock
    file races with the next process opening it). A forked child (a parser process) closes its
    copy of the descriptor at once, so a killed writer's orphaned children cannot keep the lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1
        _LOCKS.add(self)

    def open(self) -> int:
        """The lock file's descriptor (created if need be); raises OSError when it cannot be."""
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        return self._fd

    def try_acquire(self) -> bool:
        try:
            fcntl.flock(self.open(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._mark()
        return True

    def acquire(self) -> None:
        fcntl.flock(self.open(), fcntl.LOCK_EX)
        self._mark()

    def release(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def holder(self) -> int | None:
        """The pid the current owner wrote (None when unknown)."""
        try:
            text = os.pread(self.open(), 32, 0).decode("ascii", "replace").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1

    def _mark(self) -> None:
        with contextlib.suppress(OSError):  # the pid only makes the waiters' message better
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def _forget(self) -> None:
        """In a forked child: drop the copy without unlocking (the parent still owns it)."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1


def _after_fork_in_child() -> None:
    for lock in list(_LOCKS):
        lock._forget()


os.register_at_fork(after_in_child=_after_fork_in_child)


class _Unusable(Exception):
    """The index file exists but cannot be used (nor safely replaced) here."""


# -- the store ------------------------------------------------------------------------------


class Store:
    """The SQLite file of one repository: a writer connection and one reader per thread.

    ``read_only`` is why the index cannot be written (None when it can): it is then read as it
    is and updates are skipped. ``temporary_dir`` is set when the index lives in a temporary
    directory instead of ``path``'s (the cache could not hold a usable index).
    """

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.root = root.resolve()
        self.rebuilt_reason: str | None = None
        self.read_only: str | None = None
        self.temporary_dir: Path | None = None
        #: What writers derive from the database and keep between updates (build's list of
        #: indexed paths); emptied when another process wrote in between.
        self.derived: dict[str, object] = {}
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._writer_seen: int | None = None  # the writer's data_version when last released
        self._uri: str | None = None  # set when connections open the file read-only
        self._lock = WriterLock(path.with_name(path.name + ".lock"))
        self._held = 0  # depth of the writer lock held by the thread holding _write_lock
        self._file: tuple[int, int] | None = None  # (device, inode) of the file opened
        self.generation = 0  # bumped after every committed write, for reader-side caches
        self._open()

    # -- lifecycle -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._uri is not None:
            conn = sqlite3.connect(
                self._uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False
            )
        else:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA cache_size = -32000")
        return conn

    def _open(self) -> None:
        problem = self._cannot_write_here()
        if problem is not None:
            if self._usable_read_only():
                self.read_only = problem
                print(
                    f"repolens: index {self.path} {problem}; using it read-only: it is not updated",
                    file=sys.stderr,
                )
                return
            self._use_temporary(problem)
        try:
            self._open_or_create()
        except (OSError, _Unusable, sqlite3.OperationalError) as exc:
            if self.temporary_dir is not None or (
                isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
            ):
                raise
            self._close_connections()
            why = str(exc) if isinstance(exc, _Unusable) else f"cannot be written ({exc})"
            self._use_temporary(why)
            self._open_or_create()

    def _cannot_write_here(self) -> str | None:
        """Why an index cannot be kept at ``path`` (None when it can)."""
        if self.path.is_dir():
            return "is a directory, not a file"
        if self.path.exists() and not self.path.is_file():
            return "is not a regular file"
        parent = self.path.parent
        if not parent.is_dir():
            for ancestor in (parent, *parent.parents):
                if ancestor.exists() and not ancestor.is_dir():
                    return f"cannot be created: {ancestor} is not a directory"
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                return f"cannot be created in {parent} ({_why(exc)})"
        try:
            self._lock.open()
        except OSError as exc:
            return f"cannot be written ({_why(exc)})"
        if self.path.exists() and not os.access(self.path, os.W_OK):
            return "cannot be written (Permission denied)"
        return None

    def _usable_read_only(self) -> bool:
        """Whether ``path`` holds a valid index, opened read-only (``_uri`` is then set)."""
        if not self.path.is_file():
            return False
        # mode=ro needs the WAL's -shm file to exist or be creatable; immutable=1 does not
        # (it reads the last checkpointed state, which is consistent).
        for query in ("mode=ro", "mode=ro&immutable=1"):
            self._uri = _uri(self.path, query)
            if self._check_existing(writable=False)[0] == "ok":
                return True
        self._uri = None
        return False

    def _use_temporary(self, problem: str) -> None:
        directory = Path(tempfile.mkdtemp(prefix="repolens-index-"))
        atexit.register(shutil.rmtree, directory, True)
        original = self.path
        self.path = directory / original.name
        self._lock.close()
        self._lock = WriterLock(self.path.with_name(self.path.name + ".lock"))
        self._lock.open()
        self.temporary_dir = directory
        print(
            f"repolens: index {original} {problem}; using a temporary index in {directory} "
            "(removed on exit)",
            file=sys.stderr,
        )

    def _open_or_create(self) -> None:
        def valid() -> bool:
            return self._check_existing(writable=False)[0] == "ok"

        # An invalid file is created or repaired by whoever holds the lock. When another
        # process does, it is usually creating the schema, which takes milliseconds: poll until
        # the file is valid or the lock is free, and take the lock only in the second case.
        if not valid() and self._acquire(until=valid):
            try:
                status, reason = self._check_existing(writable=True)
                if status != "ok":
                    self._reset(status, reason)
            finally:
                self._release()
        self._file = _file_id(self.path)

    def _check_existing(self, writable: bool) -> tuple[str, str]:
        """(status, reason): ``ok``, ``missing``, ``schema`` (a database holding something
        else), ``corrupt`` (SQLite says so) or ``unreadable`` (it cannot be opened here).

        Without ``writable`` the file is opened read-only, which never creates it: a check that
        races with another process creating the index sees it missing or incomplete, and only
        the owner of the writer lock acts on that.
        """
        if not self.path.exists():
            return "missing", "missing"
        try:
            if writable:
                conn = sqlite3.connect(self.path, timeout=30)
            else:
                conn = sqlite3.connect(
                    self._uri or _uri(self.path, "mode=ro"), uri=True, timeout=30
                )
            try:
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                root = conn.execute("SELECT value FROM meta WHERE key = 'root'").fetchone()
                conn.execute("SELECT count(*) FROM files").fetchone()
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            if is_corruption(exc):
                return "corrupt", f"is corrupt ({exc})"
            if "no such table" in str(exc):
                return "schema", "has no index tables"
            return "unreadable", f"cannot be read ({exc})"
        if row is None:
            return "schema", "has no schema version"
        if row[0] != str(SCHEMA_VERSION):
            return "schema", f"has schema version {row[0]}, this repolens uses {SCHEMA_VERSION}"
        if root is None or root[0] != str(self.root):
            return "schema", "belongs to another repository path"
        return "ok", ""

    def _reset(self, status: str, reason: str) -> None:
        """Make the file a valid, empty index (the writer lock is held)."""
        if status == "unreadable":
            raise _Unusable(reason)
        if status != "missing":
            self.rebuilt_reason = reason
            print(f"repolens: index {self.path} {reason}; rebuilding it", file=sys.stderr)
        if status == "corrupt":
            self._delete_files()
        if status in ("corrupt", "missing"):
            self._create()
        else:
            self._recreate()

    def _delete_files(self) -> None:
        self._close_connections()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(str(self.path) + suffix)

    def _create(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            self._install_schema(conn, drop=False)
        finally:
            conn.close()

    def _recreate(self) -> None:
        """Empty a valid database in place, in one transaction: other processes' connections
        stay valid and see the old index or the new empty one."""
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            self._install_schema(conn, drop=True)
        except sqlite3.DatabaseError as exc:
            if not (is_corruption(exc) or "no such module" in str(exc)):
                raise
            conn.close()
            self._delete_files()
            self._create()
        finally:
            conn.close()

    def _install_schema(self, conn: sqlite3.Connection, drop: bool) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if drop:
                virtual = conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND sql LIKE 'CREATE VIRTUAL TABLE%'"
                ).fetchall()
                for (name,) in virtual:  # first: this drops their shadow tables too
                    conn.execute(f'DROP TABLE IF EXISTS "{name.replace(chr(34), chr(34) * 2)}"')
                rest = conn.execute(
                    "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view')"
                    " AND name NOT LIKE 'sqlite_%'"
                ).fetchall()
                for kind, name in rest:
                    conn.execute(
                        f'DROP {kind.upper()} IF EXISTS "{name.replace(chr(34), chr(34) * 2)}"'
                    )
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)",
                [
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("root", str(self.root)),
                    ("created", str(time.time())),
                ],
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def rebuild(self, reason: str | None, *, wait: bool = True) -> bool:
        """Throw the index away and start empty; False when it did not.

        ``reason`` (corruption found mid-use, say) is reported on stderr and the file is
        deleted and recreated, unless another process replaced it meanwhile (then this store
        just reopens the new one); None when the user asked for the rebuild, which empties the
        file in one transaction. Without ``wait`` nothing happens while another writer holds
        the lock (a completion's read must not wait for a re-index); a read-only index is never
        rebuilt.
        """
        if self.read_only is not None:
            return False
        opened = self._file
        if not self._acquire(wait=wait):
            return False
        try:
            if reason is not None and self._file != opened:
                return True  # another process already replaced the file; we reopened it
            if reason is not None:
                self.rebuilt_reason = reason
                print(f"repolens: index {self.path} {reason}; rebuilding it", file=sys.stderr)
                self._delete_files()
                self._create()
            else:
                self._recreate()
            self._file = _file_id(self.path)
            self.derived.clear()
            self.generation += 1
            return True
        finally:
            self._release()

    def _close_connections(self) -> None:
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
                self._writer_seen = None
        with self._readers_lock:
            for conn in self._readers:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._readers.clear()
        self._local = threading.local()

    def close(self) -> None:
        with self._write_lock:
            self._close_connections()
            if self._held == 0:
                self._lock.close()  # reopened if this store writes again

    # -- the writer lock -------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self, progress: _Progress | None = None) -> Iterator[None]:
        """Hold the writer lock (waiting for another process's update, and saying so through
        ``progress(0, 0, message)`` and a line on stderr); reentrant."""
        if self.read_only is not None:
            raise ReadOnlyIndex(self.read_only)
        self._acquire(progress=progress)
        try:
            yield
        finally:
            self._release()

    def _acquire(
        self,
        *,
        wait: bool = True,
        progress: _Progress | None = None,
        until: Callable[[], bool] | None = None,
    ) -> bool:
        """Take the writer lock. ``until``: instead of blocking, poll until it says the lock is
        no longer needed (False is then returned)."""
        if not self._write_lock.acquire(blocking=wait):
            return False
        if self._held:
            self._held += 1
            return True
        try:
            got = self._lock.try_acquire()
            if not got and wait:
                got = self._wait(progress, until)
        except BaseException:
            self._write_lock.release()
            raise
        if not got:
            self._write_lock.release()
            return False
        self._held = 1
        try:
            self._acquired()
        except BaseException:
            self._release()
            raise
        return True

    def _wait(self, progress: _Progress | None, until: Callable[[], bool] | None) -> bool:
        if until is None:
            self._say_waiting(progress)
            self._lock.acquire()
            return True
        started = time.monotonic()
        said = False
        delay = 0.005
        while True:
            if until():
                return False
            if self._lock.try_acquire():
                return True
            if not said and time.monotonic() - started > 1.0:
                self._say_waiting(progress)
                said = True
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def _say_waiting(self, progress: _Progress | None) -> None:
        pid = self._lock.holder()
        message = WAITING + (f" (pid {pid})" if pid else "")
        print(f"repolens: {message}", file=sys.stderr)
        if progress is not None:
            progress(0, 0, message)

    def _acquired(self) -> None:
        """Just got the lock: catch up with what other processes did since this one wrote."""
        if self._file is not None and _file_id(self.path) != self._file:
            # Replaced (a corrupt file rebuilt elsewhere) or deleted: our connections read a
            # file that is gone.
            self._close_connections()
            status, reason = self._check_existing(writable=True)
            if status != "ok":
                self._reset(status, reason)
            self._file = _file_id(self.path)
            self.derived.clear()
            self.generation += 1
        elif self._writer is None or self._writer_data_version() != self._writer_seen:
            self.derived.clear()

    def _writer_data_version(self) -> int | None:
        if self._writer is None:
            return None
        return int(self._writer.execute("PRAGMA data_version").fetchone()[0])

    def _release(self) -> None:
        try:
            if self._held == 1:
                with contextlib.suppress(sqlite3.Error):
                    self._writer_seen = self._writer_data_version()
                self._lock.release()
        finally:
            self._held -= 1
            self._write_lock.release()

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
        """A write transaction on the single writer connection, under the writer lock (taken
        here unless the caller holds it already, as an update does for its whole run)."""
        with self.writing():
            if self._writer is None:
                self._writer = self._connect()
                # The index is a cache: a crash costs a rebuild, never user data, so the
                # writer does not wait for fsync.
                self._writer.execute("PRAGMA synchronous = OFF")
                self._writer.execute("PRAGMA wal_autocheckpoint = 20000")
                for statement in _UPGRADES:
                    self._writer.execute(statement)
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

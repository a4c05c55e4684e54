"""The memo of index answers: cached until the database changes or an overlay changes what
they read.

Completion asks the same questions (resolve this name, the members of that class) thousands of
times a keystroke; the memo answers them without SQL. An answer records which files it read
(:meth:`Memo.touch`, nested answers passing theirs up), so an unsaved edit of one file forgets
only the answers that read it (:meth:`Memo.forget`), plus those that read "everything" (look-ups
by name across the repository, :attr:`Memo.EVERYTHING`) and those about its directory (Go/Rust
members, ``"dir:" + dirname``). A commit forgets everything: one of this process at once (the
store's generation), another process's within :data:`RECHECK_S` (``PRAGMA data_version``).
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable, Iterator
from time import monotonic
from typing import Any, Protocol

__all__ = ["Memo", "VersionSource"]

Key = tuple[Any, ...]

#: How often (seconds) the memo asks the database whether another connection committed.
RECHECK_S = 0.05
#: A memo holding more answers than this starts over (it lives as long as the index).
MAX_ENTRIES = 50_000


class VersionSource(Protocol):
    """Where the memo learns that the database changed (:class:`~.store.Store` is one)."""

    @property
    def generation(self) -> int:
        """Bumped by every write this process commits (and by a rebuild)."""
        ...

    def reader_data_version(self) -> tuple[int, int]:
        """(this thread's reader connection, its ``PRAGMA data_version``)."""
        ...


class Memo:
    """Answers by key, with the files each read, for one index."""

    EVERYTHING = "*"

    def __init__(self, source: VersionSource) -> None:
        self._source = source
        self._values: dict[Key, Any] = {}
        self._deps: dict[Key, frozenset[str]] = {}
        self._by_path: dict[str, set[Key]] = {}
        self._lock = threading.Lock()
        self._frames = threading.local()
        self._version: tuple[int, int] = (-1, -1)
        self._seen_data_versions: dict[int, int] = {}  # reader connection -> data_version
        self._data_changes = 0
        self._checked = 0.0

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[Key]:
        """The keys held now (a snapshot: safe while other threads add answers)."""
        return iter(list(self._values))

    def touch(self, *deps: str) -> None:
        """Record that the answer being computed read ``deps`` (paths, ``dir:...``, ``*``)."""
        frames: list[set[str]] | None = getattr(self._frames, "stack", None)
        if frames:
            frames[-1].update(deps)

    def forget(self, path: str) -> None:
        """Drop the answers that read ``path``, its directory, or everything."""
        with self._lock:
            keys: set[Key] = set()
            for dep in (path, self.EVERYTHING, "dir:" + posixpath.dirname(path)):
                keys |= self._by_path.pop(dep, set())
            for key in keys:
                self._values.pop(key, None)
                self._deps.pop(key, None)

    def forget_all(self) -> None:
        with self._lock:
            self._values = {}
            self._deps = {}
            self._by_path = {}

    def memoized(self, key: Key, compute: Callable[..., Any], *args: Any) -> Any:
        """The answer for ``key``: ``compute(*args)`` on a miss, its reads recorded.

        The database's version is checked at most every :data:`RECHECK_S` (a PRAGMA per call
        would cost more than most answers), so another process's write is seen within that time.
        """
        now = monotonic()
        held = self._version  # (generation, data version) the answers held are of
        if now - self._checked > RECHECK_S:
            data_version = self.data_version()[1]
            self._checked = now
        else:
            data_version = held[1]
        generation = self._source.generation
        if generation != held[0] or data_version != held[1] or len(self._values) > MAX_ENTRIES:
            self.forget_all()
            self._version = (generation, data_version)
        try:
            frames: list[set[str]] = self._frames.stack
        except AttributeError:  # this thread's first question
            frames = self._frames.stack = []
        try:
            value = self._values[key]
        except KeyError:
            pass
        else:
            if frames:
                frames[-1].update(self._deps.get(key, ()))
            return value
        frames.append(set())
        try:
            value = compute(*args)
        finally:
            deps = frames.pop()
        with self._lock:
            self._values[key] = value
            self._deps[key] = frozenset(deps)
            for dep in deps:
                self._by_path.setdefault(dep, set()).add(key)
        if frames:
            frames[-1].update(deps)
        return value

    def data_version(self) -> tuple[int, int]:
        """(generation, a counter that moves whenever the database changed), comparable
        across threads.

        ``PRAGMA data_version`` is per connection: two threads' reader connections give
        different numbers for the same state, so comparing them directly made every request
        that landed on the other worker thread look like a database change and threw the memo
        away (and with it most of the time budget of a keystroke). Each connection is compared
        with its own last value instead; a connection seen for the first time counts as a
        change, since it cannot tell what happened before it was opened.
        """
        conn, value = self._source.reader_data_version()
        with self._lock:
            if self._seen_data_versions.get(conn) != value:
                self._seen_data_versions[conn] = value
                self._data_changes += 1
            return (self._source.generation, self._data_changes)

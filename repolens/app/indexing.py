"""Indexing one repository: the one driver every front door runs, with progress events.

The language server (``$/progress``), ``repolens serve`` (``/v1/status``) and ``repolens index``
(a progress bar) all bring an index up to date through :meth:`Indexing.run`. It keeps the state
their status reports show, serializes runs in this process, and tells the parts that keep
derived state (Q&A's vectors) when the index changed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..indexer import IndexSummary
    from ..workspace import Workspace

__all__ = ["IndexProgress", "IndexState", "Indexing"]


@dataclass(frozen=True, slots=True)
class IndexProgress:
    """One progress event: ``done`` of ``total`` files parsed, the last one ``path``."""

    done: int
    total: int
    path: str

    @property
    def percentage(self) -> int | None:
        return int(self.done * 100 / self.total) if self.total else None


@dataclass
class IndexState:
    """What a status report says about the index of one repository."""

    running: bool = False
    indexed: bool = False  # a full update finished in this process
    done: int = 0
    total: int = 0
    summary: dict[str, Any] | None = None
    error: str | None = None
    finished_at: float | None = None  # wall clock

    def snapshot(self) -> IndexState:
        """A copy that stays as it is while indexing goes on. Take it *before* reading the
        index: a status that read the index and then the state could say "indexed" next to the
        file counts of a half-written index."""
        return replace(self)

    def as_json(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "indexed": self.indexed,
            "done": self.done,
            "total": self.total,
            "error": self.error,
            "summary": self.summary,
            "finished_at": self.finished_at,
        }


class Indexing:
    """Runs the updates of one workspace's index (blocking: call it off the event loop)."""

    def __init__(self, workspace: Workspace, changed: Callable[[], None]) -> None:
        self.workspace = workspace
        self.state = IndexState()
        self._changed = changed
        self._lock = threading.Lock()  # one writer per index in this process

    def run(
        self,
        *,
        rebuild: bool = False,
        workers: int | None = None,
        progress: Callable[[IndexProgress], None] | None = None,
    ) -> IndexSummary:
        """Bring the whole index up to date (or rebuild it); raises what the indexer raised."""
        state = self.state

        def on_progress(done: int, total: int, path: str) -> None:
            state.done, state.total = done, total
            if progress is not None:
                progress(IndexProgress(done, total, path))

        with self._lock:
            state.running = True
            state.error = None
            state.done = state.total = 0
            try:
                index = self.workspace.index
                if rebuild:
                    summary = index.rebuild(progress=on_progress, workers=workers)
                else:
                    summary = index.update(progress=on_progress, workers=workers)
            except Exception as exc:
                state.error = str(exc) or type(exc).__name__
                raise
            finally:
                state.running = False
                state.finished_at = time.time()
            state.indexed = True
            state.summary = summary.as_json()
        self._changed()
        return summary

    def update_paths(self, paths: Iterable[str]) -> IndexSummary:
        """Re-index just ``paths`` (saved, or changed on disk); the state is left alone."""
        with self._lock:
            summary = self.workspace.index.update(only=sorted(paths))
        if summary.files_changed:
            self._changed()
        return summary

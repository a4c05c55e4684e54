"""Pacing completion requests: one in flight per document, a debounce before the work.

A newer completion request for the same document supersedes the older one: the older task is
cancelled wherever it is (sleeping in the debounce, waiting for the context thread, streaming
from the model — which closes the model's HTTP stream or aborts llama.cpp) and answers with
nothing. ``$/cancelRequest`` cancels the task the same way (pygls cancels the request's
asyncio task) and the client gets ``RequestCancelled``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ..backends.base import CancelToken

__all__ = ["CompletionSlot", "DocumentPacer"]


@dataclass
class CompletionSlot:
    """One completion request in flight."""

    key: str
    task: asyncio.Task[object] | None
    cancel: CancelToken = field(default_factory=CancelToken)
    superseded: bool = False


class DocumentPacer:
    """The latest completion request per document."""

    def __init__(self) -> None:
        self._current: dict[str, CompletionSlot] = {}

    def start(self, key: str) -> CompletionSlot:
        """Register the running task as the latest request for ``key``; supersede the last."""
        previous = self._current.get(key)
        slot = CompletionSlot(key, asyncio.current_task())
        self._current[key] = slot
        if previous is not None:
            previous.superseded = True
            previous.cancel.cancel()
            if previous.task is not None and not previous.task.done():
                previous.task.cancel()
        return slot

    def finish(self, slot: CompletionSlot) -> None:
        if self._current.get(slot.key) is slot:
            del self._current[slot.key]

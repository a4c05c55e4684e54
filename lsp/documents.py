"""The open buffers: the one copy of each document repolens uses, with LSP line ends and the
negotiated position encoding."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from .positions import line_starts, offset_at

if TYPE_CHECKING:
    from .folders import Folder

__all__ = ["Document", "Documents"]


@dataclass
class Document:
    """An open buffer."""

    uri: str
    text: str
    version: int | None = None
    language_id: str = ""
    path: Path | None = None  # None for non-file URIs
    folder: Folder | None = None  # None when outside every workspace folder
    rel: str | None = None
    dirty: bool = True  # the overlay is older than the text
    oversized: bool = False  # larger than index.max_file_bytes: no overlay, no completion
    _starts: list[int] | None = field(default=None, repr=False)

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = line_starts(self.text)
        return self._starts

    def line(self, number: int) -> str:
        """Line ``number`` (0-based) without its line end ("" past the end)."""
        starts = self.starts
        if number < 0 or number >= len(starts):
            return ""
        end = starts[number + 1] if number + 1 < len(starts) else len(self.text)
        return self.text[starts[number] : end].rstrip("\r\n")

    def apply(self, change: types.TextDocumentContentChangeEvent, encoding: str) -> None:
        if isinstance(change, types.TextDocumentContentChangePartial):
            r = change.range
            starts = self.starts
            begin = offset_at(self.text, starts, r.start.line, r.start.character, encoding)
            end = offset_at(self.text, starts, r.end.line, r.end.character, encoding)
            if end < begin:
                begin, end = end, begin
            self.text = self.text[:begin] + change.text + self.text[end:]
        else:
            self.text = change.text
        self._starts = None
        self.dirty = True


class Documents:
    """Open buffers by URI."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}
        self._idle: dict[str, asyncio.TimerHandle] = {}
        #: Overlay updates taken from these buffers (marked clean) and still being applied to
        #: the index in a thread: a reader must wait for them, not just for dirty buffers.
        self.applying: set[asyncio.Future[None]] = set()

    def __len__(self) -> int:
        return len(self._docs)

    def get(self, uri: str) -> Document | None:
        return self._docs.get(uri)

    def put(self, doc: Document) -> None:
        self._docs[doc.uri] = doc

    def pop(self, uri: str) -> Document | None:
        timer = self._idle.pop(uri, None)
        if timer is not None:
            timer.cancel()
        return self._docs.pop(uri, None)

    def in_folder(self, folder: Folder) -> list[Document]:
        return [d for d in self._docs.values() if d.folder is folder]

    def all(self) -> list[Document]:
        return list(self._docs.values())

    def set_idle_timer(self, uri: str, timer: asyncio.TimerHandle) -> None:
        """Replace the idle timer of ``uri`` (the previous one is cancelled)."""
        previous = self._idle.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self._idle[uri] = timer

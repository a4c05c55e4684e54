"""``textDocument/inlineCompletion`` (LSP 3.18): the ghost text editors show as you type.

The handler converts the LSP position (code units of the negotiated encoding) to 1-based line
and character column, and asks :meth:`repolens.app.CompletionService.suggest`, which owns the
use case (gating, model health, pacing per document, context off the event loop, the model
call, timings). :func:`suggest` is shared with the ``textDocument/completion`` fallback and
adds what only the language server knows:

1. the document's folder (a file outside every workspace folder gets nothing, and is not read);
2. the buffer: an open document's text, or the cursor's line of the file on disk;
3. the index overlays of the other open buffers, brought up to date before the context;
4. what the user hears: a model that is down gives one ``window/showMessage`` and empty
   answers (retried after a pause), never an error per keystroke. A model process that dies
   during a request (a native crash in llama.cpp) costs that one suggestion: one message, and
   the next keystroke is served by the restarted process.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from ..app import CompletionRequest
from ..backends import ModelCrashed, ModelError, ModelUnavailable
from .positions import normalize_newlines, to_character, to_column, word_start
from .server import Folder, RepolensServer
from .sync import flush_overlays

__all__ = ["Suggestion", "register", "suggest"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """What the model suggests at a position, in the client's units."""

    text: str
    position: types.Position
    word_start: types.Position  # start of the identifier being typed (for completion items)
    word: str  # that identifier's typed part


def _line_and_text(ls: RepolensServer, uri: str, line: int, limit: int) -> tuple[str, str] | None:
    """(the cursor's line, the whole buffer) of an open document, or None when too big."""
    doc = ls.documents.get(uri)
    if doc is None:
        return None
    if len(doc.text) > limit:
        log.info("%s is larger than index.max_file_bytes (%d): no completion", uri, limit)
        return None
    return doc.line(line), normalize_newlines(doc.text)


def _disk_line(path: str, line: int, limit: int) -> tuple[str, None] | None:
    """The cursor's line of a file that is not open (inside the folder: checked by the caller)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError:
        return None
    if len(data) > limit:
        return None
    lines = normalize_newlines(data.decode("utf-8", "replace")).split("\n")
    return (lines[line] if 0 <= line < len(lines) else ""), None


async def suggest(
    ls: RepolensServer, uri: str, position: types.Position, *, invoked: bool
) -> Suggestion | None:
    """The model's suggestion at ``position`` of ``uri``, or None (nothing, or not allowed)."""
    started = time.perf_counter()
    found = ls.folders.for_uri(uri)
    if found is None:
        log.debug("no completion for %s: outside every workspace folder", uri)
        return None
    folder, rel = found
    service = folder.services.completions
    limit = folder.settings.index.max_file_bytes
    buffer: tuple[str, str | None] | None
    if ls.documents.get(uri) is not None:
        buffer = _line_and_text(ls, uri, position.line, limit)
    else:
        buffer = _disk_line(str(folder.root / rel), position.line, limit)
    if buffer is None:
        return None
    line_text, text = buffer
    encoding = ls.position_encoding
    column = to_column(line_text, position.character, encoding)
    request = CompletionRequest(rel, position.line + 1, column + 1, text=text, invoked=invoked)
    outcome = await service.suggest(
        request,
        pace_key=uri,
        prepare=lambda: flush_overlays(ls, folder, skip=uri),  # this buffer's text goes in directly
        started=started,
    )
    if outcome.recovered:
        ls.model_back(folder)
    if outcome.result is None:
        _explain(ls, folder, rel, position, outcome)
        return None
    folder.last_completion = (uri, position.line + 1, column + 1)
    log.debug("completion %s:%d %s", rel, position.line + 1, outcome.timings)
    if not outcome.text:
        return None
    start_col = word_start(line_text[:column])
    return Suggestion(
        text=outcome.text,
        position=position,
        word_start=types.Position(position.line, to_character(line_text, start_col, encoding)),
        word=line_text[start_col:column],
    )


def _explain(
    ls: RepolensServer, folder: Folder, rel: str, position: types.Position, outcome: Any
) -> None:
    """Why there is no suggestion: one message per model outage, the rest to the log."""
    exc = outcome.error
    if exc is None:
        log.debug("no completion at %s:%d: %s", rel, position.line + 1, outcome.skipped)
    elif isinstance(exc, (ModelCrashed, ModelUnavailable)):
        if outcome.outage_started:
            ls.model_outage(folder, exc)
        else:
            log.info("model still unavailable: %s", exc)
    elif isinstance(exc, ModelError):  # this answer failed (busy, timed out, a bad response)
        log.warning("no completion at %s:%d: %s", rel, position.line + 1, exc)
    else:  # a position past the end, an unsupported file, ...
        log.info("no completion at %s:%d: %s", rel, position.line + 1, exc)


def register(server: RepolensServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: RepolensServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        found = await suggest(ls, params.text_document.uri, params.position, invoked=invoked)
        if found is None:
            return types.InlineCompletionList(items=[])
        here = types.Range(start=params.position, end=params.position)
        return types.InlineCompletionList(
            items=[types.InlineCompletionItem(insert_text=found.text, range=here)]
        )

"""``textDocument/inlineCompletion`` (LSP 3.18): the ghost text editors show as you type.

The handler converts the LSP position (code units of the negotiated encoding) to the engine's
1-based line and character column, hands the open buffer's text to the completion engine and
returns its suggestion as one item inserted at the cursor. :func:`suggest` is shared with the
``textDocument/completion`` fallback:

1. the document's folder (a file outside every workspace folder gets nothing, and is not read);
2. pacing: a newer request for the same document supersedes this one; automatic requests wait
   ``completion.debounce_ms`` first (explicit ones do not);
3. context building (retrieval, prompt) in a worker thread, off the event loop;
4. the model call, async: cancelling the request closes the model's stream.

A model that is down gives one ``window/showMessage`` and empty answers (retried after a pause),
never an error per keystroke. A model process that dies during a request (a native crash in
llama.cpp) costs that one suggestion: one message, and the next keystroke is served by the
restarted process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types

from ..backends import ModelCrashed, ModelError, ModelUnavailable
from ..errors import RepolensError
from ..indexer import language_for_path
from .positions import normalize_newlines, to_character, to_column, word_start
from .server import Folder, RepolensServer
from .sync import flush_overlays

if TYPE_CHECKING:
    from ..completion.engine import CompletionEngine, ContextResult

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


def _context(
    folder: Folder, rel: str, line: int, column: int, text: str | None
) -> tuple[CompletionEngine, ContextResult]:
    """The engine (loaded or contacted on first use) and the context: one worker-thread hop.

    A model that cannot be set up (wrong key, bad GGUF, no server) counts as unavailable."""
    try:
        engine = folder.engine()
    except ModelError as exc:
        if isinstance(exc, ModelUnavailable):
            raise
        raise ModelUnavailable(str(exc)) from exc
    return engine, engine.context(rel, line, column, text=text)


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
    settings = folder.settings
    spec = language_for_path(rel)
    if (
        not settings.completion.enabled
        or spec is None
        or spec.name in settings.completion.disabled_languages
    ):
        return None
    limit = settings.index.max_file_bytes
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
    if ls.model_paused(folder):
        return None

    slot = ls.pacer.start(uri)
    prepared = time.perf_counter()
    try:
        if not invoked and settings.completion.debounce_ms:
            await asyncio.sleep(settings.completion.debounce_ms / 1000)
        t0 = time.perf_counter()
        await flush_overlays(ls, folder, skip=uri)  # this buffer's text goes in directly
        t1 = time.perf_counter()
        engine, context = await ls.run_cpu(
            _context, folder, rel, position.line + 1, column + 1, text
        )
        t2 = time.perf_counter()
        result = await engine.acomplete(
            rel, position.line + 1, column + 1, text=text, cancel=slot.cancel, context=context
        )
        t3 = time.perf_counter()
    except asyncio.CancelledError:
        slot.cancel.cancel()
        if slot.superseded:
            log.debug("completion for %s superseded by a newer request", uri)
            return None
        raise
    except (ModelCrashed, ModelUnavailable) as exc:  # down, not loadable, or died answering
        ls.model_trouble(folder, exc)  # one message; a pause unless it is restarting at once
        return None
    except ModelError as exc:  # this answer failed (busy, timed out, a bad response)
        log.warning("no completion at %s:%d: %s", rel, position.line + 1, exc)
        return None
    except RepolensError as exc:  # a position past the end, an unsupported file, ...
        log.info("no completion at %s:%d: %s", rel, position.line + 1, exc)
        return None
    finally:
        ls.pacer.finish(slot)
    ls.model_answered(folder)
    folder.touch(rel)
    folder.last_completion = (uri, position.line + 1, column + 1)
    model_ms = result.timings_ms.get("model", 0.0)
    timings = {
        "prepare": (prepared - started) * 1000,
        "debounce": (t0 - prepared) * 1000,
        "overlays": (t1 - t0) * 1000,
        "context": (t2 - t1) * 1000,
        "model": model_ms,
        "total": (t3 - started) * 1000,
    }
    # the server's own time: everything but the deliberate wait and the model's stream
    timings["server"] = timings["total"] - timings["debounce"] - model_ms
    for stage, ms in context.timings_ms.items():
        timings[f"context.{stage}"] = ms
    # what the language server adds to the engine's context assembly and the model
    timings["lsp"] = timings["server"] - context.timings_ms.get("total", 0.0)
    ls.record_completion(timings, cached=result.cached)
    log.debug("completion %s:%d %s", rel, position.line + 1, timings)
    if not result.text:
        return None
    start_col = word_start(line_text[:column])
    return Suggestion(
        text=result.text,
        position=position,
        word_start=types.Position(position.line, to_character(line_text, start_col, encoding)),
        word=line_text[start_col:column],
    )


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

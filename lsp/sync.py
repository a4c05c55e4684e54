"""Document synchronization: open buffers are the truth, unsaved edits included.

``textDocument/didOpen`` / ``didChange`` (incremental) / ``didClose`` keep each open buffer's
text here. A buffer inside a workspace folder becomes an index *overlay*
(:meth:`repolens.indexer.RepoIndex.set_overlay`): a function typed a moment ago in another,
unsaved tab is a definition completion and Q&A can use.

Overlays are refreshed lazily, because each refresh re-parses the buffer and drops the
index's memoized resolutions: when a buffer has been idle for :data:`OVERLAY_IDLE_SECONDS`,
before a completion in *another* document (the document being completed hands its text to
the engine directly), and before commands. After a refresh the index's caches are warmed again
in the background at the last completion position, so the next keystroke does not pay for it.

``textDocument/didSave`` and ``workspace/didChangeWatchedFiles`` re-index just those files
(``RepoIndex.update(only=...)``), batched per folder.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from lsprotocol import types

from .documents import Document
from .folders import uri_to_path
from .positions import UTF16
from .server import Folder, RepolensServer

__all__ = [
    "flush_overlays",
    "register",
    "schedule_update",
    "warm_context",
]

log = logging.getLogger(__name__)

#: Seconds a buffer must be idle before its overlay is re-parsed in the background.
OVERLAY_IDLE_SECONDS = 0.75


# -- overlays ---------------------------------------------------------------------------------


def _limit(doc: Document) -> int:
    return doc.folder.settings.index.max_file_bytes if doc.folder is not None else 0


def _snapshot(
    ls: RepolensServer, folder: Folder | None, skip: str | None
) -> list[tuple[Folder, str, str | None]]:
    """What the overlays must become: (folder, path, text or None to clear); marks clean."""
    out: list[tuple[Folder, str, str | None]] = []
    for doc in ls.documents.all():
        if not doc.dirty or doc.folder is None or doc.rel is None or doc.uri == skip:
            continue
        if folder is not None and doc.folder is not folder:
            continue
        doc.dirty = False
        doc.oversized = len(doc.text) > _limit(doc)
        out.append((doc.folder, doc.rel, None if doc.oversized else doc.text))
    return out


def _apply_overlays(items: list[tuple[Folder, str, str | None]]) -> None:
    for folder, rel, text in items:
        try:
            index = folder.workspace.index
            if text is None:
                index.clear_overlay(rel)
            elif index.overlay_facts(rel) is None and index.text(rel) == text:
                pass  # the buffer says what the index says: an overlay would only cost
            else:
                index.set_overlay(rel, text)
        except Exception:  # one bad buffer must not stop the others
            log.exception("could not update the overlay of %s", rel)


async def flush_overlays(
    ls: RepolensServer, folder: Folder | None = None, *, skip: str | None = None
) -> bool:
    """Bring the index overlays up to date with the open buffers (of ``folder``; all but the
    buffer ``skip``). True when anything changed."""
    items = _snapshot(ls, folder, skip)
    applying = ls.documents.applying
    # Buffers another flush already marked clean may still be on their way into the index
    # (their overlay is applied in a thread): wait for those too, or a context built now
    # misses a function typed in another tab.
    pending = list(applying)
    if items:
        future = asyncio.ensure_future(ls.run_cpu(_apply_overlays, items))
        applying.add(future)
        future.add_done_callback(applying.discard)
        pending.append(future)
    if pending:
        await asyncio.gather(*(asyncio.shield(f) for f in pending))
    return bool(items)


def reapply_overlays(ls: RepolensServer, folder: Folder) -> None:
    """After the index was reopened (settings changed): every buffer is an overlay again."""
    for doc in ls.documents.in_folder(folder):
        doc.dirty = True


def _idle_flush(ls: RepolensServer, uri: str) -> None:
    doc = ls.documents.get(uri)
    if doc is not None and doc.dirty and doc.folder is not None:
        task = asyncio.ensure_future(_flush_and_warm(ls, doc.folder))
        task.add_done_callback(_log_failure)


async def _opened(ls: RepolensServer, doc: Document) -> None:
    """A newly opened buffer: its overlay, and the resolutions of its imports warmed (a
    context at its last line resolves them; any cursor in the file reuses them)."""
    assert doc.folder is not None
    await flush_overlays(ls, doc.folder)
    last = len(doc.starts) - 1
    while last > 0 and not doc.line(last).strip():
        last -= 1
    await warm_context(ls, doc.folder, (doc.uri, last + 1, len(doc.line(last)) + 1))


async def _flush_and_warm(ls: RepolensServer, folder: Folder) -> None:
    if await flush_overlays(ls, folder):
        await warm_context(ls, folder)


async def warm_context(
    ls: RepolensServer, folder: Folder, at: tuple[str, int, int] | None = None
) -> None:
    """Build the context at ``at`` (uri, 1-based line, column; default: the folder's last
    completion) and throw it away: the index's memoized resolutions are then ready for the
    next keystroke there. Only once a completion has loaded the engine."""
    last = at or folder.last_completion
    engine = folder.services.completions.ready_engine
    if last is None or engine is None:
        return
    uri, line, column = last
    doc = ls.documents.get(uri)
    if doc is None or doc.rel is None or len(doc.text) > _limit(doc):
        return
    from .positions import normalize_newlines

    text = normalize_newlines(doc.text)
    rel = doc.rel

    def run() -> None:
        try:
            engine.context(rel, line, column, text=text)
        except Exception as exc:  # the buffer changed under the position: nothing to warm
            log.debug("warming the context failed: %s", exc)

    await ls.run_cpu(run)


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background work failed: %s", task.exception())


# -- re-indexing saved files ------------------------------------------------------------------


def schedule_update(ls: RepolensServer, folder: Folder, paths: set[str]) -> None:
    """Re-index ``paths`` of ``folder`` soon (batched; one update at a time)."""
    folder.pending_paths |= paths
    if folder.update_task is None or folder.update_task.done():
        folder.update_task = asyncio.ensure_future(_drain_updates(ls, folder))
        folder.update_task.add_done_callback(_log_failure)


async def _drain_updates(ls: RepolensServer, folder: Folder) -> None:
    from .indexing import update_paths

    await asyncio.sleep(0.05)  # let a burst of events (a "save all") arrive
    while folder.pending_paths:
        batch, folder.pending_paths = folder.pending_paths, set()
        await update_paths(ls, folder, batch)
    await warm_context(ls, folder)


# -- handlers ---------------------------------------------------------------------------------


def register(server: RepolensServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: RepolensServer, params: types.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        doc = Document(item.uri, item.text, item.version, item.language_id)
        _locate(ls, doc)
        ls.documents.put(doc)
        if doc.folder is not None and doc.rel is not None:
            doc.folder.services.completions.touch(doc.rel)
            task = asyncio.ensure_future(_opened(ls, doc))
            task.add_done_callback(_log_failure)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: RepolensServer, params: types.DidChangeTextDocumentParams) -> None:
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            log.warning("didChange for a document that is not open: %s", params.text_document.uri)
            return
        encoding = ls.position_encoding or UTF16
        for change in params.content_changes:
            doc.apply(change, encoding)
        doc.version = params.text_document.version
        if doc.folder is None:
            return
        loop = asyncio.get_running_loop()
        ls.documents.set_idle_timer(
            doc.uri, loop.call_later(OVERLAY_IDLE_SECONDS, _idle_flush, ls, doc.uri)
        )

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: RepolensServer, params: types.DidCloseTextDocumentParams) -> None:
        doc = ls.documents.pop(params.text_document.uri)
        if doc is None or doc.folder is None or doc.rel is None:
            return
        folder, rel = doc.folder, doc.rel

        def clear() -> None:
            folder.workspace.index.clear_overlay(rel)  # the file on disk is the truth again

        task = asyncio.ensure_future(ls.run_cpu(clear))
        task.add_done_callback(_log_failure)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: RepolensServer, params: types.DidSaveTextDocumentParams) -> None:
        found = ls.folders.for_uri(params.text_document.uri)
        if found is not None:
            schedule_update(ls, found[0], {found[1]})

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(
        ls: RepolensServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        batches: dict[Path, tuple[Folder, set[str]]] = {}
        for event in params.changes:
            found = ls.folders.for_uri(event.uri)
            if found is None:
                continue
            folder, rel = found
            batches.setdefault(folder.root, (folder, set()))[1].add(rel)
        for folder, paths in batches.values():
            schedule_update(ls, folder, paths)


def _locate(ls: RepolensServer, doc: Document) -> None:

    doc.path = uri_to_path(doc.uri)
    found = ls.folders.for_path(doc.path) if doc.path is not None else None
    if found is not None:
        doc.folder, doc.rel = found
    else:
        doc.folder, doc.rel = None, None


def relocate_all(ls: RepolensServer) -> None:
    """Re-resolve every open buffer's folder (after folders were added or removed)."""
    for doc in ls.documents.all():
        _locate(ls, doc)
        doc.dirty = True

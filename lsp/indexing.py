"""Background indexing of workspace folders, with ``$/progress``.

After ``initialized`` every folder's index is opened and brought up to date in the index
thread (one writer at a time) while the event loop keeps answering: completion reads whatever
the index holds so far (batches are committed as they are parsed), so it works on a partial
index. Saves and watched-file events re-index only their files (:func:`update_paths`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from .progress import WorkDone

if TYPE_CHECKING:
    from ..app import IndexProgress
    from .server import Folder, RepolensServer

__all__ = ["index_folder", "start_indexing", "update_paths", "warm_model"]

log = logging.getLogger(__name__)


async def index_folder(
    ls: RepolensServer, folder: Folder, *, rebuild: bool = False
) -> dict[str, Any] | None:
    """Bring ``folder``'s index up to date (or rebuild it), reporting ``$/progress``.

    None when it failed (the user was told; the folder's status keeps the error)."""
    indexing = folder.services.indexing
    work = WorkDone(ls, f"repolens: indexing {folder.name}")
    await work.begin("finding files")

    def on_progress(event: IndexProgress) -> None:
        if not event.total and event.path:  # not parsing yet: waiting for another writer
            work.report_threadsafe(event.path, None)
            return
        work.report_threadsafe(f"{event.done}/{event.total} files", event.percentage)

    try:
        summary = await ls.run_index(lambda: indexing.run(rebuild=rebuild, progress=on_progress))
    except asyncio.CancelledError:
        work.end("cancelled")
        raise
    except Exception as exc:
        log.exception("indexing %s failed", folder.root)
        work.end(f"failed: {exc}")
        ls.show(f"repolens: indexing {folder.name} failed: {exc}", types.MessageType.Error)
        return None
    work.end(
        f"{summary.files} files, {summary.symbols} symbols ({summary.files_changed} changed) "
        f"in {summary.seconds:.1f} s"
    )
    for warning in summary.warnings[:5]:
        log.info("%s", warning)
    return indexing.state.summary


async def update_paths(ls: RepolensServer, folder: Folder, paths: set[str]) -> None:
    """Re-index just ``paths`` (saved or changed on disk) of ``folder``."""
    try:
        summary = await ls.run_index(folder.services.indexing.update_paths, paths)
    except Exception as exc:
        log.error("re-indexing %s failed: %s", ", ".join(sorted(paths)[:5]), exc)
        return
    log.debug("re-indexed %d file(s) in %.1f ms", len(paths), summary.seconds * 1000)


def start_indexing(ls: RepolensServer, folder: Folder) -> asyncio.Task[Any]:
    """Index ``folder`` in the background; then make the model ready for the first request."""

    async def run() -> None:
        await index_folder(ls, folder)

    task = asyncio.ensure_future(run())
    if folder.settings.completion.enabled:
        warm = asyncio.ensure_future(warm_model(ls, folder))
        warm.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


async def warm_model(ls: RepolensServer, folder: Folder) -> None:
    """Start the local model process, or contact the server, while the index builds (a token
    count is the cheapest request that waits until the model is loaded)."""
    from ..backends import ModelUnavailable

    try:
        await ls.run_cpu(folder.services.completions.engine)
        await ls.run_cpu(folder.workspace.tokenizer.count, "def warm_up():\n")
    except ModelUnavailable as exc:
        ls.model_trouble(folder, exc)
    except Exception as exc:  # reported again on the first completion
        log.warning("preparing the model failed: %s", exc)
    else:
        ls.model_answered(folder)

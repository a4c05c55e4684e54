"""Work-done progress (``$/progress``): begin, report (with a percentage), end.

Server-initiated progress needs ``window.workDoneProgress`` in the client's capabilities and a
``window/workDoneProgress/create`` round trip before the first notification; a request that
carries a client ``workDoneToken`` (an ``executeCommand``) reports on that token directly.
Clients without either get the same messages in their log instead.

Reports are throttled (one per :data:`MIN_INTERVAL` seconds) and may come from any thread:
:meth:`WorkDone.report_threadsafe` hops onto the event loop, where all protocol writes happen.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from .server import RepolensServer

__all__ = ["WorkDone"]

log = logging.getLogger(__name__)

MIN_INTERVAL = 0.1
CREATE_TIMEOUT = 10.0


class WorkDone:
    """One progress sequence shown by the client (or logged, if it cannot show one)."""

    def __init__(
        self, ls: RepolensServer, title: str, token: types.ProgressToken | None = None
    ) -> None:
        self.ls = ls
        self.title = title
        self.token = token
        self._last = 0.0
        self._last_percentage = -1
        self._ended = False
        self._begun = False

    async def begin(self, message: str = "") -> None:
        if self.token is None and self.ls.client_supports("window.work_done_progress"):
            token = f"repolens/{uuid.uuid4()}"
            try:
                await asyncio.wait_for(
                    self.ls.work_done_progress.create_async(token), CREATE_TIMEOUT
                )
                self.token = token
            except Exception as exc:  # the client refused or did not answer: log instead
                log.info("no progress bar (%s): %s", type(exc).__name__, exc)
        if self.token is not None:
            self.ls.work_done_progress.begin(
                self.token,
                types.WorkDoneProgressBegin(
                    title=self.title, message=message or None, percentage=0, cancellable=False
                ),
            )
        else:
            self.ls.log_to_client(f"repolens: {self.title}: {message}".rstrip(": "))
        self._begun = True

    def report(self, message: str, percentage: int | None = None) -> None:
        """A step (on the event loop); dropped when too soon after the previous one."""
        if self._ended or not self._begun or self.token is None:
            return
        now = time.monotonic()
        if percentage is not None:
            percentage = max(0, min(100, percentage))
            if percentage == self._last_percentage and now - self._last < 1.0:
                return
        if now - self._last < MIN_INTERVAL and percentage != 100:
            return
        self._last = now
        if percentage is not None:
            self._last_percentage = percentage
        self.ls.work_done_progress.report(
            self.token, types.WorkDoneProgressReport(message=message, percentage=percentage)
        )

    def report_threadsafe(self, message: str, percentage: int | None = None) -> None:
        self.ls.call_soon(self.report, message, percentage)

    def end(self, message: str = "") -> None:
        if self._ended:
            return
        self._ended = True
        if self.token is not None and self._begun:
            self.ls.work_done_progress.end(
                self.token, types.WorkDoneProgressEnd(message=message or None)
            )
        else:
            self.ls.log_to_client(f"repolens: {self.title}: {message}".rstrip(": "))

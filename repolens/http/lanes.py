"""Bounded concurrency per kind of work in ``repolens serve``, so that a model that hangs
cannot take what health, status and file reads need.

A :class:`Lane` runs at most ``slots`` jobs of its kind at once. A request beyond the bound
waits up to ``wait_s`` for a slot, then gets :class:`Overloaded` (503 with ``Retry-After``). A
job past the lane's deadline is abandoned: its caller gets :class:`TookTooLong` (504) and its
cancel token is set. A thread stuck on a socket cannot be stopped, so the slot stays taken
until the thread really returns: hung calls never grow past the bound.

Blocking jobs run on the lane's own threads: daemon threads (one stuck in a read must not hold
up the process's exit), long-lived (the index keeps one SQLite reader per thread), at most one
per slot. Everything here works from any event loop and any thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import math
import queue
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ..backends.base import CancelToken

__all__ = ["Lane", "LaneLimits", "Lanes", "Overloaded", "SharedCall", "TookTooLong"]

T = TypeVar("T")


class LaneLimits(BaseModel):
    """How much of each kind of work ``serve`` does at once, and for how long."""

    model_config = ConfigDict(frozen=True)

    model_slots: int = Field(4, ge=1, description="requests that wait on the model at once")
    context_slots: int = Field(2, ge=1, description="context builds (retrieval, tokenizer)")
    quick_slots: int = Field(2, ge=1, description="file reads and index lookups")
    wait_s: float = Field(10.0, gt=0, description="the longest wait for a slot before a 503")
    model_deadline_s: float = Field(
        300.0, gt=0, description="a commit message or completion answers 504 after this"
    )
    context_deadline_s: float = Field(60.0, gt=0, description="a first model load counts")
    quick_deadline_s: float = Field(10.0, gt=0)
    status_wait_s: float = Field(
        0.5, gt=0, description="status leaves out the model's details after this"
    )


class Overloaded(Exception):
    """Every slot of a lane stayed taken for the whole wait: try again later."""

    def __init__(self, lane: Lane) -> None:
        self.retry_after = max(1, math.ceil(lane.wait_s))
        super().__init__(
            f"repolens is busy: {lane.slots} {lane.what} at once is the limit, and none ended "
            f"within {lane.wait_s:g} s; try again in {self.retry_after} s"
        )


class TookTooLong(Exception):
    """A job ran past its lane's deadline (and was told to stop)."""

    def __init__(self, lane: Lane) -> None:
        super().__init__(f"{lane.late} within {lane.deadline_s:g} s; it was stopped")


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _Workers:
    """Long-lived daemon threads that take jobs from a queue, started as they are needed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = 0

    def submit(self, job: Callable[[], None], needed: int) -> None:
        """Queue ``job``; ``needed``: how many jobs are in hand, this one included."""
        with self._lock:
            if self._started < needed:
                self._started += 1
                thread = threading.Thread(
                    target=self._work, name=f"repolens-{self.name}-{self._started}", daemon=True
                )
                thread.start()
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()

    def close(self) -> None:
        with self._lock:
            for _ in range(self._started):
                self._jobs.put(None)
            self._started = 0


class Lane:
    """One kind of work with its own bound (see the module docstring)."""

    def __init__(
        self,
        name: str,
        slots: int,
        wait_s: float,
        deadline_s: float | None,
        *,
        what: str = "jobs",
        late: str = "the job did not end",
    ) -> None:
        self.name = name
        self.what = what  # for messages: "requests to the model"
        self.late = late  # for messages: "the model did not answer"
        self.slots = slots
        self.wait_s = wait_s
        self.deadline_s = deadline_s
        self._lock = threading.Lock()
        self._taken = 0
        self._jobs = 0  # of the taken slots, those running a blocking job on our threads
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()
        self._workers = _Workers(name)

    @property
    def taken(self) -> int:
        return self._taken

    async def acquire(self) -> None:
        """Take a slot, waiting for one up to ``wait_s`` (first come, first served)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._taken < self.slots and not self._waiters:
                self._taken += 1
                return
            entry = (loop, loop.create_future())
            self._waiters.append(entry)
        try:
            await asyncio.wait_for(entry[1], self.wait_s)
        except BaseException as exc:  # the wait ended (or the request went away)
            with self._lock:
                handed = entry not in self._waiters  # a release passed its slot to us
                if not handed:
                    self._waiters.remove(entry)
            if handed and isinstance(exc, TimeoutError):
                return  # it came just in time: keep it
            if handed:
                self.release()
            if isinstance(exc, TimeoutError):
                raise Overloaded(self) from None
            raise

    def release(self) -> None:
        """Give a slot back: to the longest waiter, else free (from any thread)."""
        with self._lock:
            while self._waiters:
                loop, waiter = self._waiters.popleft()
                try:
                    loop.call_soon_threadsafe(_wake, waiter)
                    return
                except RuntimeError:  # that waiter's event loop is gone
                    continue
            self._taken -= 1

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot for async work (a model stream) while the block runs."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    async def run(self, fn: Callable[[], T], cancel: CancelToken | None = None) -> T:
        """``fn()`` on one of the lane's threads, within the lane's bound and deadline."""
        await self.acquire()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()  # an abandoned wait cannot cancel a running job

        def job() -> None:
            try:
                result = fn()
            except BaseException as exc:
                with self._lock:
                    self._jobs -= 1
                self.release()
                future.set_exception(exc)
            else:
                with self._lock:
                    self._jobs -= 1
                self.release()
                future.set_result(result)

        with self._lock:
            self._jobs += 1
            needed = self._jobs
        try:
            self._workers.submit(job, needed)
        except BaseException:  # no thread could be started
            with self._lock:
                self._jobs -= 1
            self.release()
            raise
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.deadline_s)
        except TimeoutError:
            if cancel is not None:
                cancel.cancel()
            raise TookTooLong(self) from None
        except asyncio.CancelledError:
            if cancel is not None:
                cancel.cancel()
            raise

    def close(self) -> None:
        """Let the idle threads end (a busy one ends after its job)."""
        self._workers.close()


class SharedCall(Generic[T]):
    """``fn`` on a thread of its own, one call at a time: whoever asks while a call is under
    way waits for that same call. A call that hangs holds one thread, not one per caller."""

    def __init__(self, name: str, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._lock = threading.Lock()
        self._current: concurrent.futures.Future[T] | None = None
        self._workers = _Workers(name)

    async def result(self, timeout: float) -> T | None:
        """The result of the current (or a new) call, or None when it takes over ``timeout``
        seconds (the call goes on; later callers get its result)."""
        with self._lock:
            future = self._current
            if future is None:
                future = self._current = concurrent.futures.Future()
                future.set_running_or_notify_cancel()
                self._workers.submit(lambda: self._call(future), 1)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError:
            return None

    def _call(self, future: concurrent.futures.Future[T]) -> None:
        try:
            result = self._fn()
        except BaseException as exc:
            with self._lock:
                self._current = None
            future.set_exception(exc)
        else:
            with self._lock:
                self._current = None
            future.set_result(result)

    def close(self) -> None:
        self._workers.close()


class Lanes:
    """The lanes of one server: the model (answers, completions, commit messages), context
    building, and quick reads (files, index lookups); the status call is shared."""

    def __init__(self, limits: LaneLimits | None = None) -> None:
        self.limits = limits = limits or LaneLimits()
        wait = limits.wait_s
        self.model = Lane(
            "model",
            limits.model_slots,
            wait,
            limits.model_deadline_s,
            what="requests to the model",
            late="the model did not answer",
        )
        self.context = Lane(
            "context",
            limits.context_slots,
            wait,
            limits.context_deadline_s,
            what="context builds",
            late="the context was not ready",
        )
        self.quick = Lane(
            "quick",
            limits.quick_slots,
            wait,
            limits.quick_deadline_s,
            what="file reads",
            late="the file was not read",
        )

    async def run_context(self, fn: Callable[[], T]) -> T:
        """The services' runner for blocking context work (``run_cpu``, ``run``)."""
        return await self.context.run(fn)

    def close(self) -> None:
        for lane in (self.model, self.context, self.quick):
            lane.close()

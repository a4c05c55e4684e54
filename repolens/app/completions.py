"""Code completion at a cursor, end to end, for every front door.

:meth:`CompletionService.suggest` owns the use case the language server
(``textDocument/inlineCompletion``, ``textDocument/completion``) and ``repolens serve``
(``/v1/complete``) share:

1. gating: completion enabled, the file's language completed and not disabled, the buffer no
   larger than ``index.max_file_bytes``;
2. model health: after the model failed, requests answer nothing at once for a while
   (:class:`ModelHealth`, a circuit breaker) instead of a retry per keystroke;
3. pacing: a newer request with the same ``pace_key`` (an editor's document) supersedes this
   one, and automatic requests wait ``completion.debounce_ms`` first;
4. the caller's ``prepare`` step (the language server brings index overlays up to date);
5. context building in a worker thread, off the event loop;
6. the model call, async: cancelling closes the model's stream;
7. timings, kept for status reports.

It returns a :class:`CompletionOutcome` rather than raising for what an editor must shrug off
(a superseded request, a model that is down): each front door decides what the user sees.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..backends.base import CancelToken, ModelCrashed, ModelError, ModelUnavailable
from ..errors import RepolensError
from ..indexer import language_for_path
from ..secret_filter import secret_file
from .pacing import DocumentPacer

if TYPE_CHECKING:
    from ..completion.engine import CompletionEngine, CompletionResult, ContextResult
    from ..settings import Settings

__all__ = [
    "MODEL_RETRY_SECONDS",
    "CompletionOutcome",
    "CompletionRequest",
    "CompletionService",
    "ModelHealth",
]

T = TypeVar("T")

#: After a model failure, completions return nothing at once for this long (no retry storm).
MODEL_RETRY_SECONDS = 10.0


class ModelHealth:
    """Whether the model answers: one outage is reported once, and attempts pause during it.

    A failure pauses attempts for :data:`MODEL_RETRY_SECONDS` (or as long as a restarting local
    model process says), except after the model process died answering
    (:class:`~repolens.backends.ModelCrashed`): it is restarted at once, so the next request
    tries again.
    """

    def __init__(self) -> None:
        self.problem: str | None = None
        self.since = 0.0  # wall clock, comparable with the model process's record
        self.retry_at = 0.0  # monotonic

    def paused(self) -> bool:
        return self.problem is not None and time.monotonic() < self.retry_at

    def retry_in(self) -> float:
        return max(0.0, self.retry_at - time.monotonic())

    def failed(self, exc: BaseException) -> bool:
        """Record a failure; True when it starts an outage (tell the user), False during one."""
        crashed = isinstance(exc, ModelCrashed)
        retry_after = getattr(exc, "retry_after", None)
        pause = MODEL_RETRY_SECONDS if retry_after is None else min(retry_after, 60.0)
        self.retry_at = time.monotonic() + (0.0 if crashed else pause)
        if self.problem is not None:
            return False
        self.problem = str(exc)
        self.since = time.time()
        return True

    def answered(self) -> bool:
        """The model answered; True when that ends an outage."""
        if self.problem is None:
            return False
        self.problem = None
        return True

    def recovered(self, process: dict[str, Any] | None) -> bool:
        """End the outage when the local model process's record says it has been ready since
        (after a crash it is back within seconds, before the next completion)."""
        if (
            self.problem is not None
            and process
            and process.get("state") == "ready"
            and float(process.get("since") or 0) > self.since
        ):
            return self.answered()
        return False

    def reset(self) -> None:
        """Forget the outage (the model settings changed)."""
        self.problem = None
        self.retry_at = 0.0


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """A cursor: repository path, 1-based line and column (characters).

    ``text``: the buffer's unsaved text (None: the file on disk). ``invoked``: asked for
    explicitly (no debounce) rather than while typing.
    """

    path: str
    line: int
    column: int
    text: str | None = None
    invoked: bool = True
    budget: int | None = None
    max_tokens: int | None = None  # the longest answer (default: completion.max_tokens)


@dataclass
class CompletionOutcome:
    """What :meth:`CompletionService.suggest` did.

    ``result`` is set when the model answered. Otherwise ``skipped`` says why nothing was
    asked (gating, a paused model, a newer request) or ``error`` holds the failure; for model
    failures ``outage_started`` says this one starts an outage (report it once).
    """

    result: CompletionResult | None = None
    skipped: str | None = None
    error: Exception | None = None
    outage_started: bool = False
    recovered: bool = False  # the model answered again after an outage
    retry_after: float | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.result.text if self.result is not None else ""


async def _to_thread(fn: Callable[[], T]) -> T:
    return await asyncio.to_thread(fn)


class CompletionService:
    """Completion for one repository (see the module docstring)."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        engine: Callable[[], CompletionEngine],
        root: Callable[[], os.PathLike[str] | str],
        *,
        run_cpu: Callable[[Callable[[], Any]], Awaitable[Any]] | None = None,
    ) -> None:
        self._settings = settings
        self._engine = engine  # blocking the first time: loads or contacts the model
        self._root = root
        self.run_cpu = run_cpu or _to_thread
        self.health = ModelHealth()
        self.pacer = DocumentPacer()
        self.recent: list[str] = []  # recently completed paths, most recent last
        self.last: tuple[str, int, int] | None = None  # (path, line, column) of the last one
        self.timings: deque[dict[str, Any]] = deque(maxlen=500)
        self.ready_engine: CompletionEngine | None = None  # set once a completion got it

    # -- gating ----------------------------------------------------------------------------

    def refusal(self, path: str, size: int | None = None) -> str | None:
        """Why ``path`` (its buffer ``size`` characters; None: its size on disk) gets no
        completion, or None when it may."""
        settings = self._settings()
        if not settings.completion.enabled:
            return "completion is turned off (completion.enabled)"
        spec = language_for_path(path)
        if spec is None:
            return f"{path}: not a language repolens completes (by its extension)"
        if spec.name in settings.completion.disabled_languages:
            return f"completion is turned off for {spec.name} (completion.disabled_languages)"
        secret = secret_file(path)
        if secret is not None:  # nothing of it may reach a model, so no completion in it
            return f"{path} is a secret file ({secret}): no completion"
        limit = settings.index.max_file_bytes
        if size is None:
            try:
                size = os.stat(os.path.join(self._root(), path)).st_size
            except OSError:
                size = 0  # a new file: the engine says what is wrong, if anything
        if size > limit:
            return f"{path} is larger than index.max_file_bytes ({limit})"
        return None

    def touch(self, path: str) -> None:
        """Remember ``path`` as recently used (for look-alike context)."""
        if path in self.recent:
            self.recent.remove(path)
        self.recent.append(path)
        del self.recent[:-20]

    def engine(self) -> CompletionEngine:
        """The engine (blocking: loads or contacts the model the first time).

        A model that cannot be set up (wrong key, bad GGUF, no server) counts as unavailable."""
        try:
            engine = self._engine()
        except ModelError as exc:
            if isinstance(exc, ModelUnavailable):
                raise
            raise ModelUnavailable(str(exc)) from exc
        self.ready_engine = engine
        return engine

    def _context(self, req: CompletionRequest) -> tuple[CompletionEngine, ContextResult]:
        engine = self.engine()
        return engine, engine.context(
            req.path, req.line, req.column, text=req.text, budget=req.budget
        )

    # -- the use case ----------------------------------------------------------------------

    async def suggest(
        self,
        req: CompletionRequest,
        *,
        cancel: CancelToken | None = None,
        pace_key: str | None = None,
        prepare: Callable[[], Awaitable[object]] | None = None,
        started: float | None = None,
    ) -> CompletionOutcome:
        """Complete at ``req``'s cursor (see the module docstring for the steps).

        ``started``: ``time.perf_counter()`` when the front door received the request (its
        own preparation counts in the timings). Raises only ``asyncio.CancelledError`` (the
        request was cancelled by its client, not superseded)."""
        started = time.perf_counter() if started is None else started
        reason = self.refusal(req.path, None if req.text is None else len(req.text))
        if reason is not None:
            return CompletionOutcome(skipped=reason)
        if self.health.paused():
            return CompletionOutcome(
                skipped=f"the model is unavailable: {self.health.problem}",
                retry_after=self.health.retry_in(),
            )
        slot = self.pacer.start(pace_key) if pace_key is not None else None
        token = slot.cancel if slot is not None else CancelToken()
        unlink = cancel.on_cancel(token.cancel) if cancel is not None else (lambda: None)
        debounce_ms = self._settings().completion.debounce_ms
        prepared = time.perf_counter()
        try:
            if not req.invoked and debounce_ms:
                await asyncio.sleep(debounce_ms / 1000)
            t0 = time.perf_counter()
            if prepare is not None:
                await prepare()
            t1 = time.perf_counter()
            engine, context = await self.run_cpu(lambda: self._context(req))
            t2 = time.perf_counter()
            result = await engine.acomplete(
                req.path,
                req.line,
                req.column,
                text=req.text,
                cancel=token,
                context=context,
                max_tokens=req.max_tokens,
            )
            t3 = time.perf_counter()
        except asyncio.CancelledError:
            token.cancel()
            if slot is not None and slot.superseded:
                return CompletionOutcome(skipped="superseded by a newer request")
            raise
        except (ModelCrashed, ModelUnavailable) as exc:  # down, not loadable, or died answering
            started_outage = self.health.failed(exc)
            return CompletionOutcome(
                error=exc, outage_started=started_outage, retry_after=self.health.retry_in()
            )
        except (ModelError, RepolensError) as exc:  # this answer failed, or a bad position
            return CompletionOutcome(error=exc)
        finally:
            unlink()
            if slot is not None:
                self.pacer.finish(slot)
        recovered = self.health.answered()
        self.touch(req.path)
        self.last = (req.path, req.line, req.column)
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
        # what the front door adds to the engine's context assembly and the model
        timings["lsp"] = timings["server"] - context.timings_ms.get("total", 0.0)
        entry: dict[str, Any] = {k: round(v, 3) for k, v in timings.items()}
        entry["cached"] = result.cached
        self.timings.append(entry)
        return CompletionOutcome(result=result, recovered=recovered, timings=timings)

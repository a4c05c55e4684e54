"""The small interfaces every model backend implements.

Completion and chat code depend only on these Protocols; concrete backends (the embedded
llama.cpp model, an OpenAI-compatible server) are chosen by configuration in
:func:`repolens.backends.open_model`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..errors import RepolensError

__all__ = [
    "CancelToken",
    "ChatMessage",
    "GenerationParams",
    "Model",
    "ModelCrashed",
    "ModelError",
    "ModelInfo",
    "ModelUnavailable",
    "StreamsInThreads",
    "Tokenizer",
    "stream_in_thread",
]


_log = logging.getLogger(__name__)


class ModelError(RepolensError):
    """The model failed in a way the user should hear about (bad response, server error)."""


class ModelUnavailable(ModelError):
    """The model cannot be reached or loaded; the message says what to check.

    ``retry_after`` (seconds), when set, is when trying again makes sense: a local model
    process that is restarting after a crash says so.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelCrashed(ModelError):
    """The model process died (a native crash, an OOM kill) while answering this request.

    Only this request is lost: the process is restarted (with safer settings after a CPU
    fault), so the next request normally works. The message says what happened and what
    repolens does about it.
    """


class CancelToken:
    """Set by whoever no longer wants the result; generation stops at the next token.

    Backends that block (a socket read while the server evaluates a long prompt, llama.cpp's
    prompt evaluation) register a callback with :meth:`on_cancel` so that cancelling
    interrupts the blocking call itself, not just the loop around it.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _run_callback(callback)

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until cancelled or ``timeout`` seconds pass; True when cancelled."""
        return self._event.wait(timeout)

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` once when cancelled (at once if already cancelled).

        Returns a function that unregisters it; callbacks run in the thread that cancels and
        must be quick and thread-safe.
        """
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._remove(callback)
        _run_callback(callback)
        return lambda: None

    def _remove(self, callback: Callable[[], None]) -> None:
        with self._lock:
            try:
                self._callbacks.remove(callback)
            except ValueError:
                pass


def _run_callback(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # a failing callback must not stop the others
        _log.exception("cancel callback failed")


@dataclass(frozen=True, slots=True)
class GenerationParams:
    max_tokens: int = 64
    temperature: float = 0.0
    stop: Sequence[str] = ()
    top_p: float = 0.95
    seed: int | None = 0


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # "system", "user", "assistant"
    content: str


@dataclass(frozen=True, slots=True)
class ModelInfo:
    backend: str  # "embedded" or "openai"
    name: str  # model name or GGUF file name
    context_window: int
    location: str  # GGUF path or server URL
    extra: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class Tokenizer(Protocol):
    """Exact token counts for prompt budgeting."""

    def count(self, text: str) -> int: ...

    def count_many(self, texts: Sequence[str]) -> list[int]: ...


@runtime_checkable
class Model(Protocol):
    """A text-generation model: raw completion (for FIM prompts) and chat."""

    @property
    def info(self) -> ModelInfo: ...

    @property
    def tokenizer(self) -> Tokenizer: ...

    def complete(
        self, prompt: str, params: GenerationParams, cancel: CancelToken | None = None
    ) -> Iterator[str]:
        """Stream the continuation of ``prompt`` piece by piece (stops when cancelled)."""
        ...

    def acomplete(
        self, prompt: str, params: GenerationParams, cancel: CancelToken | None = None
    ) -> AsyncIterator[str]:
        """Async streaming; closing the iterator (or task cancellation) ends generation."""
        ...

    def chat(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]: ...

    def achat(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        cancel: CancelToken | None = None,
    ) -> AsyncIterator[str]: ...

    def close(self) -> None: ...


async def stream_in_thread(
    start: Callable[[CancelToken], Iterator[str]], cancel: CancelToken | None
) -> AsyncIterator[str]:
    """Run a blocking generation in a worker thread and stream its pieces to the event loop.

    Closing this iterator or cancelling the task that awaits it cancels the generation (the
    worker's token is set, which aborts the blocking call the backend registered with
    :meth:`CancelToken.on_cancel`: llama.cpp's evaluation, a socket read).
    """
    loop = asyncio.get_running_loop()
    inner = CancelToken()
    unlink = cancel.on_cancel(inner.cancel) if cancel is not None else (lambda: None)
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def put(item: tuple[str, Any]) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the event loop is gone: nobody is listening
            inner.cancel()

    def work() -> None:
        pieces: Iterator[str] | None = None
        try:
            pieces = start(inner)
            for piece in pieces:
                if inner.cancelled:
                    break
                put(("piece", piece))
            put(("end", None))
        except BaseException as exc:
            put(("error", exc))
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # releases the model (lock, connection) at once, not when collected

    threading.Thread(target=work, name="repolens-generate", daemon=True).start()
    try:
        while True:
            kind, value = await queue.get()
            if kind == "piece":
                yield value
            elif kind == "end":
                return
            else:
                raise value
    finally:
        inner.cancel()
        unlink()


class StreamsInThreads:
    """``acomplete``/``achat`` for a backend whose ``complete``/``chat`` block: the one async
    path is the blocking one run in a worker thread (:func:`stream_in_thread`)."""

    def complete(
        self, prompt: str, params: GenerationParams, cancel: CancelToken | None = None
    ) -> Iterator[str]:
        raise NotImplementedError

    def chat(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        raise NotImplementedError

    def acomplete(
        self, prompt: str, params: GenerationParams, cancel: CancelToken | None = None
    ) -> AsyncIterator[str]:
        return stream_in_thread(lambda token: self.complete(prompt, params, token), cancel)

    def achat(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        cancel: CancelToken | None = None,
    ) -> AsyncIterator[str]:
        return stream_in_thread(lambda token: self.chat(messages, params, token), cancel)

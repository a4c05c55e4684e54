"""The shared backend types: CancelToken callbacks, Protocol conformance of both backends."""

from __future__ import annotations

import threading

import httpx
import pytest

from repolens.backends import CancelToken, Model, ModelError, ModelUnavailable, Tokenizer
from repolens.backends.openai_http import OpenAIModel
from repolens.errors import RepolensError
from repolens.settings import ModelSettings


def test_cancel_runs_callbacks_once_in_order() -> None:
    token = CancelToken()
    calls: list[str] = []
    token.on_cancel(lambda: calls.append("a"))
    token.on_cancel(lambda: calls.append("b"))
    assert not token.cancelled
    token.cancel()
    token.cancel()
    assert token.cancelled and calls == ["a", "b"]


def test_callback_registered_after_cancel_runs_at_once() -> None:
    token = CancelToken()
    token.cancel()
    calls: list[int] = []
    token.on_cancel(lambda: calls.append(1))
    assert calls == [1]


def test_unregistered_callback_does_not_run() -> None:
    token = CancelToken()
    calls: list[int] = []
    unregister = token.on_cancel(lambda: calls.append(1))
    unregister()
    token.cancel()
    assert calls == []


def test_a_failing_callback_does_not_stop_the_others() -> None:
    token = CancelToken()
    calls: list[int] = []

    def boom() -> None:
        raise RuntimeError("boom")

    token.on_cancel(boom)
    token.on_cancel(lambda: calls.append(1))
    token.cancel()
    assert calls == [1]


def test_wait_returns_when_cancelled_from_another_thread() -> None:
    token = CancelToken()
    threading.Timer(0.05, token.cancel).start()
    assert token.wait(5)
    assert not CancelToken().wait(0.01)


def test_model_errors_are_repolens_errors() -> None:
    # the CLI prints RepolensError messages without a traceback
    assert issubclass(ModelUnavailable, ModelError)
    assert issubclass(ModelError, RepolensError)


def test_openai_model_implements_the_protocols() -> None:
    transport = httpx.MockTransport(lambda _r: httpx.Response(404))
    model = OpenAIModel(
        ModelSettings(backend="openai", url="http://127.0.0.1:9/v1", model="m"),
        transport=transport,
    )
    assert isinstance(model, Model)
    assert isinstance(model.tokenizer, Tokenizer)


@pytest.mark.model
def test_embedded_model_implements_the_protocols(embedded: object) -> None:
    assert isinstance(embedded, Model)
    assert isinstance(embedded.tokenizer, Tokenizer)  # type: ignore[attr-defined]

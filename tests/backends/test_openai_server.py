"""The OpenAI-compatible client against a real server: llama-cpp-python's ``llama_cpp.server``
running the bundled SmolLM2 GGUF (n_ctx 2048, bearer key required) on a loopback port.

Cancellation is proved from the server's side: it logs the client's disconnect, and because it
generates one request at a time, a follow-up request is answered at once only if the cancelled
generation (1000 tokens, ~40 s here) really stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from pathlib import Path

import pytest

from repolens.backends import CancelToken, ChatMessage, GenerationParams, ModelError
from repolens.backends.model_process import ProcessModel
from repolens.backends.openai_http import OpenAIModel

from .conftest import SERVER_N_CTX, LlamaServer

pytestmark = pytest.mark.e2e

COUNTING = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,"  # SmolLM2 keeps counting: a long generation
LONG = GenerationParams(max_tokens=1000)
SHORT = GenerationParams(max_tokens=12)


def _disconnects(server: LlamaServer, mark: int) -> int:
    return server.log_text()[mark:].count("Disconnected from client")


def assert_server_stopped(server: LlamaServer, model: OpenAIModel, mark: int) -> float:
    """The server logged the disconnect and is free again; returns the follow-up's seconds."""
    deadline = time.monotonic() + 5
    while _disconnects(server, mark) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _disconnects(server, mark) >= 1, server.log_text()[mark:][-2000:]
    started = time.perf_counter()
    assert "".join(model.complete("Hello", GenerationParams(max_tokens=1)))
    elapsed = time.perf_counter() - started
    # Had the server gone on generating 1000 tokens (~25 tokens/s here), this would wait ~40 s.
    assert elapsed < 5, f"the server was still busy for {elapsed:.1f} s"
    return elapsed


def test_discovers_the_served_model(llama_server: LlamaServer, gguf: Path) -> None:
    model = OpenAIModel(llama_server.settings())
    info = model.info
    assert info.backend == "openai"
    assert info.name == gguf.name  # `repolens model serve` serves it under its file name
    assert info.location == llama_server.url
    # llama_cpp.server does not report its context: the default, unless the settings say
    assert info.extra["context_window_source"] == "default"
    configured = OpenAIModel(llama_server.settings(context_window=SERVER_N_CTX))
    assert configured.info.context_window == SERVER_N_CTX
    assert configured.info.extra["context_window_source"] == "settings"
    assert model.ping() < 3.0


def test_completion_streams_pieces(llama_server: LlamaServer) -> None:
    model = OpenAIModel(llama_server.settings())
    pieces = list(model.complete("def add(a, b):\n", SHORT))
    assert len(pieces) > 1
    assert "".join(pieces).strip()


def test_completion_honours_stop(llama_server: LlamaServer) -> None:
    model = OpenAIModel(llama_server.settings())
    text = "".join(model.complete(COUNTING, GenerationParams(max_tokens=12, stop=["13"])))
    assert "11" in text and "13" not in text


def test_chat_streams_pieces(llama_server: LlamaServer) -> None:
    model = OpenAIModel(llama_server.settings())
    messages = [
        ChatMessage("system", "You are a helpful assistant."),
        ChatMessage("user", "Say hello."),
    ]
    pieces = list(model.chat(messages, SHORT))
    assert len(pieces) > 1
    assert "".join(pieces).strip()


async def test_async_completion_and_chat(llama_server: LlamaServer) -> None:
    model = OpenAIModel(llama_server.settings())
    try:
        pieces = [p async for p in model.acomplete("def add(a, b):\n", SHORT)]
        assert len(pieces) > 1
        chat = [p async for p in model.achat([ChatMessage("user", "Say hello.")], SHORT)]
        assert "".join(chat).strip()
    finally:
        await model.aclose()


def test_token_counts_equal_the_embedded_tokenizer(
    llama_server: LlamaServer, embedded: ProcessModel
) -> None:
    model = OpenAIModel(llama_server.settings())
    texts = [
        "hello world",
        "",
        "def f(x: int) -> int:\n    return x * 2  # doubled\n",
        "<|im_start|>user\nWhat does this do?<|im_end|>\n",
        "naïve café — 漢字 😀",
        "    \n\t\n" * 5,
        Path(__file__).read_text(encoding="utf-8"),
    ]
    assert model.tokenizer.count_many(texts) == embedded.tokenizer.count_many(texts)
    assert model.tokenizer.kind == "llama-cpp-python"
    assert model.tokenizer.exact


def test_cancel_token_mid_stream_stops_generation(llama_server: LlamaServer) -> None:
    model = OpenAIModel(llama_server.settings())
    mark = len(llama_server.log_text())
    token = CancelToken()
    pieces: list[str] = []
    cancelled_at = 0.0
    for piece in model.complete(COUNTING, LONG, token):
        pieces.append(piece)
        if len(pieces) == 5:
            token.cancel()
            cancelled_at = time.perf_counter()
    stopped_after = time.perf_counter() - cancelled_at
    assert len(pieces) == 5  # nothing is yielded after the cancel
    assert stopped_after < 0.5
    assert_server_stopped(llama_server, model, mark)


async def test_cancelling_the_task_closes_the_stream(llama_server: LlamaServer) -> None:
    model = OpenAIModel(llama_server.settings())
    mark = len(llama_server.log_text())
    got: list[str] = []
    five = asyncio.Event()

    async def consume() -> None:
        async for piece in model.acomplete(COUNTING, LONG):
            got.append(piece)
            if len(got) == 5:
                five.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(five.wait(), 30)
    task.cancel()
    started = time.perf_counter()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.perf_counter() - started < 0.5
    await asyncio.to_thread(assert_server_stopped, llama_server, model, mark)
    await model.aclose()


async def test_closing_the_async_iterator_closes_the_stream(llama_server: LlamaServer) -> None:
    model = OpenAIModel(llama_server.settings())
    mark = len(llama_server.log_text())
    stream = model.achat([ChatMessage("user", "Count from 1 to 500.")], LONG)
    async with contextlib.aclosing(stream):  # type: ignore[type-var]
        async for _piece in stream:
            break
    await asyncio.to_thread(assert_server_stopped, llama_server, model, mark)
    await model.aclose()


async def test_cancel_token_interrupts_an_async_read(llama_server: LlamaServer) -> None:
    model = OpenAIModel(llama_server.settings())
    mark = len(llama_server.log_text())
    token = CancelToken()
    got: list[str] = []

    async def consume() -> None:
        async for piece in model.acomplete(COUNTING, LONG, token):
            got.append(piece)

    task = asyncio.create_task(consume())
    while len(got) < 3:
        await asyncio.sleep(0.01)
    threading.Thread(target=token.cancel).start()  # cancelled from another thread
    started = time.perf_counter()
    await asyncio.wait_for(task, 5)
    assert time.perf_counter() - started < 0.5
    await asyncio.to_thread(assert_server_stopped, llama_server, model, mark)
    await model.aclose()


def test_wrong_api_key_is_reported(llama_server: LlamaServer) -> None:
    model = OpenAIModel(llama_server.settings(api_key="wrong", model="any"))
    with pytest.raises(ModelError) as excinfo:
        list(model.complete("x", SHORT))
    assert "401" in str(excinfo.value)
    assert "api_key" in str(excinfo.value)


def test_prompt_longer_than_the_context_is_an_error(llama_server: LlamaServer) -> None:
    """llama_cpp.server answers 200 with an empty stream; that must not look like success."""
    model = OpenAIModel(llama_server.settings(model="any"))
    with pytest.raises(ModelError, match="stopped before it was complete"):
        list(model.complete("wordy " * 1400, SHORT))


def test_cancel_while_the_server_evaluates_the_prompt(llama_server: LlamaServer) -> None:
    """No byte arrives while the server evaluates a long prompt: the cancel callback shuts the
    socket down, which ends the blocked read at once. (llama_cpp.server itself only notices the
    disconnect after the prompt evaluation; vLLM aborts at once.)"""
    model = OpenAIModel(llama_server.settings(model="any"))
    prompt = "Summarize: " + "the quick brown fox jumps over the lazy dog. " * 35  # 350 tokens
    token = CancelToken()
    timer = threading.Timer(0.3, token.cancel)
    timer.start()
    started = time.perf_counter()
    pieces = list(model.complete(prompt, GenerationParams(max_tokens=50), token))
    elapsed = time.perf_counter() - started
    assert elapsed < 0.3 + 0.5, pieces
    # let the server finish that prompt evaluation before the next test uses it
    patient = OpenAIModel(llama_server.settings(model="any", timeout_s=120.0))
    assert "".join(patient.complete("Hello", GenerationParams(max_tokens=1)))

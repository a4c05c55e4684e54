"""The embedded backend with the real bundled SmolLM2 GGUF in process (n_ctx 2048).

Reuse of the KV cache is asserted on llama.cpp's own counters (prompt tokens evaluated), which
is robust on a busy machine; the timing ratio next to it has a generous margin.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from repolens.backends import (
    CancelToken,
    ChatMessage,
    GenerationParams,
    ModelError,
    ModelUnavailable,
    describe_model,
    open_model,
)
from repolens.backends.embedded import EmbeddedModel
from repolens.backends.openai_http import estimate_tokens
from repolens.settings import ModelSettings

from .conftest import SERVER_N_CTX

pytestmark = pytest.mark.model

COUNTING = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,"


def unique_code(lines: int) -> str:
    """Python source nobody evaluated before (so its first evaluation is cold)."""
    head = f"# module {uuid.uuid4().hex}\nimport os\n\n"
    body = "".join(
        f"def handler_{i}(request, limit={i}):\n    return request.get('v{i}', limit) + {i}\n\n"
        for i in range(lines)
    )
    return head + body


def test_loads_once_and_describes_itself(embedded: EmbeddedModel, gguf: Path) -> None:
    info = embedded.info
    assert info.backend == "embedded"
    assert info.name == gguf.name
    assert info.location == str(gguf)
    assert info.context_window == SERVER_N_CTX
    assert info.extra["n_ctx_train"] == 8192
    assert info.extra["tokenizer"] == "exact"
    again = EmbeddedModel(ModelSettings(context_window=SERVER_N_CTX))
    assert again._loaded is embedded._loaded  # one llama.cpp model per path + n_ctx
    assert info.extra["n_threads"] == 1  # the first load's settings win
    settings = ModelSettings(context_window=SERVER_N_CTX)
    assert open_model(settings) is open_model(settings.model_copy())


def test_streams_a_short_completion(embedded: EmbeddedModel) -> None:
    pieces = list(embedded.complete("def add(a, b):\n", GenerationParams(max_tokens=8)))
    assert len(pieces) > 1 and "".join(pieces).strip()
    stats = embedded.last_stats
    assert stats is not None and 1 <= stats.eval_tokens <= 8 and not stats.cancelled


def test_chat_goes_through_the_gguf_chat_template(embedded: EmbeddedModel) -> None:
    question = "What is 2 + 2?"
    reply = "".join(embedded.chat([ChatMessage("user", question)], GenerationParams(max_tokens=8)))
    assert reply.strip()
    stats = embedded.last_stats
    assert stats is not None
    # the template wraps the message in role markers: more tokens than the question alone
    assert stats.kv_tokens - stats.eval_tokens > embedded.tokenizer.count(question) + 4


def test_tokenizer_counts_are_exact(embedded: EmbeddedModel) -> None:
    tokenizer = embedded.tokenizer
    assert tokenizer.count("") == 0
    assert tokenizer.count("<|im_start|>") == 1  # special tokens are parsed as in prompts
    text = "def f(x):\n    return x\n"
    assert tokenizer.count_many([text, text + text]) == [
        len(tokenizer.tokenize(text)),
        len(tokenizer.tokenize(text + text)),
    ]


def test_estimate_is_calibrated_on_this_tokenizer(embedded: EmbeddedModel) -> None:
    sources = sorted(Path(__file__).resolve().parents[2].joinpath("repolens").rglob("*.py"))
    texts = [p.read_text(encoding="utf-8")[:20000] for p in sources if p.stat().st_size > 500]
    ratios = [estimate_tokens(t) / embedded.tokenizer.count(t) for t in texts]
    assert ratios and all(0.85 <= r <= 1.45 for r in ratios), ratios


def test_prefix_cache_evaluates_only_the_new_suffix(embedded: EmbeddedModel) -> None:
    base = unique_code(10)
    n_base = embedded.tokenizer.count(base)
    assert 250 <= n_base <= 1200
    params = GenerationParams(max_tokens=2)

    "".join(embedded.complete(base, params))
    cold = embedded.last_stats
    "".join(embedded.complete(base + "def handler_next(request):\n", params))
    warm = embedded.last_stats
    assert cold is not None and warm is not None
    assert cold.prompt_eval_tokens >= n_base - 2
    assert warm.prompt_eval_tokens <= 12  # only the new line (and the replayed token)
    assert warm.seconds < cold.seconds / 2  # counts above are the robust part
    print(
        f"\nprefix cache: cold {cold.prompt_eval_tokens} tokens in {cold.seconds:.2f} s, "
        f"warm {warm.prompt_eval_tokens} tokens in {warm.seconds:.2f} s",
        file=sys.stderr,
    )


def test_two_threads_generate_concurrently(embedded: EmbeddedModel) -> None:
    results: dict[str, str] = {}
    errors: list[BaseException] = []

    def run(name: str, prompt: str) -> None:
        try:
            results[name] = "".join(embedded.complete(prompt, GenerationParams(max_tokens=6)))
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=("a", "def multiply(a, b):\n")),
        threading.Thread(target=run, args=("b", "The capital of France is")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert set(results) == {"a", "b"} and all(text.strip() for text in results.values())


def test_cancel_between_tokens(embedded: EmbeddedModel) -> None:
    token = CancelToken()
    pieces: list[str] = []
    for piece in embedded.complete(COUNTING, GenerationParams(max_tokens=200), token):
        pieces.append(piece)
        if len(pieces) == 3:
            token.cancel()
    assert len(pieces) == 3
    stats = embedded.last_stats
    assert stats is not None and stats.cancelled and stats.eval_tokens <= 4


def test_cancel_aborts_a_long_prompt_evaluation(embedded: EmbeddedModel) -> None:
    prompt = unique_code(60)  # ~1700 tokens: several seconds of prompt evaluation here
    token = CancelToken()
    timer = threading.Timer(0.3, token.cancel)
    timer.start()
    started = time.perf_counter()
    pieces = list(embedded.complete(prompt, GenerationParams(max_tokens=4), token))
    elapsed = time.perf_counter() - started
    assert pieces == []
    assert elapsed < 0.3 + 0.7
    stats = embedded.last_stats
    assert stats is not None and stats.cancelled
    # the model is fine afterwards
    assert "".join(embedded.complete("def add(a, b):\n", GenerationParams(max_tokens=3)))


async def test_cancelling_the_task_frees_the_model(embedded: EmbeddedModel) -> None:
    got: list[str] = []

    async def consume() -> None:
        async for piece in embedded.acomplete(COUNTING, GenerationParams(max_tokens=300)):
            got.append(piece)

    task = asyncio.create_task(consume())
    while len(got) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    started = time.perf_counter()
    # the worker thread stops at its next token and releases the model lock
    reply = [p async for p in embedded.achat([ChatMessage("user", "Hi")], GenerationParams(2))]
    assert reply
    assert time.perf_counter() - started < 5
    stats = embedded.last_stats
    assert stats is not None and stats.eval_tokens <= 2


async def test_cancel_token_stops_async_generation(embedded: EmbeddedModel) -> None:
    token = CancelToken()
    got: list[str] = []
    async for piece in embedded.acomplete(COUNTING, GenerationParams(max_tokens=300), token):
        got.append(piece)
        if len(got) == 3:
            token.cancel()
    assert 3 <= len(got) <= 4  # at most one piece already on its way


def test_missing_gguf_is_unavailable(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelUnavailable, match=r"does not exist.*REPOLENS_GGUF"):
        EmbeddedModel(ModelSettings(gguf=str(missing)))


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"hello, not a model", "not a GGUF file"), (b"GGUF\x03\x00", "ends in the middle")],
)
def test_corrupt_gguf_is_unavailable(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    with pytest.raises(ModelUnavailable, match=expected):
        EmbeddedModel(ModelSettings(gguf=str(path)))


def test_truncated_gguf_is_unavailable(tmp_path: Path, gguf: Path) -> None:
    path = tmp_path / "truncated.gguf"
    with gguf.open("rb") as fh:
        path.write_bytes(fh.read(3_000_000))  # a download cut short: header fine, no weights
    with pytest.raises(ModelUnavailable, match="could not load"):
        EmbeddedModel(ModelSettings(gguf=str(path)))


def test_missing_llama_cpp_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp -> ImportError
    with pytest.raises(ModelUnavailable, match="pip install llama-cpp-python"):
        EmbeddedModel(ModelSettings(context_window=1024))  # not loaded yet at this n_ctx


def test_describe_the_embedded_model(embedded: EmbeddedModel) -> None:
    status = describe_model(ModelSettings(context_window=SERVER_N_CTX))
    assert status.answers, status.message
    assert status.backend == "embedded"
    assert status.model == embedded.info.name
    assert status.context_window == SERVER_N_CTX
    assert status.latency_ms is not None and status.latency_ms > 0
    assert status.details["tokenizer"] == "exact"


def test_prompt_longer_than_the_context_is_a_model_error(embedded: EmbeddedModel) -> None:
    with pytest.raises(ModelError, match="exceed context window of 2048"):
        list(embedded.complete("wordy " * 1400, GenerationParams(max_tokens=4)))

"""The embedded backend with the real bundled SmolLM2 GGUF (n_ctx 2048), served by the
session's local model process: the same behaviour llama.cpp had in process (prefix reuse,
cancellation inside prompt evaluation, streaming, exact token counts), one hop away.

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
from repolens.backends.model_process import ProcessModel
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


def test_loads_once_and_describes_itself(embedded: ProcessModel, gguf: Path) -> None:
    info = embedded.info
    assert info.backend == "embedded"
    assert info.name == gguf.name
    assert info.location == str(gguf)
    assert info.context_window == SERVER_N_CTX
    assert info.extra["n_ctx_train"] == 8192
    assert info.extra["tokenizer"] == "exact"
    again = ProcessModel(ModelSettings(context_window=SERVER_N_CTX, threads=2))
    assert again.paths == embedded.paths  # one model process per GGUF + n_ctx
    "".join(embedded.complete("x = 1", GenerationParams(max_tokens=1)))
    "".join(again.complete("x = 2", GenerationParams(max_tokens=1)))
    assert again.last_pid == embedded.last_pid
    worker = again.process_status()["worker"]
    assert worker["n_threads"] == 1  # the first start's settings win
    settings = ModelSettings(context_window=SERVER_N_CTX)
    assert open_model(settings) is open_model(settings.model_copy())


def test_streams_a_short_completion(embedded: ProcessModel) -> None:
    pieces = list(embedded.complete("def add(a, b):\n", GenerationParams(max_tokens=8)))
    assert len(pieces) > 1 and "".join(pieces).strip()
    stats = embedded.last_stats
    assert stats is not None and 1 <= stats.eval_tokens <= 8 and not stats.cancelled


def test_chat_goes_through_the_gguf_chat_template(embedded: ProcessModel) -> None:
    question = "What is 2 + 2?"
    reply = "".join(embedded.chat([ChatMessage("user", question)], GenerationParams(max_tokens=8)))
    assert reply.strip()
    stats = embedded.last_stats
    assert stats is not None
    # the template wraps the message in role markers: more tokens than the question alone
    assert stats.kv_tokens - stats.eval_tokens > embedded.tokenizer.count(question) + 4


def test_tokenizer_counts_are_exact(embedded: ProcessModel) -> None:
    tokenizer = embedded.tokenizer
    assert tokenizer.count("") == 0
    assert tokenizer.count("<|im_start|>") == 1  # special tokens are parsed as in prompts
    text = "def f(x):\n    return x\n"
    one = tokenizer.count(text)
    assert 8 <= one <= 16
    assert tokenizer.count_many([text, "", text + text]) == [one, 0, 2 * one]
    assert tokenizer.exact


def test_estimate_is_calibrated_on_this_tokenizer(embedded: ProcessModel) -> None:
    sources = sorted(Path(__file__).resolve().parents[2].joinpath("repolens").rglob("*.py"))
    texts = [p.read_text(encoding="utf-8")[:20000] for p in sources if p.stat().st_size > 500]
    ratios = [estimate_tokens(t) / embedded.tokenizer.count(t) for t in texts]
    assert ratios and all(0.85 <= r <= 1.45 for r in ratios), ratios


def test_prefix_cache_evaluates_only_the_new_suffix(embedded: ProcessModel) -> None:
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


def test_two_threads_generate_concurrently(embedded: ProcessModel) -> None:
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


def test_cancel_between_tokens(embedded: ProcessModel) -> None:
    token = CancelToken()
    pieces: list[str] = []
    for piece in embedded.complete(COUNTING, GenerationParams(max_tokens=200), token):
        pieces.append(piece)
        if len(pieces) == 3:
            token.cancel()
    assert len(pieces) == 3
    stats = embedded.last_stats
    assert stats is not None and stats.cancelled and stats.eval_tokens <= 4


def test_cancel_aborts_a_long_prompt_evaluation(embedded: ProcessModel) -> None:
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


async def test_cancelling_the_task_frees_the_model(embedded: ProcessModel) -> None:
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


async def test_cancel_token_stops_async_generation(embedded: ProcessModel) -> None:
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
        ProcessModel(ModelSettings(gguf=str(missing)))


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"hello, not a model", "not a GGUF file"), (b"GGUF\x03\x00", "ends in the middle")],
)
def test_corrupt_gguf_is_unavailable(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    with pytest.raises(ModelUnavailable, match=expected):
        ProcessModel(ModelSettings(gguf=str(path)))  # read here: no process starts for it


def test_truncated_gguf_is_unavailable(
    tmp_path: Path, gguf: Path, private_model_processes: Path
) -> None:
    path = tmp_path / "truncated.gguf"
    with gguf.open("rb") as fh:
        path.write_bytes(fh.read(3_000_000))  # a download cut short: header fine, no weights
    model = ProcessModel(ModelSettings(gguf=str(path)))
    with pytest.raises(ModelUnavailable, match=r"could not load.*point model.gguf"):
        list(model.complete("x", GenerationParams(max_tokens=1)))
    # the model process gave up at once (no restart can load it) and says so to the next one
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable, match=r"gave up.*could not load"):
        list(model.complete("y", GenerationParams(max_tokens=1)))
    assert time.perf_counter() - started < 1.0
    assert model.process_status(ask=False)["starts"] == 1
    # token counts fall back to the estimate meanwhile (context building keeps working)
    assert model.tokenizer.count("def f(x):\n    return x\n") > 0
    assert not model.tokenizer.exact


def test_missing_llama_cpp_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_model_processes: Path
) -> None:
    # the model process's Python cannot import llama_cpp (shadowed by a broken package)
    shadow = tmp_path / "shadow" / "llama_cpp"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('no llama.cpp here')\n")
    monkeypatch.setenv("PYTHONPATH", str(shadow.parent))
    model = ProcessModel(ModelSettings(context_window=1024))
    with pytest.raises(ModelUnavailable, match="pip install llama-cpp-python"):
        list(model.complete("x", GenerationParams(max_tokens=1)))


def test_describe_the_embedded_model(embedded: ProcessModel) -> None:
    status = describe_model(ModelSettings(context_window=SERVER_N_CTX))
    assert status.answers, status.message
    assert status.backend == "embedded"
    assert status.model == embedded.info.name
    assert status.context_window == SERVER_N_CTX
    assert status.latency_ms is not None and status.latency_ms > 0
    assert status.details["tokenizer"] == "exact"


def test_prompt_longer_than_the_context_is_a_model_error(embedded: ProcessModel) -> None:
    with pytest.raises(ModelError, match="exceed context window of 2048"):
        list(embedded.complete("wordy " * 1400, GenerationParams(max_tokens=4)))

"""The OpenAI-compatible client on answers the real test server cannot produce.

``httpx.MockTransport`` stands in ONLY for payloads llama_cpp.server never sends: broken JSON,
missing fields, error bodies in vLLM/OpenAI/FastAPI/proxy shapes, vLLM's ``max_model_len``
and ``/tokenize``, llama-server's ``meta``/``/props``/native ``/tokenize``, several served
models. Everything a real server can show is tested in test_openai_server.py; "server down"
and "server silent" use real sockets here.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from repolens.backends import (
    CancelToken,
    GenerationParams,
    ModelError,
    ModelUnavailable,
    describe_model,
)
from repolens.backends.openai_http import OpenAIModel, estimate_tokens
from repolens.settings import ModelSettings

URL = "http://127.0.0.1:9/v1"
PARAMS = GenerationParams(max_tokens=8)
Handler = Callable[[httpx.Request], httpx.Response]


def sse(*events: object, done: bool = True) -> httpx.Response:
    lines = [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events]
    if done:
        lines.append("data: [DONE]\n\n")
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content="".join(lines).encode()
    )


def chunk(text: str, finish: str | None = None) -> dict[str, object]:
    return {"choices": [{"index": 0, "text": text, "finish_reason": finish}]}


def delta(content: str | None, finish: str | None = None) -> dict[str, object]:
    return {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]}


def model_with(handler: Handler, **settings: object) -> OpenAIModel:
    values: dict[str, object] = {"backend": "openai", "url": URL, "model": "m"}
    values.update(settings)
    return OpenAIModel(ModelSettings.model_validate(values), transport=httpx.MockTransport(handler))


def routes(table: dict[str, Handler | httpx.Response]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        answer = table.get(request.url.path)
        if answer is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        return answer(request) if callable(answer) else answer

    return handle


# ------------------------------------------------------------------ streams


def test_sse_comments_multiline_data_and_crlf_are_parsed() -> None:
    body = (
        ": ping\r\n\r\n"
        'data: {"choices": [{"text": "a"}]}\r\n\r\n'
        "event: message\n"
        'data: {"choices": [\n'
        'data: {"text": "b", "finish_reason": "length"}]}\n\n'
        "data: [DONE]\n\n"
    )
    model = model_with(
        lambda _r: httpx.Response(200, headers={"content-type": "text/event-stream"}, text=body)
    )
    assert list(model.complete("x", PARAMS)) == ["a", "b"]


def test_unicode_line_separators_inside_data_are_text_not_line_breaks() -> None:
    """Servers that write JSON as raw UTF-8 (llama-server, vLLM) send U+2028, U+2029 and NEL
    unescaped; only CR, LF and CRLF end an SSE line (``str.splitlines`` would split there)."""
    text = "a\u2028b\u2029c\x85d"
    body = (
        f"data: {json.dumps(chunk(text), ensure_ascii=False)}\r"
        "\r"
        f"data: {json.dumps(chunk('!', 'stop'), ensure_ascii=False)}\n\n"
    )
    model = model_with(
        lambda _r: httpx.Response(200, headers={"content-type": "text/event-stream"}, text=body)
    )
    assert list(model.complete("x", PARAMS)) == [text, "!"]


async def test_unicode_line_separators_async() -> None:
    text = "x\u2028y"
    model = model_with(
        lambda _r: httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            text=f"data: {json.dumps(chunk(text, 'stop'), ensure_ascii=False)}\n\n",
        )
    )
    assert [p async for p in model.acomplete("x", PARAMS)] == [text]


def test_events_without_data_are_skipped_and_a_missing_content_type_is_a_stream() -> None:
    body = f"event: ping\n\nretry: 100\n\ndata: {json.dumps(chunk('ok', 'stop'))}\n\n"
    model = model_with(lambda _r: httpx.Response(200, content=body.encode()))
    assert list(model.complete("x", PARAMS)) == ["ok"]


def test_request_body_carries_the_parameters_and_the_key() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return sse(chunk("ok", "stop"))

    model = model_with(handle, api_key="sekret")
    params = GenerationParams(max_tokens=5, temperature=0.2, stop=["\n\n"], top_p=0.9, seed=7)
    assert list(model.complete("prompt", params)) == ["ok"]
    body = json.loads(seen[0].content)
    assert body == {
        "model": "m",
        "prompt": "prompt",
        "max_tokens": 5,
        "temperature": 0.2,
        "top_p": 0.9,
        "stream": True,
        "stop": ["\n\n"],
        "seed": 7,
    }
    assert seen[0].headers["authorization"] == "Bearer sekret"
    assert seen[0].url.path == "/v1/completions"


def test_non_json_event_is_a_model_error() -> None:
    model = model_with(lambda _r: sse("this is not json"))
    with pytest.raises(ModelError, match="not JSON"):
        list(model.complete("x", PARAMS))


def test_chunk_without_choices_is_a_model_error() -> None:
    model = model_with(lambda _r: sse({"id": "x", "object": "text_completion"}))
    with pytest.raises(ModelError, match="no 'choices'"):
        list(model.complete("x", PARAMS))


def test_choice_without_text_is_a_model_error() -> None:
    model = model_with(lambda _r: sse({"choices": [{"index": 0}]}))
    with pytest.raises(ModelError, match="no text"):
        list(model.complete("x", PARAMS))


def test_error_event_mid_stream_carries_the_server_message() -> None:
    model = model_with(
        lambda _r: sse(chunk("a"), {"error": {"message": "KV cache is full", "code": 500}})
    )
    pieces: list[str] = []
    with pytest.raises(ModelError, match="KV cache is full"):
        for piece in model.complete("x", PARAMS):
            pieces.append(piece)
    assert pieces == ["a"]


def test_stream_ending_with_finish_reason_but_no_done_is_complete() -> None:
    model = model_with(lambda _r: sse(chunk("a"), chunk("b", "stop"), done=False))
    assert list(model.complete("x", PARAMS)) == ["a", "b"]


def test_stream_cut_short_is_a_model_error() -> None:
    model = model_with(lambda _r: sse(chunk("a"), done=False))
    with pytest.raises(ModelError, match="stopped before it was complete"):
        list(model.complete("x", PARAMS))


def test_a_stream_that_ends_because_it_was_cancelled_is_not_an_error() -> None:
    token = CancelToken()

    def body() -> Iterator[bytes]:
        yield f"data: {json.dumps(chunk('a'))}\n\n".encode()
        token.cancel()  # as when the socket is shut down: the stream just ends

    model = model_with(
        lambda _r: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=body()
        )
    )
    assert list(model.complete("x", PARAMS, token)) == ["a"]


def test_server_that_ignores_stream_true_still_works() -> None:
    model = model_with(
        routes(
            {
                "/v1/completions": httpx.Response(200, json=chunk("whole", "stop")),
                "/v1/chat/completions": httpx.Response(
                    200,
                    json={"choices": [{"message": {"role": "assistant", "content": "hi"}}]},
                ),
            }
        )
    )
    assert list(model.complete("x", PARAMS)) == ["whole"]
    assert list(model.chat([], PARAMS)) == ["hi"]


def test_chat_role_and_empty_deltas_are_skipped() -> None:
    model = model_with(
        lambda _r: sse(
            {"choices": [{"delta": {"role": "assistant"}}]},
            delta("Hel"),
            delta(None),
            delta("lo", "stop"),
            {"choices": [], "usage": {"completion_tokens": 2}},
        )
    )
    assert list(model.chat([], PARAMS)) == ["Hel", "lo"]


# ------------------------------------------------------------------ HTTP errors


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(500, json={"error": {"message": "CUDA out of memory"}}), "CUDA out of"),
        (
            httpx.Response(
                400,
                json={
                    "object": "error",
                    "message": "This model's maximum context length is 32768 tokens.",
                    "type": "BadRequestError",
                },
            ),
            "maximum context length is 32768",
        ),
        (httpx.Response(422, json={"detail": [{"loc": ["body", "prompt"], "msg": "bad"}]}), "bad"),
        (
            httpx.Response(502, text="<html><body><h1>502 Bad Gateway</h1></body></html>"),
            "502 Bad Gateway",
        ),
        (httpx.Response(503, text=""), "Service Unavailable"),
    ],
)
def test_http_errors_carry_the_server_message(response: httpx.Response, expected: str) -> None:
    model = model_with(lambda _r: response)
    with pytest.raises(ModelError) as excinfo:
        list(model.complete("x", PARAMS))
    assert expected in str(excinfo.value)
    assert f"HTTP {response.status_code}" in str(excinfo.value)
    assert not isinstance(excinfo.value, ModelUnavailable)


async def test_async_errors_match_sync_errors() -> None:
    model = model_with(lambda _r: sse("{broken"))
    with pytest.raises(ModelError, match="not JSON"):
        [p async for p in model.acomplete("x", PARAMS)]
    model = model_with(lambda _r: httpx.Response(500, json={"error": "boom"}))
    with pytest.raises(ModelError, match="boom"):
        [p async for p in model.achat([], PARAMS)]


def test_context_length_error_corrects_a_default_window() -> None:
    handler = routes(
        {
            "/v1/models": httpx.Response(200, json={"data": [{"id": "m"}]}),
            "/v1/completions": httpx.Response(
                400, json={"error": {"message": "This model's maximum context length is 16384"}}
            ),
        }
    )
    model = model_with(handler, model=None)
    assert model.info.context_window == 4096
    with pytest.raises(ModelError):
        list(model.complete("x", PARAMS))
    assert model.info.context_window == 16384
    assert model.info.extra["context_window_source"] == "server error message"


# ------------------------------------------------------------------ discovery


def test_vllm_models_report_max_model_len() -> None:
    handler = routes(
        {
            "/v1/models": httpx.Response(
                200,
                json={
                    "object": "list",
                    "data": [{"id": "Qwen/Qwen2.5-Coder-7B", "max_model_len": 131072}],
                },
            )
        }
    )
    info = model_with(handler, model=None).info
    assert (info.name, info.context_window) == ("Qwen/Qwen2.5-Coder-7B", 131072)
    assert info.extra["context_window_source"] == "/v1/models max_model_len"


def test_llama_server_props_win_over_n_ctx_train() -> None:
    handler = routes(
        {
            "/v1/models": httpx.Response(
                200, json={"data": [{"id": "coder.gguf", "meta": {"n_ctx_train": 32768}}]}
            ),
            "/props": httpx.Response(200, json={"default_generation_settings": {"n_ctx": 8192}}),
        }
    )
    assert model_with(handler, model=None).info.context_window == 8192
    no_props = routes(
        {
            "/v1/models": httpx.Response(
                200, json={"data": [{"id": "coder.gguf", "meta": {"n_ctx_train": 32768}}]}
            )
        }
    )
    assert model_with(no_props, model=None).info.context_window == 32768


def test_settings_override_what_the_server_reports() -> None:
    calls: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, json={"data": [{"id": "a", "max_model_len": 4096}]})

    info = model_with(handle, model="b", context_window=65536).info
    assert (info.name, info.context_window) == ("b", 65536)
    assert calls == []  # nothing to discover


def test_several_served_models_need_a_choice() -> None:
    handler = routes({"/v1/models": httpx.Response(200, json={"data": [{"id": "a"}, {"id": "b"}]})})
    with pytest.raises(ModelError, match=r"serves 2 models \(a, b\).*model\.model"):
        _ = model_with(handler, model=None).info


def test_no_served_model_is_reported() -> None:
    handler = routes({"/v1/models": httpx.Response(200, json={"data": []})})
    with pytest.raises(ModelError, match="lists no models"):
        _ = model_with(handler, model=None).info


def test_url_without_v1_is_accepted() -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return sse(chunk("x", "stop"))

    model = model_with(handle, url="http://127.0.0.1:9")
    list(model.complete("p", PARAMS))
    assert seen == ["/v1/completions"]
    assert model.root_url == "http://127.0.0.1:9"


# ------------------------------------------------------------------ tokenizers


def test_vllm_tokenize_is_used_without_special_tokens() -> None:
    bodies: list[dict[str, object]] = []

    def tokenize(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if "prompt" not in body:
            return httpx.Response(400, json={"object": "error", "message": "prompt missing"})
        text = str(body["prompt"])
        return httpx.Response(200, json={"count": len(text.split()), "tokens": []})

    model = model_with(routes({"/tokenize": tokenize}))
    assert model.tokenizer.count("one two three") == 3
    assert model.tokenizer.kind == "vllm"
    assert bodies[-1] == {"model": "m", "prompt": "one two three", "add_special_tokens": False}


def test_llama_server_native_tokenize_is_recognised() -> None:
    def tokenize(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        text = str(body.get("content", ""))  # a vLLM-shaped body gets no tokens
        tokens = [1, *range(len(text.split()))]  # with the BOS it adds to every text
        return httpx.Response(200, json={"tokens": tokens})

    model = model_with(routes({"/tokenize": tokenize}))
    assert model.tokenizer.count("a b c d") == 4  # the BOS measured on "" is subtracted
    assert model.tokenizer.kind == "llama-server"


def test_no_tokenize_endpoint_falls_back_to_the_estimate() -> None:
    model = model_with(routes({}))
    text = "def hello(name):\n    return f'hi {name}'\n"
    assert model.tokenizer.count(text) == estimate_tokens(text)
    assert model.tokenizer.kind == "estimate"
    assert model.tokenizer.exact is False


def test_estimate_is_sane() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("x") == 1
    code = "def add(a: int, b: int) -> int:\n    return a + b\n"
    assert 12 <= estimate_tokens(code) <= 30
    assert estimate_tokens(code * 10) >= 10 * estimate_tokens(code) - 10


# ------------------------------------------------------------------ real sockets


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there any more


def test_server_down_is_model_unavailable_within_the_connect_timeout() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    model = OpenAIModel(ModelSettings(backend="openai", url=url, connect_timeout_s=1.0))
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable) as excinfo:
        list(model.complete("x", PARAMS))  # discovery (GET /v1/models) fails first
    assert time.perf_counter() - started < 1.0 + 0.5
    message = str(excinfo.value)
    assert url in message and "repolens model serve" in message and "model.url" in message


async def test_server_down_async() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    model = OpenAIModel(ModelSettings(backend="openai", url=url, model="m", connect_timeout_s=1))
    with pytest.raises(ModelUnavailable, match="cannot connect"):
        [p async for p in model.achat([], PARAMS)]
    await model.aclose()


def test_describe_a_down_server() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    status = describe_model(ModelSettings(backend="openai", url=url))
    assert not status.answers
    assert url in status.message


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def test_silent_server_times_out_with_a_clear_message(silent_server: str) -> None:
    model = OpenAIModel(
        ModelSettings(backend="openai", url=silent_server, model="m", timeout_s=0.5)
    )
    started = time.perf_counter()
    with pytest.raises(ModelError, match=r"sent nothing for 0\.5 s \(model\.timeout_s\)"):
        list(model.complete("x", PARAMS))
    assert time.perf_counter() - started < 2.0


def test_openai_backend_needs_a_url() -> None:
    with pytest.raises(ModelUnavailable, match="REPOLENS_MODEL_URL"):
        OpenAIModel(ModelSettings(backend="openai"))

"""`repolens serve` against malformed input: a NUL character or a lone surrogate in a path,
``text`` or ``question``, NaN and Infinity (which JSON does not have), non-ASCII bearer
tokens, odd WebSocket frames. Each gets a 4xx (or an error event) with a message; a traceback
goes to the log only, never into an answer.

The request bodies go through the real ASGI app and its guard in process (a socket adds
nothing to how a body is parsed); headers and the start-up check go through a real process,
whose HTTP parser (uvicorn's) decides which header bytes reach the app.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from websockets.sync.client import connect

from repolens.app import Services
from repolens.http import ServerConfig, create_app
from repolens.settings import load_settings
from repolens.workspace import Workspace
from tests.conftest import repolens_cli
from tests.http.test_server import Served, _serve


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def services(fixture_repo: Callable[[str], Path]) -> Iterator[Services]:
    # a model server that is down: a request that got past validation says so (503) at once,
    # nothing loads a model
    root = fixture_repo("python_app")
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    settings, _ = load_settings(root, {"model": {"backend": "openai", "url": url}})
    s = Services(Workspace(root, settings))
    yield s
    deadline = time.monotonic() + 30
    while s.indexing.state.running and time.monotonic() < deadline:  # the app's own run
        time.sleep(0.05)
    s.close()


def _client(services: Services, config: ServerConfig | None = None) -> TestClient:
    # 500s come back as responses (as a socket client sees them), not as raised exceptions
    return TestClient(
        create_app(services, config),
        base_url="http://127.0.0.1:8765",
        raise_server_exceptions=False,
    )


def assert_refused(r: httpx.Response) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json"), r.headers
    assert r.json()["detail"], r.text
    assert "Traceback" not in r.text


POSITION = '"line": 1, "column": 1'

#: (endpoint, raw JSON body): each was a 500, or got past the edge into the engine.
BODIES = {
    "NUL in a path": ("/v1/context", f'{{"file": "main\\u0000.py", {POSITION}}}'),
    "surrogate in a path": ("/v1/context", f'{{"file": "main\\ud800.py", {POSITION}}}'),
    "NUL in text": ("/v1/context", f'{{"file": "main.py", {POSITION}, "text": "a\\u0000"}}'),
    "surrogate in text": ("/v1/context", f'{{"file": "main.py", {POSITION}, "text": "\\udc80"}}'),
    "NUL in a completion path": ("/v1/complete", f'{{"file": "a\\u0000.py", {POSITION}}}'),
    "surrogate in completion text": (
        "/v1/complete",
        f'{{"file": "main.py", {POSITION}, "text": "x = \\ud83d"}}',
    ),
    "NUL in a question": ("/v1/ask", '{"question": "what\\u0000"}'),
    "surrogate in a question": ("/v1/ask", '{"question": "what \\ud800 is"}'),
    "NaN budget": ("/v1/context", f'{{"file": "main.py", {POSITION}, "budget": NaN}}'),
    "Infinity line": ("/v1/context", '{"file": "main.py", "line": Infinity, "column": 1}'),
    "-Infinity column": ("/v1/complete", '{"file": "main.py", "line": 1, "column": -Infinity}'),
    "1e400 (infinite) line": ("/v1/context", '{"file": "main.py", "line": 1e400, "column": 1}'),
    "NaN question budget": ("/v1/ask", '{"question": "x", "budget": NaN}'),
    "NaN staged": ("/v1/commit-message", '{"staged": NaN}'),
    "NaN in a key nobody reads": ("/v1/ask", '{"question": "x", "extra": NaN}'),
}


@pytest.mark.parametrize("case", list(BODIES))
def test_malformed_bodies_get_a_4xx_with_a_message(services: Services, case: str) -> None:
    endpoint, body = BODIES[case]
    with _client(services) as client:
        r = client.post(
            endpoint, content=body.encode(), headers={"content-type": "application/json"}
        )
        assert_refused(r)
        assert r.status_code == 422
        # the answer says what is wrong without echoing the input back
        assert "\\u0000" not in r.text and "\\ud8" not in r.text.lower()
        assert client.get("/v1/health").status_code == 200


def test_a_nul_in_a_file_query_gets_a_4xx(services: Services) -> None:
    with _client(services) as client:
        r = client.get("/v1/file", params={"path": "app/util\x00.py"})
        assert_refused(r)


def test_an_unexpected_error_is_a_json_500_and_its_traceback_goes_to_the_log(
    services: Services, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an earlier in-process CLI run may have configured repolens' logging not to propagate
    monkeypatch.setattr(logging.getLogger("repolens"), "propagate", True)
    app = create_app(services)

    def boom() -> None:
        raise RuntimeError("secret detail of the failure")

    app.fastapi.add_api_route("/v1/boom", boom)  # what no route does today, on purpose
    client = TestClient(app, base_url="http://127.0.0.1:8765", raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="repolens"), client:
        r = client.get("/v1/boom")
        assert r.status_code == 500 and r.headers["content-type"] == "application/json"
        assert "secret detail" not in r.text and "Traceback" not in r.text
        assert "server log" in r.json()["detail"]
        assert client.get("/v1/health").status_code == 200
    logged = [rec for rec in caplog.records if rec.exc_info]
    assert logged and "secret detail" in str(logged[0].exc_info[1])  # type: ignore[index]


@pytest.fixture
def served_chat(fixture_repo: Callable[[str], Path]) -> Iterator[Served]:
    # a model that is down but named (no discovery): retrieval runs, the answer fails, so a
    # question that got past the edge shows up as a "context" event before an "error" one
    env = dict(
        os.environ,
        REPOLENS__MODEL__BACKEND="openai",
        REPOLENS__MODEL__URL=f"http://127.0.0.1:{_closed_port()}/v1",
        REPOLENS__MODEL__MODEL="m",
        REPOLENS__MODEL__CONTEXT_WINDOW="4096",
    )
    s = _serve(fixture_repo("python_app"), env=env)
    yield s
    s.proc.terminate()
    _, err = s.proc.communicate(timeout=10)
    assert "Traceback" not in err


WEBSOCKET_MESSAGES = {
    "surrogate in a question": ('{"type": "ask", "id": 1, "question": "x \\ud800"}', 1),
    "NUL in a question": ('{"type": "ask", "id": 2, "question": "x\\u0000"}', 2),
    "NaN budget": ('{"type": "ask", "id": 3, "question": "x", "budget": NaN}', None),
    "NaN id": ('{"type": "ask", "id": NaN, "question": "x"}', None),
    "a budget that is not a number": ('{"type": "ask", "id": 4, "budget": "lots"}', 4),
}


@pytest.mark.parametrize("case", list(WEBSOCKET_MESSAGES))
def test_malformed_chat_messages_get_an_error_event_and_the_socket_lives(
    served_chat: Served, case: str
) -> None:
    text, rid = WEBSOCKET_MESSAGES[case]
    with connect(served_chat.url.replace("http://", "ws://") + "/v1/chat") as ws:
        ws.send(text)
        event = json.loads(ws.recv(timeout=10))  # first: no "context" from a bad question
        assert event["type"] == "error", event
        assert event["message"] and "Traceback" not in event["message"]
        assert event.get("id") == rid
        ws.send(json.dumps({"type": "what", "id": 9}))  # the socket still answers
        assert json.loads(ws.recv(timeout=10)) == {
            "type": "error",
            "id": 9,
            "message": "unknown type 'what'",
        }


def test_a_binary_chat_frame_gets_an_error_event(served_chat: Served) -> None:
    with connect(served_chat.url.replace("http://", "ws://") + "/v1/chat") as ws:
        ws.send(b'{"type": "ask", "id": 1, "question": "x"}')
        event = json.loads(ws.recv(timeout=10))
        assert event["type"] == "error" and "text" in event["message"], event
        ws.send(json.dumps({"type": "what"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "error"


def test_non_ascii_authorization_headers_are_401_not_500(
    fixture_repo: Callable[[str], Path],
) -> None:
    s = _serve(fixture_repo("python_app"), "--token", "s3cret")
    try:
        for value in ("Bearer sécret".encode(), "Bearer s\xe9cret".encode("latin-1"), b"\xff"):
            r = httpx.get(s.url + "/v1/status", headers=[(b"authorization", value)])
            assert r.status_code == 401 and "bearer token" in r.json()["detail"], value
        for query in ("token=s%C3%A9cret", "token=s%E9cret", "token=%FF"):
            r = httpx.get(f"{s.url}/?{query}")
            assert r.status_code == 401, query
        assert httpx.get(s.url + "/v1/status", headers=s.headers()).status_code == 200
    finally:
        s.proc.terminate()
        _, err = s.proc.communicate(timeout=10)
    assert "Traceback" not in err


def test_a_non_ascii_token_is_refused_at_start_up(fixture_repo: Callable[[str], Path]) -> None:
    # HTTP carries header values as ASCII (a browser's fetch refuses others), so such a
    # token could never be sent: refuse it with what to use instead, before serving anything
    root = fixture_repo("python_app")
    proc = subprocess.run(
        [*repolens_cli(), "serve", "--repo", str(root), "--port", "0", "--token", "sécret"],
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(os.environ),
    )
    assert proc.returncode != 0
    assert "token" in proc.stderr and "ASCII" in proc.stderr and "Traceback" not in proc.stderr
    with pytest.raises(ValueError, match="ASCII"):
        ServerConfig(token="sécret")
    with pytest.raises(ValueError, match="ASCII"):
        ServerConfig(token="with space")

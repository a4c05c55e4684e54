"""What a misbehaving client or a broken environment gets: the right JSON-RPC/LSP error or an
empty result, and a server that stays up. Driven byte by byte (tests/lsp/rawclient.py), so
every byte the server wrote to stdout is checked to be a well-framed message."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import SMALL
from .rawclient import RawClient, parse_frames

pytestmark = pytest.mark.e2e

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
SERVER_NOT_INITIALIZED = -32002


def _error(response: dict[str, Any]) -> int:
    assert "error" in response, response
    code: int = response["error"]["code"]
    return code


def _alive(raw: RawClient) -> dict[str, Any]:
    response = raw.request(
        "workspace/executeCommand", {"command": "repolens.status", "arguments": []}
    )
    assert "result" in response, response
    result: dict[str, Any] = response["result"]
    return result


def _inline(raw: RawClient, doc_uri: str, line: int, character: int) -> dict[str, Any]:
    return raw.request(
        "textDocument/inlineCompletion",
        {
            "textDocument": {"uri": doc_uri},
            "position": {"line": line, "character": character},
            "context": {"triggerKind": 1},
        },
    )


def _open(raw: RawClient, path: Path, text: str) -> str:
    doc_uri = path.resolve().as_uri()
    raw.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": doc_uri, "languageId": "python", "version": 1, "text": text}},
    )
    return doc_uri


def test_protocol_errors(raw: RawClient, fixture_repo: Callable[[str], Path]) -> None:
    root = fixture_repo("python_app")
    # before initialize: requests get ServerNotInitialized, notifications are dropped
    early = raw.request("textDocument/completion", {"textDocument": {"uri": "file:///a.py"}})
    assert _error(early) == SERVER_NOT_INITIALIZED
    raw.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///a.py"}})

    # malformed JSON and JSON that is no JSON-RPC message: errors with a null id
    raw.send_bytes(b'{"jsonrpc": "2.0", "id": 7, "method": ')
    assert _error(raw.wait_response(None)) == PARSE_ERROR
    raw.send_bytes(b"[1, 2, 3]")
    assert _error(raw.wait_response(None)) == INVALID_REQUEST
    raw.send_bytes(b"\xff\xfe not utf-8")
    assert _error(raw.wait_response(None)) == PARSE_ERROR

    assert "result" in raw.initialize(root, SMALL)
    assert _error(raw.request("initialize", {"capabilities": {}})) == INVALID_REQUEST

    # unknown methods; params of the wrong shape answer for their own id
    assert _error(raw.request("repolens/noSuchThing", {})) == METHOD_NOT_FOUND
    raw.notify("repolens/noSuchNotification", {})
    bad = raw.request("textDocument/inlineCompletion", {"textDocument": 5})
    assert _error(bad) == INVALID_PARAMS
    assert (
        _error(raw.request("workspace/executeCommand", {"command": "rm -rf", "arguments": []}))
        == INVALID_PARAMS
    )
    args = {"command": "repolens.context", "arguments": [{"uri": 42}]}
    assert _error(raw.request("workspace/executeCommand", args)) == INVALID_PARAMS
    raw.notify("textDocument/didChange", {"textDocument": "garbage"})
    assert _alive(raw)["folders"]

    # after shutdown: an error, not silence; exit 0 because shutdown came first
    assert raw.request("shutdown")["result"] is None
    assert _error(raw.request("textDocument/hover", {})) == INVALID_REQUEST
    raw.notify("exit")
    assert raw.proc.wait(timeout=30) == 0


def test_exit_without_shutdown_is_an_error_exit(
    raw: RawClient, fixture_repo: Callable[[str], Path]
) -> None:
    raw.initialize(fixture_repo("python_app"), SMALL)
    raw.notify("exit")
    assert raw.proc.wait(timeout=30) == 1


def test_files_outside_the_workspace_are_never_read(
    raw: RawClient, fixture_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    root = fixture_repo("python_app")
    secret = tmp_path / "secret.py"
    secret.write_text("API_KEY = 'do-not-leak-me'\n")
    (root / "link.py").symlink_to(secret)  # inside by name, outside in fact
    raw.initialize(root, SMALL)
    raw.wait_indexed()
    for target in (secret, root / "link.py", root / ".." / secret.name):
        doc_uri = target.as_uri() if target.is_absolute() else target.resolve().as_uri()
        response = _inline(raw, doc_uri, 0, 5)
        assert response["result"]["items"] == []
        context = raw.request(
            "workspace/executeCommand",
            {
                "command": "repolens.context",
                "arguments": [{"uri": doc_uri, "position": {"line": 0, "character": 5}}],
            },
        )
        assert _error(context) == INVALID_PARAMS
        assert "do-not-leak-me" not in json.dumps(context)
    assert "do-not-leak-me" not in bytes(raw.stdout).decode()
    # non-file URIs (an unsaved "untitled" buffer) get nothing either
    assert _inline(raw, "untitled:Untitled-1", 0, 0)["result"]["items"] == []


def test_a_huge_document_gets_no_completion(
    raw: RawClient, fixture_repo: Callable[[str], Path]
) -> None:
    root = fixture_repo("python_app")
    raw.initialize(root, {**SMALL, "index": {"max_file_bytes": 200_000}})
    raw.wait_indexed()
    line = "value = compute(1, 2, 3)  # " + "x" * 70 + "\n"
    huge = line * 30_000  # 3 MB
    doc_uri = _open(raw, root / "generated.py", huge)
    started = time.monotonic()
    response = _inline(raw, doc_uri, 29_999, 10)
    assert response["result"]["items"] == []
    assert time.monotonic() - started < 10
    # edits to it are still applied (and cheap); the server is fine
    raw.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": doc_uri, "version": 2},
            "contentChanges": [
                {
                    "range": {
                        "start": {"line": 5, "character": 0},
                        "end": {"line": 5, "character": 5},
                    },
                    "text": "VALUE",
                }
            ],
        },
    )
    assert _alive(raw)["open_documents"] == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there now


def test_a_model_that_is_down_is_reported_once(
    raw: RawClient, fixture_repo: Callable[[str], Path]
) -> None:
    root = fixture_repo("python_app")
    options = {
        "model": {"backend": "openai", "url": f"http://127.0.0.1:{_closed_port()}/v1"},
        "completion": {"debounce_ms": 0},
    }
    raw.initialize(root, options)
    raw.wait_indexed()
    text = (root / "main.py").read_text() + "\nx = "
    doc_uri = _open(raw, root / "main.py", text)
    last = len(text.split("\n")) - 1
    for _ in range(3):
        response = _inline(raw, doc_uri, last, 4)
        assert response["result"]["items"] == []
    shown = [
        m
        for m in raw.of_method("window/showMessage")
        if "model is unavailable" in m["params"]["message"]
    ]
    assert len(shown) == 1, shown
    assert shown[0]["params"]["type"] == 1  # Error
    status = _alive(raw)
    assert status["folders"][0]["model_problem"]
    # the completion-list fallback behaves the same
    completion = raw.request(
        "textDocument/completion",
        {"textDocument": {"uri": doc_uri}, "position": {"line": last, "character": 4}},
    )
    assert "error" in completion or completion["result"]["items"] == []


def test_stdout_carries_only_protocol_even_with_debug_logs(
    tmp_path: Path, fixture_repo: Callable[[str], Path]
) -> None:
    import os

    root = fixture_repo("python_app")
    env = dict(os.environ, REPOLENS_LOG="debug")
    raw = RawClient(tmp_path, env=env)
    try:
        raw.initialize(root, SMALL)
        raw.wait_indexed()
        text = (root / "main.py").read_text() + "\ndef greet(user):\n    return welcome("
        doc_uri = _open(raw, root / "main.py", text)
        context = raw.request(
            "workspace/executeCommand",
            {
                "command": "repolens.context",
                "arguments": [{"uri": doc_uri, "position": {"line": 19, "character": 19}}],
            },
        )
        assert "result" in context
        assert raw.shutdown() == 0
    finally:
        raw.kill()
    messages = parse_frames(bytes(raw.stdout))
    assert messages and all(m.get("jsonrpc") == "2.0" for m in messages)
    assert b"repolens DEBUG" in bytes(raw.stderr) or b"repolens INFO" in bytes(raw.stderr)

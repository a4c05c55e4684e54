"""LSP framing (the base protocol's ``Content-Length`` headers), on stdio and TCP.

A malformed header gets a ParseError with a null id, and the server finds the next message: a
``Content-Length: N`` line cannot occur inside a JSON body (JSON strings hold no raw CR LF),
so the first one after the broken header starts the next frame. A message longer than the
limit closes the connection at once instead of waiting for bytes that never come.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from .rawclient import RawClient, parse_frames
from .tcpclient import LspTcpServer, frame

pytestmark = pytest.mark.e2e

PARSE_ERROR = -32700
SERVER_NOT_INITIALIZED = -32002


def _write(raw: RawClient, data: bytes) -> None:
    assert raw.proc.stdin is not None
    try:
        raw.proc.stdin.write(data)
        raw.proc.stdin.flush()
    except BrokenPipeError:
        pass  # the server closed the stream: the test checks how


def _shutdown(ident: int) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": ident, "method": "shutdown"}).encode()


def _request(ident: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "method": "shutdown"}


def _parse_errors(raw: RawClient) -> list[dict[str, Any]]:
    return [m for m in parse_frames(bytes(raw.stdout)) if m.get("id") is None and "error" in m]


def test_a_bad_content_length_is_reported_and_the_next_message_answered(raw: RawClient) -> None:
    _write(
        raw, b"Content-Length: abc\r\n\r\n" + _shutdown(1) + frame(_request(2)) + frame(_request(3))
    )
    error = raw.wait_response(None, timeout=20)
    assert error["error"]["code"] == PARSE_ERROR
    assert "Content-Length" in error["error"]["message"]
    # resynchronised: the broken message is lost (its id is unknowable), the next two are not
    assert raw.wait_response(2, timeout=20)["error"]["code"] == SERVER_NOT_INITIALIZED
    assert raw.wait_response(3, timeout=20)["error"]["code"] == SERVER_NOT_INITIALIZED
    assert raw.proc.poll() is None


@pytest.mark.parametrize(
    "header",
    [
        b"Content-Length: -5\r\n",
        b"Content-Length: 12 34\r\n",
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n",  # no length at all
        b"Content-Length: 10\r\nContent-Length: 20\r\n",
    ],
    ids=["negative", "two-numbers", "missing", "conflicting"],
)
def test_other_broken_headers_resync_too(raw: RawClient, header: bytes) -> None:
    _write(raw, header + b"\r\n" + _shutdown(1) + frame(_request(2)))
    assert raw.wait_response(None, timeout=20)["error"]["code"] == PARSE_ERROR
    assert raw.wait_response(2, timeout=20)["error"]["code"] == SERVER_NOT_INITIALIZED


def test_headers_the_spec_allows_in_any_case_and_order(raw: RawClient) -> None:
    body = _shutdown(1)
    _write(
        raw,
        b"content-type: application/vscode-jsonrpc; charset=utf-8\r\n"
        b"CONTENT-LENGTH:%d\r\n\r\n" % len(body) + body,
    )
    assert raw.wait_response(1, timeout=20)["error"]["code"] == SERVER_NOT_INITIALIZED
    assert not _parse_errors(raw)


def test_unknown_headers_on_stdio_are_skipped_as_before(raw: RawClient) -> None:
    # the editor started us: stdio keeps pygls' leniency for headers it does not know
    body = _shutdown(1)
    _write(raw, b"X-Editor: 1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert raw.wait_response(1, timeout=20)["error"]["code"] == SERVER_NOT_INITIALIZED


def test_a_huge_content_length_closes_the_stream_at_once(raw: RawClient) -> None:
    started = time.monotonic()
    _write(raw, b"Content-Length: 1000000000000\r\n\r\n" + _shutdown(1))
    assert raw.proc.wait(timeout=5) == 1
    assert time.monotonic() - started < 5
    lines = [line for line in bytes(raw.stderr).decode().splitlines() if "1000000000000" in line]
    assert len(lines) == 1, bytes(raw.stderr).decode()
    assert "MiB" in lines[0]


def test_a_header_without_end_closes_the_stream(raw: RawClient) -> None:
    _write(raw, b"Content-Length: 5" + b"5" * (2 << 20))
    assert raw.proc.wait(timeout=10) == 1


def test_framing_errors_on_tcp_after_the_token(tmp_path: Path) -> None:
    server = LspTcpServer(tmp_path)
    try:
        client = server.client()
        token = (Path(os.environ["XDG_CONFIG_HOME"]) / "repolens" / "lsp-token").read_text()
        response = client.initialize(tmp_path, {"token": token.strip()})
        assert "result" in response, response
        client.send_raw(b"Content-Length: abc\r\n\r\n" + _shutdown(7) + frame(_request(8)))
        assert client.wait_response(None, timeout=20)["error"]["code"] == PARSE_ERROR
        assert client.wait_response(8, timeout=20)["result"] is None  # shutdown, answered
        started = time.monotonic()
        client.send_raw(b"Content-Length: 1000000000000\r\n\r\n{}")
        assert client.wait_closed(5)
        assert time.monotonic() - started < 5
        assert server.proc.wait(timeout=10) == 0  # after shutdown: the session ended well
    finally:
        server.kill()

"""``repolens lsp --tcp``: only LSP framing, only a client with the token.

A web page can make the browser send a no-cors ``POST`` with a ``text/plain`` body to any
loopback port. Were the server to read that as an LSP message, a page could initialize it with
a model URL of its choosing and have ``repolens.ask`` send the repository there. So the first
bytes of a connection must be an LSP header, and ``initialize`` must carry the token that
``repolens lsp --tcp`` keeps in the user config dir; nothing a client without it sends (a model
URL included) is ever used.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import SMALL
from .tcpclient import Canary, LspTcpServer, TcpClient, frame, read_until_closed

pytestmark = pytest.mark.e2e

REQUEST_FAILED = -32803
SERVER_NOT_INITIALIZED = -32002


def token_path() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "repolens" / "lsp-token"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LspTcpServer]:
    srv = LspTcpServer(tmp_path)
    try:
        yield srv
    finally:
        srv.kill()


@pytest.fixture
def canary() -> Iterator[Canary]:
    listener = Canary()
    try:
        yield listener
    finally:
        listener.close()


def _initialize_params(root: Path, options: object) -> dict[str, object]:
    return {
        "processId": None,
        "rootUri": root.resolve().as_uri(),
        "workspaceFolders": [{"uri": root.resolve().as_uri(), "name": root.name}],
        "capabilities": {},
        "initializationOptions": options,
    }


def _browser_post(port: int, message: dict[str, object]) -> bytes:
    """What ``fetch(url, {method: "POST", mode: "no-cors", body: JSON.stringify(m)})`` sends."""
    body = json.dumps(message).encode()
    head = (
        "POST / HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Connection: keep-alive\r\n"
        "Content-Type: text/plain;charset=UTF-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Origin: https://attacker.example\r\n"
        "Sec-Fetch-Mode: no-cors\r\n"
        "User-Agent: Mozilla/5.0\r\n"
        "\r\n"
    )
    return head.encode() + body


def test_a_browser_shaped_post_is_refused(
    server: LspTcpServer, canary: Canary, fixture_repo: Callable[[str], Path]
) -> None:
    root = fixture_repo("python_app")
    evil = {"model": {"backend": "openai", "url": canary.url}}
    posts = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": _initialize_params(root, evil),
        },
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "workspace/executeCommand",
            "params": {"command": "repolens.ask", "arguments": [{"question": "what is here?"}]},
        },
    ]
    for message in posts:
        sock = server.connect()
        with sock:
            sock.sendall(_browser_post(server.port, message))
            answer, closed = read_until_closed(sock, timeout=10)
        assert answer == b""  # not a byte of LSP, not even an error
        assert closed  # and the connection is gone
    assert canary.connections == 0
    assert server.proc.poll() is None  # a refused connection does not end the server
    refused = server.stderr_lines("refused", len(posts))
    assert len(refused) == len(posts), server.stderr_text()
    assert "HTTP" in refused[0]

    # the editor that the user meant to connect still can
    client = server.client()
    response = client.initialize(root, {**SMALL, "token": token_path().read_text().strip()})
    assert "result" in response, response


def test_any_unknown_header_line_is_refused(server: LspTcpServer) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "shutdown"}).encode()
    sock = server.connect()
    with sock:
        sock.sendall(b"Content-Length: %d\r\nX-Forwarded: yes\r\n\r\n" % len(body) + body)
        answer, closed = read_until_closed(sock, timeout=10)
    assert answer == b""
    assert closed


def test_initialize_needs_the_token(
    server: LspTcpServer, fixture_repo: Callable[[str], Path]
) -> None:
    root = fixture_repo("python_app")
    for options in (SMALL, {**SMALL, "token": "guessed"}, {**SMALL, "token": 12}):
        client = server.client()
        response = client.initialize(root, options)
        assert response["error"]["code"] == REQUEST_FAILED, response
        assert "token" in response["error"]["message"]
        assert client.wait_closed(10)
        client.close()
    assert server.proc.poll() is None

    # where the token is was printed when the server started
    assert str(token_path()) in server.stderr_text()
    assert (token_path().stat().st_mode & 0o777) == 0o600


def test_with_the_token_a_client_works_as_on_stdio(
    server: LspTcpServer, fixture_repo: Callable[[str], Path]
) -> None:
    root = fixture_repo("python_app")
    client = server.client()
    # before initialize: the usual error, and the connection stays
    early = client.request("shutdown")
    assert early["error"]["code"] == SERVER_NOT_INITIALIZED
    token = token_path().read_text().strip()
    response = client.initialize(root, {**SMALL, "token": token})
    assert "capabilities" in response["result"]
    client.notify("initialized", {})
    status = client.request(
        "workspace/executeCommand", {"command": "repolens.status", "arguments": []}
    )
    assert status["result"]["folders"][0]["root"] == str(root.resolve())
    # the token is no setting: nothing complains about an unknown key
    messages = [
        m["params"]["message"]
        for m in client.notifications
        if m["method"] in ("window/showMessage", "window/logMessage")
    ]
    assert not [m for m in messages if re.search(r"\btoken\b", m)], messages

    # one session at a time: a second connection is refused while this one lasts
    other = server.client()
    refused = other.initialize(root, {"token": token})
    assert "error" in refused
    assert other.wait_closed(10)

    assert client.request("shutdown")["result"] is None
    client.notify("exit")
    assert server.proc.wait(timeout=30) == 0


def test_a_client_without_the_token_cannot_set_the_model_url(
    server: LspTcpServer, canary: Canary, fixture_repo: Callable[[str], Path]
) -> None:
    root = fixture_repo("python_app")
    evil = {"model": {"backend": "openai", "url": canary.url}, "embeddings": {"url": canary.url}}
    sock = server.connect()
    client = TcpClient(sock, server)
    client.send_raw(
        frame(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": _initialize_params(root, evil),
            }
        )
        + frame({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        + frame(
            {
                "jsonrpc": "2.0",
                "method": "workspace/didChangeConfiguration",
                "params": {"settings": {"repolens": evil}},
            }
        )
        + frame(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "workspace/executeCommand",
                "params": {"command": "repolens.ask", "arguments": [{"question": "what?"}]},
            }
        )
    )
    assert "error" in client.wait_response(1, timeout=30)
    assert client.wait_closed(10)
    with pytest.raises(TimeoutError):
        client.wait_response(2, timeout=1)

    # the real client, with the token, sees the model settings it gave, not the attacker's
    good = server.client()
    token = token_path().read_text().strip()
    assert "result" in good.initialize(root, {**SMALL, "token": token})
    good.notify("initialized", {})
    status = good.request(
        "workspace/executeCommand", {"command": "repolens.status", "arguments": []}
    )
    assert canary.url not in json.dumps(status)
    assert canary.connections == 0

"""``repolens lsp --tcp`` in a subprocess, and a raw JSON-RPC client on a socket to it.

Like :mod:`.rawclient` (byte for byte, malformed frames possible, server requests answered),
but over a TCP connection, so a test can also send what a web page's ``fetch`` sends and see
whether the server answers at all or closes the connection.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["Canary", "LspTcpServer", "TcpClient", "frame", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def frame(obj: Any) -> bytes:
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class LspTcpServer:
    """``repolens lsp --tcp 127.0.0.1:PORT`` with its stderr collected."""

    def __init__(self, cwd: Path, *extra: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "repolens.cli",
                "lsp",
                "--tcp",
                f"127.0.0.1:{self.port}",
                *extra,
            ],
            cwd=str(cwd),
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.stderr = bytearray()
        self._lock = threading.Lock()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stderr(self) -> None:
        err = self.proc.stderr
        assert err is not None
        for line in iter(err.readline, b""):
            with self._lock:
                self.stderr += line

    def stderr_text(self) -> str:
        with self._lock:
            return self.stderr.decode(errors="replace")

    def stderr_lines(self, containing: str, at_least: int, timeout: float = 10) -> list[str]:
        """The stderr lines that contain ``containing``, once there are ``at_least`` of them
        (or the timeout passed): the server writes a line before it closes the connection,
        but the thread that reads its stderr may not have read it yet."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in self.stderr_text().splitlines() if containing in line]
            if len(lines) >= at_least or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def connect(self, timeout: float = 60) -> socket.socket:
        """The first connection that succeeds (the server may still be starting)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return socket.create_connection(("127.0.0.1", self.port), timeout=1)
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError(f"the server exited:\n{self.stderr_text()}") from None
                if time.monotonic() > deadline:
                    raise AssertionError(f"nothing listens:\n{self.stderr_text()}") from None
                time.sleep(0.1)

    def client(self) -> TcpClient:
        return TcpClient(self.connect(), self)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, bool]:
    """Everything the peer sends within ``timeout``, and whether it closed the connection."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk


class TcpClient:
    """A JSON-RPC client on one connection; server-to-client requests are answered."""

    def __init__(self, sock: socket.socket, server: LspTcpServer | None = None) -> None:
        self.sock = sock
        self.sock.settimeout(None)
        self.server = server
        self.received = bytearray()
        self.notifications: list[dict[str, Any]] = []
        self._responses: dict[Any, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._next_id = 0
        self.closed = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self.closed = True
                    self._cond.notify_all()
                return
            self.received += chunk
            buffer += chunk
            while True:
                head, sep, rest = buffer.partition(b"\r\n\r\n")
                if not sep:
                    break
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if len(rest) < length:
                    break
                body, buffer = rest[:length], rest[length:]
                self._dispatch(json.loads(body))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:
            result: Any = None
            if message["method"] == "workspace/configuration":
                result = [None for _ in message["params"]["items"]]
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
        with self._cond:
            if "method" in message:
                self.notifications.append(message)
            else:
                self._responses[message.get("id")] = message
            self._cond.notify_all()

    def send_raw(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            pass  # the server closed the connection: the test looks at what came back

    def send(self, obj: Any) -> None:
        self.send_raw(frame(obj))

    def request(self, method: str, params: Any = None, timeout: float = 60) -> dict[str, Any]:
        self._next_id += 1
        ident = self._next_id
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.wait_response(ident, timeout)

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def wait_response(self, ident: Any, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while ident not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    tail = self.server.stderr_text()[-3000:] if self.server else ""
                    raise TimeoutError(f"no response to {ident!r}; stderr:\n{tail}")
                self._cond.wait(left)
            return self._responses.pop(ident)

    def wait_closed(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def initialize(self, root: Path, options: Any = None) -> dict[str, Any]:
        return self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.resolve().as_uri(),
                "workspaceFolders": [{"uri": root.resolve().as_uri(), "name": root.name}],
                "capabilities": {"window": {"workDoneProgress": True}},
                "initializationOptions": options,
            },
        )

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class Canary:
    """A listener that only records that someone connected (a model URL nobody may reach)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

"""A minimal JSON-RPC client over a server's stdio, byte for byte.

pytest-lsp's client cannot send malformed messages or show what exactly came out of stdout;
this one can: every byte the server writes is kept (:attr:`RawClient.stdout`) and must parse
as ``Content-Length``-framed JSON. Server-to-client requests (progress tokens, configuration,
capability registration) are answered automatically.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["RawClient", "parse_frames"]


def parse_frames(data: bytes) -> list[dict[str, Any]]:
    """Every message in ``data``; raises ValueError on anything that is not a frame."""
    out = []
    rest = data
    while rest:
        head, sep, body = rest.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError(f"truncated or stray output: {rest[:200]!r}")
        length = None
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
            elif name.strip().lower() != b"content-type":
                raise ValueError(f"not an LSP header: {line[:200]!r}")
        if length is None or len(body) < length:
            raise ValueError(f"bad frame: {head[:200]!r}")
        out.append(json.loads(body[:length]))
        rest = body[length:]
    return out


class RawClient:
    def __init__(
        self,
        cwd: Path,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
        configuration: Any = None,
    ) -> None:
        cmd = command or [sys.executable, "-m", "repolens.cli", "lsp"]
        self.proc = subprocess.Popen(
            cmd,
            cwd=str(cwd),
            env=env or dict(os.environ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.configuration = configuration
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self._responses: dict[Any, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._next_id = 0
        self._closed = False
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- io -----------------------------------------------------------------------------------

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                ch = out.read(1)
                if not ch:
                    self._eof()
                    return
                header += ch
                self.stdout += ch
            length = 0
            for line in header.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = out.read(length)
            self.stdout += body
            try:
                message = json.loads(body)
            except ValueError:
                continue  # the test checks self.stdout as a whole
            self._dispatch(message)

    def _read_stderr(self) -> None:
        err = self.proc.stderr
        assert err is not None
        for line in iter(err.readline, b""):
            self.stderr += line

    def _eof(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:  # a request from the server
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": self._answer(message)})
            with self._cond:
                self.notifications.append(message)
                self._cond.notify_all()
            return
        with self._cond:
            if "method" in message:
                self.notifications.append(message)
            else:
                self._responses[message.get("id")] = message
            self._cond.notify_all()

    def _answer(self, message: dict[str, Any]) -> Any:
        if message["method"] == "workspace/configuration":
            items = message["params"]["items"]
            return [self.configuration for _ in items]
        return None

    def send(self, obj: Any) -> None:
        self.send_bytes(json.dumps(obj).encode())

    def send_bytes(self, body: bytes) -> None:
        assert self.proc.stdin is not None
        frame = b"Content-Length: %d\r\n\r\n" % len(body) + body
        try:
            self.proc.stdin.write(frame)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    # -- requests -----------------------------------------------------------------------------

    def request_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def start_request(self, method: str, params: Any = None) -> int:
        ident = self.request_id()
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return ident

    def wait_response(self, ident: Any, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while ident not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    tail = self.stderr.decode(errors="replace")[-3000:]
                    raise TimeoutError(f"no response to {ident!r}; stderr:\n{tail}")
                self._cond.wait(left)
            return self._responses.pop(ident)

    def request(self, method: str, params: Any = None, timeout: float = 60) -> dict[str, Any]:
        return self.wait_response(self.start_request(method, params), timeout)

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def wait_notification(self, method: str, timeout: float = 30, since: int = 0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.notifications[since:]:
                    if message.get("method") == method:
                        return message
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise TimeoutError(f"no {method} notification")
                self._cond.wait(left)

    def of_method(self, method: str) -> list[dict[str, Any]]:
        with self._cond:
            return [m for m in self.notifications if m.get("method") == method]

    # -- session ------------------------------------------------------------------------------

    def initialize(
        self,
        root: Path,
        options: Any = None,
        capabilities: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        response = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.resolve().as_uri(),
                "workspaceFolders": [{"uri": root.resolve().as_uri(), "name": root.name}],
                "capabilities": capabilities or {"window": {"workDoneProgress": True}},
                "initializationOptions": options,
            },
        )
        self.notify("initialized", {})
        return response

    def wait_indexed(self, timeout: float = 600) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            result = self.request(
                "workspace/executeCommand", {"command": "repolens.status", "arguments": []}
            )["result"]
            if all(f["indexed"] and not f["indexing"] for f in result["folders"]):
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"indexing did not finish: {result}")
            time.sleep(0.1)

    def shutdown(self, timeout: float = 30) -> int:
        """shutdown + exit; returns the exit code."""
        try:
            self.request("shutdown", None, timeout=timeout)
            self.notify("exit")
            return self.proc.wait(timeout=timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass

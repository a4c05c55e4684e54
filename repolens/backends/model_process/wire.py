"""The model process's wire format: one JSON object per line over a Unix stream socket.

A client sends one request line; the answer depends on ``op``:

``tokenize`` ``{"op": "tokenize", "texts": [...]}``
    -> ``{"t": "counts", "counts": [...]}`` (with ``"ids": true``: ``{"t": "ids", "ids":
    [[...], ...]}``). The connection stays open for more requests.
``status`` / ``ping``
    -> ``{"t": "status", ...}`` / ``{"t": "pong", ...}``. The connection stays open.
``complete`` ``{"op": "complete", "prompt": "...", "params": {...}, "wait_s": 30}`` and
``chat`` ``{"op": "chat", "messages": [{"role", "content"}], ...}``
    -> ``{"t": "hello", "pid": ..., "mode": ...}`` as soon as the model process has the
    request, then ``{"t": "piece", "text": "..."}`` per piece, then ``{"t": "end", "stats":
    {...}}``; the connection then closes. Closing the connection (or sending anything) cancels
    the generation, even in the middle of prompt evaluation.

Any answer may instead be ``{"t": "error", "code": "busy|bad_request|model|forbidden",
"message": "..."}``, or, from the supervisor while no model is loaded, ``{"t": "down",
"state": "restarting|failed", "message": "...", "retry_after": seconds}``.

"hello" is what makes a retry safe: a connection that ends before it never reached a loaded
model (the process was retiring for idleness), so the client sends it again; one that ends
after it is a crash during this request.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

__all__ = ["MAX_LINE", "Channel", "WireError", "peer_credentials"]

#: Longest line either side accepts (a 128K-token Q&A prompt is well under 2 MB).
MAX_LINE = 64 << 20


class WireError(ConnectionError):
    """The other side sent something that is not a protocol line, or closed mid-line."""


class Channel:
    """One connection: ``send`` a JSON object as a line, ``recv`` the next one (None at EOF)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()
        self._eof = False

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "surrogatepass"
        )
        self.sock.sendall(data + b"\n")

    def recv(self) -> dict[str, Any] | None:
        """The next message; None when the other side closed cleanly between messages."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                try:
                    message = json.loads(line.decode("utf-8", "surrogatepass"))
                except (UnicodeDecodeError, ValueError) as exc:
                    raise WireError(f"not a JSON line: {exc}") from None
                if not isinstance(message, dict):
                    raise WireError("not a JSON object")
                return message
            if self._eof:
                if self._buffer:
                    raise WireError("the connection closed in the middle of a message")
                return None
            if len(self._buffer) > MAX_LINE:
                raise WireError(f"a message longer than {MAX_LINE} bytes")
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                self._eof = True
            else:
                self._buffer += chunk

    def pending(self) -> bool:
        """Whether bytes after the last message were read already (a cancel byte, say)."""
        return bool(self._buffer)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


_SO_PEERCRED = getattr(socket, "SO_PEERCRED", None)


def peer_credentials(sock: socket.socket) -> tuple[int, int] | None:
    """(pid, uid) of the process at the other end of a Unix socket; None where the platform
    does not say (Linux does, with ``SO_PEERCRED``)."""
    if _SO_PEERCRED is None:
        return None
    try:
        data = sock.getsockopt(socket.SOL_SOCKET, _SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    pid, uid, _gid = struct.unpack("3i", data)  # struct ucred
    return int(pid), int(uid)

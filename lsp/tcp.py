"""``repolens lsp --tcp``: LSP on a TCP port, for a client that has the token.

A loopback port is reachable from every web page the user opens: a page can make the browser
send a no-cors ``POST`` with a ``text/plain`` body there. Whoever initializes the server picks
the model URL its code is sent to, so the port takes nothing but LSP and nothing but a client
that proves it was given the token (the user's editor, configured with it):

- every connection is read with :class:`~repolens.lsp.framing.FrameReader` in strict mode: its
  first bytes must be an LSP header, any other line (``POST / HTTP/1.1``, ``Host:``) closes it
  without a byte in answer;
- the first ``initialize`` must carry the token in ``initializationOptions.token``; a wrong or
  missing one gets an error and the connection is closed. Before it, requests get
  ServerNotInitialized (as on stdio) and notifications are dropped, so nothing a client
  without the token sends (``workspace/didChangeConfiguration``, a model URL) reaches the
  server. The token is taken out of the options before the server sees them;
- one session at a time: while a client that had the token is connected, other connections
  are refused; when it disconnects, the server exits (as on stdio). Refused connections leave
  the server listening.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sys
import threading
from pathlib import Path
from typing import Any

from lsprotocol import types

from .framing import FrameReader
from .server import RepolensServer

__all__ = ["TOKEN_OPTION", "serve_tcp_session"]

log = logging.getLogger(__name__)

#: The key of ``initializationOptions`` that carries the token.
TOKEN_OPTION = "token"

_LOCAL = {"local_only": True}  # about a connection: stderr only, not the client's log


class _Refused(Exception):
    """The connection is closed; the message says why (one line on stderr)."""


class _TcpSession:
    """The listener, and which connection (if any) holds the server."""

    def __init__(self, server: RepolensServer, token: str) -> None:
        self.server = server
        self.token = token.encode()
        self.active = False
        self.done = asyncio.Event()

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer(writer)
        try:
            frames = FrameReader(reader, strict=True)
            initialize = await self._authenticate(frames, writer)
            if self.active:  # told only to a client with the token
                _answer_error(writer, initialize.get("id"), "another client is connected")
                raise _Refused("another client is connected")
            self.active = True
        except Exception as exc:  # _Refused, or anything else: it must not end the server
            log.warning("refused a connection from %s: %s", peer, exc, extra=_LOCAL)
            await _close(writer)
            return
        log.info("client %s connected", peer)
        try:
            self.server.protocol.set_writer(writer)
            self.server.handle_body(json.dumps(initialize).encode())
            await self.server.read_messages(frames)
        finally:
            log.info("client %s disconnected", peer)
            # what a cancelled task still sends (a progress end) goes nowhere, quietly
            self.server.protocol.set_writer(_Gone())
            await _close(writer)
            self.done.set()

    async def _authenticate(
        self, frames: FrameReader, writer: asyncio.StreamWriter
    ) -> dict[str, Any]:
        """Read up to the client's ``initialize``; it, if it carries the token."""
        while True:
            try:
                body = await frames.read()
            except Exception as exc:  # framing: HTTP, a broken header, a huge length
                raise _Refused(str(exc)) from None
            if body is None:
                raise _Refused("it closed before initialize")
            try:
                message = json.loads(body)
            except ValueError:
                raise _Refused("a message that is not JSON before initialize") from None
            if not isinstance(message, dict) or not isinstance(message.get("method"), str):
                raise _Refused("a message that is no JSON-RPC request before initialize")
            method = message["method"]
            ident = message.get("id")
            if method == types.INITIALIZE and ident is not None:
                if not self._has_token(message):
                    _answer_error(
                        writer,
                        ident,
                        "repolens lsp --tcp needs its token in initializationOptions.token "
                        "(the server printed where it is kept when it started)",
                    )
                    raise _Refused("initialize without the right token")
                return message
            if method == types.EXIT:
                raise _Refused("exit before initialize")
            if ident is not None:
                _answer_error(
                    writer,
                    ident,
                    f"{method}: the server is not initialized yet (send initialize first)",
                    code=types.ErrorCodes.ServerNotInitialized,
                )
            # notifications before initialize are dropped, as on stdio

    def _has_token(self, message: dict[str, Any]) -> bool:
        params = message.get("params")
        options = params.get("initializationOptions") if isinstance(params, dict) else None
        if not isinstance(options, dict):
            return False
        given = options.pop(TOKEN_OPTION, None)  # the server never sees it
        if not isinstance(given, str):
            return False
        return secrets.compare_digest(given.encode("utf-8", "surrogatepass"), self.token)


def serve_tcp_session(
    server: RepolensServer, host: str, port: int, token: str, where: Path
) -> None:
    """Listen on ``host:port`` and serve the first client that has ``token`` until it leaves.

    ``where`` is the token file, named on stderr once the port is open."""
    server._stop_event = threading.Event()

    async def main() -> None:
        session = _TcpSession(server, token)
        listener = await asyncio.start_server(session.connection, host, port)
        server._server = listener
        shown = f"[{host}]" if ":" in host else host
        print(
            f"repolens: language server on {shown}:{port}; clients must send the token kept in "
            f"{where} as initializationOptions.token",
            file=sys.stderr,
            flush=True,
        )
        async with listener:
            await session.done.wait()

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, SystemExit):
        pass
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", host, port, exc.strerror or exc)
    finally:
        server.shutdown()


class _Gone:
    """The writer once the client has left."""

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


def _answer_error(
    writer: asyncio.StreamWriter,
    ident: Any,
    message: str,
    code: int = types.LSPErrorCodes.RequestFailed,
) -> None:
    body = json.dumps(
        {"jsonrpc": "2.0", "id": ident, "error": {"code": int(code), "message": message}}
    ).encode()
    writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)


async def _close(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        writer.close()
        await writer.wait_closed()
    except (OSError, RuntimeError):
        pass

"""Building the language server with every feature registered, and running it on stdio or TCP.

Features live one per module and import :mod:`.server` for what they share; only this module
imports the features, so nothing in ``lsp/`` imports a module that imports it back.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from . import commands, completion, configuration, inline_completion, lifecycle, sync
from .server import RepolensServer, protect_stdio, quiet_expected_errors
from .tcp import serve_tcp_session

__all__ = ["create_server", "serve_stdio", "serve_tcp"]

log = logging.getLogger(__name__)


def create_server() -> RepolensServer:
    """A server with every feature registered."""
    server = RepolensServer()
    for feature in (
        lifecycle,
        configuration,
        sync,
        inline_completion,
        completion,
        commands,
    ):
        feature.register(server)
    return server


def serve_stdio() -> int:
    """Serve one client on stdin/stdout until it exits; returns the exit code (LSP: 0 after
    shutdown, 1 otherwise)."""
    protocol_in, protocol_out = protect_stdio()
    quiet_expected_errors()
    server = create_server()
    server.attach_log_handler()
    try:
        server.start_pipes(protocol_in, protocol_out)
    finally:
        server.close()
    return _exit_now(0 if server.protocol._shutdown else 1)


def serve_tcp(host: str, port: int, token: str, token_file: Path) -> int:
    """Serve one client that sends ``token`` (kept in ``token_file``) on a TCP port until it
    disconnects (see tcp.py)."""
    quiet_expected_errors()
    server = create_server()
    server.attach_log_handler()
    try:
        serve_tcp_session(server, host, port, token, token_file)
    finally:
        server.close()
    return _exit_now(0 if server.protocol._shutdown else 1)


def _exit_now(code: int) -> int:
    """Leave without waiting for an index update or a model call still running in a thread."""
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)

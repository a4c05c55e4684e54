"""``repolens serve``: the HTTP/WebSocket API and the chat page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import RepolensError
from .common import find_repo_root, settings_for

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="serve completion, context, Q&A and commit messages over HTTP/WebSocket",
        description="Serve the repository over HTTP on 127.0.0.1 (API at /v1, OpenAPI at /docs, "
        "a chat page at /). Binding to any other address requires a bearer token: one is "
        "generated once and kept (0600) in the user config dir unless --token is given.",
    )
    p.add_argument("--repo", type=Path, default=None)
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--token", default=None, help="bearer token clients must send")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import socket
    from urllib.parse import quote

    import uvicorn

    from ..http import (
        ServerConfig,
        create_app,
        is_loopback,
        load_or_create_token,
        token_problem,
    )
    from ..workspace import Workspace

    root = find_repo_root(args.repo or Path("."))
    settings = settings_for(root)
    host = args.host or settings.server.host
    port = settings.server.port if args.port is None else args.port
    token = args.token or settings.server.token
    problem = token_problem(token) if token else None
    if problem is not None:  # before anything is served: a token nobody can send
        where = "--token" if args.token else "server.token"
        raise RepolensError(f"{where}: {problem}")
    if not is_loopback(host) and not token:
        token = load_or_create_token()
        print(
            f"repolens: {host} is reachable from other machines, so clients must send the token "
            "kept in your user config dir (server-token) as 'Authorization: Bearer <token>'",
            file=sys.stderr,
        )
    config = ServerConfig(
        host=host, port=port, token=token, max_request_bytes=settings.server.max_request_bytes
    )
    app = create_app(Workspace(root, settings), config)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)  # clients may connect as soon as the address is printed
    except OSError as exc:
        raise RepolensError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    query = f"?token={quote(token, safe='')}" if token else ""
    print(
        f"repolens: serving {root} on http://{shown}:{bound}/{query}", file=sys.stderr, flush=True
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            ws="websockets-sansio",
            # on Ctrl-C, requests still waiting on a model that hangs get this long
            timeout_graceful_shutdown=5,
        )
    )
    server.run(sockets=[sock])
    return 0

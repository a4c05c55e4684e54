"""``repolens lsp``: the language server, on stdio (default) or a TCP port on loopback."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import UsageError
from ..net import is_loopback

__all__ = ["parse_address", "register"]


def parse_address(text: str) -> tuple[str, int]:
    """``PORT`` or ``HOST:PORT`` (host defaults to 127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise UsageError(f"--tcp {text!r}: expected PORT or HOST:PORT") from None
    if not 0 < number < 65536:
        raise UsageError(f"--tcp {text!r}: the port must be between 1 and 65535")
    return host, number


def register(sub: Any) -> None:
    p = sub.add_parser(
        "lsp",
        help="run the language server (stdio, or --tcp)",
        description="The repolens language server: inline completion, a completion fallback, "
        "commands (ask, explain, add comments, translate, commit message, reindex, status, "
        "context) over LSP. Editors start it on stdio; see lsp/README.md for its settings.",
    )
    p.add_argument("--stdio", action="store_true", help="talk LSP on stdin/stdout (the default)")
    p.add_argument(
        "--tcp",
        metavar="[HOST:]PORT",
        default=None,
        help="listen on a TCP port instead (host 127.0.0.1 unless given)",
    )
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow --tcp on a non-loopback address (anyone who connects can read the "
        "workspace through the server)",
    )
    p.set_defaults(func=run_lsp)


def run_lsp(args: argparse.Namespace) -> int:
    from ..lsp.main import serve_stdio, serve_tcp

    if args.tcp:
        host, port = parse_address(args.tcp)
        if not is_loopback(host) and not args.allow_remote:
            raise UsageError(
                f"--tcp {args.tcp}: {host} is not a loopback address; the server gives whoever "
                "connects access to your code. Add --allow-remote if you mean it."
            )
        return serve_tcp(host, port)
    return serve_stdio()

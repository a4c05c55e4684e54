"""``repolens lsp``: the language server, on stdio (default) or a TCP port on loopback.

On TCP a client must send a token (``initializationOptions.token``, see lsp/tcp.py): a web
page can reach a loopback port too. The token is kept in a file, created once (0600).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..net import is_loopback, load_or_create_token

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
        help="listen on a TCP port instead (host 127.0.0.1 unless given); clients must send "
        "the token from --token-file",
    )
    p.add_argument(
        "--token-file",
        metavar="PATH",
        type=Path,
        default=None,
        help="with --tcp: the file holding the token clients must send as "
        "initializationOptions.token (created, 0600, if missing; default: lsp-token in the "
        "user config dir)",
    )
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow --tcp on a non-loopback address (the token travels unencrypted: anyone "
        "who can see the traffic can read the workspace through the server)",
    )
    p.set_defaults(func=run_lsp)


def run_lsp(args: argparse.Namespace) -> int:
    from ..lsp.main import serve_stdio, serve_tcp
    from ..settings import user_config_dir

    if args.tcp:
        host, port = parse_address(args.tcp)
        if not is_loopback(host) and not args.allow_remote:
            raise UsageError(
                f"--tcp {args.tcp}: {host} is not a loopback address; the server gives whoever "
                "connects access to your code. Add --allow-remote if you mean it."
            )
        token_file = args.token_file or user_config_dir() / "lsp-token"
        try:
            token = load_or_create_token(token_file)
        except OSError as exc:
            raise UsageError(
                f"--tcp needs a token, and {token_file} cannot be read or created: "
                f"{exc.strerror or exc}"
            ) from None
        return serve_tcp(host, port, token, token_file)
    if args.token_file is not None:
        raise UsageError("--token-file is for --tcp (on stdio the editor started the server)")
    return serve_stdio()

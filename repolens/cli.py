"""The ``repolens`` command line.

Each command lives in ``repolens.commands.<name>`` with a ``register(subparsers)`` function;
heavy imports happen inside the command, so ``repolens --help`` and the git hook start fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from . import __version__
from ._log import configure_logging
from .errors import RepolensError

__all__ = ["build_parser", "main"]

# Modules under repolens.commands, in the order their commands appear in --help.
COMMAND_MODULES = [
    "index",
    "complete",
    "ask",
    "commit",
    "lsp",
    "serve",
    "model",
    "eval",
    "doctor",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="repolens",
        description="Repository-aware code completion, Q&A and commit messages from a model "
        "on your own machine.",
    )
    parser.add_argument("--version", action="version", version=f"repolens {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logs on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        qualified = f"{__package__}.commands.{name}"
        if importlib.util.find_spec(qualified) is None:
            continue  # a command whose module is not written yet
        module = importlib.import_module(qualified)
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except RepolensError as exc:
        print(f"repolens: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("repolens: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

"""``repolens commit-msg`` (a message for the staged change or a range) and ``repolens hook``
(the ``prepare-commit-msg`` hook that writes one on ``git commit``)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .common import add_repo_argument, find_repo_root, print_json, settings_for

__all__ = ["register"]


def register(sub: Any) -> None:
    c = sub.add_parser(
        "commit-msg",
        help="write a commit message for the staged change or a revision range",
        description="Write a commit message (subject of at most 72 characters, blank line, "
        "body) for the staged change, or for a range such as origin/main...HEAD (a pull "
        "request), from the diff, the changed definitions' signatures and the style of the "
        "recent subjects. When the model cannot answer, a message built from the change "
        "summary is printed and stderr says so. Exit code 1 when there is nothing to describe.",
    )
    add_repo_argument(c)
    which = c.add_mutually_exclusive_group()
    which.add_argument(
        "--staged", action="store_true", help="describe the staged change (the default)"
    )
    which.add_argument(
        "--range",
        dest="rev_range",
        metavar="A..B",
        help="describe a revision range: A..B, A...B (from the merge base) or one commit",
    )
    c.add_argument(
        "--write",
        type=Path,
        metavar="FILE",
        help="write the message to FILE (atomically; comment lines already in FILE are kept)",
    )
    c.add_argument("--json", action="store_true", help="print a JSON object")
    c.set_defaults(func=run_commit_msg)

    h = sub.add_parser(
        "hook",
        help="install or remove the prepare-commit-msg hook",
        description="Manage a prepare-commit-msg hook that writes a commit message for a plain "
        "`git commit`. It chains a hook that was already there, skips merges, amends, "
        "squashes and -m/-F messages, gives up after a timeout (REPOLENS_HOOK_TIMEOUT) and "
        "never blocks a commit or touches a message the user wrote.",
    )
    actions = h.add_subparsers(dest="hook_action", metavar="ACTION")
    h.set_defaults(func=lambda _args: _usage(h))
    install = actions.add_parser(
        "install",
        help="install (or refresh) the hook",
        description="Install the hook with this Python's path recorded, so it works when "
        "repolens is not on the PATH git gives hooks. An existing prepare-commit-msg hook is "
        "kept and runs first.",
    )
    add_repo_argument(install)
    install.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="give up after this long (default 20; REPOLENS_HOOK_TIMEOUT overrides at run time)",
    )
    install.set_defaults(func=run_hook_install)
    uninstall = actions.add_parser(
        "uninstall",
        help="remove the hook and restore the one it replaced",
        description="Remove repolens's hook and put back the hook it replaced, if any.",
    )
    add_repo_argument(uninstall)
    uninstall.set_defaults(func=run_hook_uninstall)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _root(repo: Path | None) -> Path:
    return find_repo_root(repo if repo is not None else Path("."))


def _write(path: Path, text: str) -> None:
    """``text`` into ``path`` atomically, above the comment lines already in it."""
    from ..commit.hook import merge_message

    try:
        existing = path.read_text("utf-8", errors="replace")
    except FileNotFoundError:
        existing = ""
    comments = "\n".join(line for line in existing.split("\n") if line.startswith("#"))
    content = merge_message(text, "\n" + comments + "\n" if comments else "")
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(content)
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o644 if not path.exists() else path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def run_commit_msg(args: argparse.Namespace) -> int:
    from ..commit import commit_message

    root = _root(args.repo)
    settings = settings_for(root)
    message = commit_message(root, staged=True, rev_range=args.rev_range, settings=settings)
    if message.fallback:
        print(
            f"repolens: the model gave no message ({message.fallback_reason}); this one was "
            "built from the change summary",
            file=sys.stderr,
        )
    if args.write is not None:
        _write(args.write, message.text)
    if args.json:
        print_json(message.as_json())
    elif args.write is None:
        sys.stdout.write(message.text + "\n")
    return 0


def run_hook_install(args: argparse.Namespace) -> int:
    from ..commit.hook import install_hook

    result = install_hook(_root(args.repo), timeout_s=args.timeout)
    print(f"repolens: {result.message}")
    return 0


def run_hook_uninstall(args: argparse.Namespace) -> int:
    from ..commit.hook import uninstall_hook

    result = uninstall_hook(_root(args.repo))
    print(f"repolens: {result.message}")
    return 0

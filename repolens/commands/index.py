"""``repolens index`` and ``repolens symbols``."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import add_repo_argument, find_repo_root, print_json, settings_for

if TYPE_CHECKING:
    from ..app import Indexing, IndexProgress, Services

__all__ = ["open_services", "register", "update_with_progress"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "index",
        help="build or update the index of a repository",
        description="Build the index of a repository, or bring it up to date (only changed "
        "files are re-read). The index lives in the user cache directory, never in the "
        "repository.",
    )
    p.add_argument("path", nargs="?", type=Path, default=Path("."), help="repository (default: .)")
    p.add_argument("--rebuild", action="store_true", help="throw the index away and start over")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--workers", type=int, default=None, help="parser processes (default: cores)")
    p.add_argument(
        "--show-skipped", action="store_true", help="list the files skipped and why (stderr)"
    )
    p.set_defaults(func=run_index)

    s = sub.add_parser("symbols", help="fuzzy search for symbol definitions")
    s.add_argument("query", help="a name or part of one (getUsr finds get_user)")
    add_repo_argument(s)
    s.add_argument("--limit", type=int, default=20)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run_symbols)


def update_with_progress(
    indexing: Indexing, *, rebuild: bool = False, workers: int | None = None, quiet: bool = False
) -> Any:
    """Update (or rebuild) the index, with a progress bar when stderr is a terminal."""
    if quiet or not sys.stderr.isatty():
        return indexing.run(rebuild=rebuild, workers=workers)
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[path]}", style="dim"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("index", total=None, path="")

        def on_progress(event: IndexProgress) -> None:
            # before any file, (0, 0, message): waiting for another process's run
            path = event.path if not event.total else event.path[-60:]
            progress.update(task, completed=event.done, total=event.total or None, path=path)

        return indexing.run(rebuild=rebuild, workers=workers, progress=on_progress)


def open_services(repo: Path) -> Services:
    """The services of the repository at ``repo`` (settings read and their warnings shown)."""
    from ..app import Services
    from ..workspace import Workspace

    return Services(Workspace(repo, settings_for(repo)))


def run_index(args: argparse.Namespace) -> int:
    repo = find_repo_root(args.path)
    services = open_services(repo)
    index = services.workspace.index
    summary = update_with_progress(
        services.indexing, rebuild=args.rebuild, workers=args.workers, quiet=args.json
    )
    if args.show_skipped:
        for path, reason in index.skipped():
            print(f"skipped {path}: {reason}", file=sys.stderr)
    for warning in summary.warnings:
        print(f"repolens: {warning}", file=sys.stderr)
    if args.json:
        print_json(summary.as_json())
        return 0
    reasons = Counter(s.reason.split(" (")[0] for s in summary.skipped_files)
    skipped = ""
    if summary.skipped:
        detail = ", ".join(f"{n} {r}" for r, n in reasons.most_common(3))
        skipped = f", {summary.skipped} skipped ({detail}; --show-skipped lists them)"
    if summary.not_updated is not None:  # stderr said why, once
        print(
            f"index of {repo} used as it is (not updated): {summary.files} files{skipped}, "
            f"{summary.symbols} symbols, {summary.chunks} chunks"
        )
        return 0
    print(
        f"indexed {repo}: {summary.files} files{skipped}, {summary.symbols} symbols, "
        f"{summary.chunks} chunks; {summary.files_changed} changed in {summary.seconds:.2f} s"
    )
    return 0


def run_symbols(args: argparse.Namespace) -> int:
    repo = find_repo_root(args.repo or Path("."))
    services = open_services(repo)
    update_with_progress(services.indexing, quiet=args.json)
    index = services.workspace.index
    hits = index.fuzzy_definitions(args.query, limit=args.limit)
    if args.json:
        print_json(
            [
                {
                    "name": d.name,
                    "kind": d.kind,
                    "scope": d.scope,
                    "path": d.path,
                    "line": d.name_line,
                    "end_line": d.end_line,
                    "signature": d.signature,
                    "score": round(score / 100, 3),
                }
                for d, score in hits
            ]
        )
        return 0
    if not hits:
        print(f"no symbol looks like {args.query!r}")
        return 1
    for d, _score in hits:
        print(f"{d.path}:{d.name_line}  {d.kind:<9} {d.qualified_name}  {d.signature}")
    return 0

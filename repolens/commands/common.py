"""What the CLI commands share: finding the repository, settings, opening the index."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RepolensError
from ..settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from ..indexer import RepoIndex

__all__ = ["add_repo_argument", "find_repo_root", "open_index", "print_json", "settings_for"]


def find_repo_root(start: Path) -> Path:
    """The git work tree containing ``start``, else ``start`` itself (a plain directory)."""
    start = start.resolve()
    if start.is_file():
        start = start.parent
    if not start.is_dir():
        raise RepolensError(f"{start}: no such directory")
    try:
        proc = subprocess.run(
            ["git", "-C", str(start), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if proc.returncode == 0 and proc.stdout.strip():
            return Path(proc.stdout.strip()).resolve()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return start


def add_repo_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo",
        type=Path,
        default=None,
        help="repository root (default: the git work tree of the current directory)",
    )


def settings_for(repo: Path, overrides: dict[str, Any] | None = None) -> Settings:
    try:
        settings, warnings = load_settings(repo, overrides)
    except SettingsError as exc:
        raise RepolensError(str(exc)) from None
    for warning in warnings:
        print(f"repolens: {warning}", file=sys.stderr)
    return settings


def open_index(repo: Path, settings: Settings) -> RepoIndex:
    from ..workspace import open_index as open_configured

    return open_configured(repo, settings)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()

"""Which files of the repository a client of ``repolens serve`` may reach: those the indexer
would index. One check for every way in (``/v1/context``, ``/v1/complete``, ``/v1/file``),
so a gitignored settings file, ``node_modules`` or ``.git/hooks/*.py`` never land in an
answer or a prompt.

A file in the index passed the indexer's policy when it was indexed. Any other path (a new
file being edited: its text is in the request, it is not on disk or not indexed yet) is held
against the same rules the indexer's discovery applies (:mod:`repolens.indexer.discovery`):
nothing inside ``.git``; no vendored folder (``node_modules``, ``vendor``, ...), nor a build
folder outside a git work tree; nothing git ignores (``.gitignore``, ``.git/info/exclude``,
the user's excludes) or, outside git, that a ``.gitignore`` names. Both the path as given and
the file it resolves to (through symlinked folders) must pass. Language and size are left to
the completion and context engines, which already say which setting refuses a file.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pathspec

from ..indexer.discovery import BUILD_DIRS, excluded_dir

if TYPE_CHECKING:
    from ..indexer import RepoIndex

__all__ = ["FilePolicy"]


class FilePolicy:
    """The indexer's file policy for one repository (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._in_git: bool | None = None

    def refusal(self, index: RepoIndex, path: str) -> str | None:
        """Why ``path`` (repository-relative with ``/``, inside the repository) may not be
        read through the API, or None when it may. Blocking: it may ask git."""
        real = os.path.relpath(os.path.realpath(self.root / path), self.root)
        real = real.replace(os.sep, "/")
        for rel in dict.fromkeys((real, path)):
            if index.file_info(rel) is not None:
                continue
            reason = self._reason(index, rel)
            if reason is not None:
                shown = path if rel == path else f"{path} (that is {rel})"
                return f"{shown}: repolens does not index {reason}, so it does not serve it"
        return None

    def _reason(self, index: RepoIndex, rel: str) -> str | None:
        if ".git" in rel.split("/")[:-1] or rel == ".git":
            return "files inside .git"
        excluded = index.options.excluded_dirs
        if self.in_git:
            excluded = (excluded - BUILD_DIRS) | {".git"}  # git's ignore rules say what is output
        part = excluded_dir(rel, excluded)
        if part is not None:
            return f"files in vendored or build folders ({part}/)"
        if self._ignored(rel):
            return "gitignored files"
        return None

    @property
    def in_git(self) -> bool:
        if self._in_git is None:
            self._in_git = self._git("rev-parse", "--is-inside-work-tree") == 0
        return self._in_git

    def _git(self, *args: str) -> int | None:
        try:
            proc = subprocess.run(
                ["git", "-C", str(self.root), *args],
                capture_output=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.returncode

    def _ignored(self, rel: str) -> bool:
        if self.in_git:
            # tracked files are not ignored, as for `git ls-files --cached --others`
            code = self._git("check-ignore", "-q", "--", rel)
            if code in (0, 1):
                return code == 0
            # git cannot tell (a path beyond a symlink, say): read the .gitignore files
        return self._gitignore_match(rel)

    def _gitignore_match(self, rel: str) -> bool:
        """Whether a ``.gitignore`` on the way to ``rel`` ignores it or a folder above it."""
        parts = rel.split("/")
        specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []
        for depth in range(len(parts)):
            base = "/".join(parts[:depth])
            if depth and _matches(specs, base, is_dir=True):
                return True
            ignore_file = self.root.joinpath(*parts[:depth], ".gitignore")
            try:
                with open(ignore_file, encoding="utf-8", errors="replace") as fh:
                    spec = pathspec.GitIgnoreSpec.from_lines(fh)
                specs.append((base + "/" if base else "", spec))
            except OSError:
                pass
        return _matches(specs, rel, is_dir=False)


def _matches(specs: list[tuple[str, pathspec.GitIgnoreSpec]], rel: str, *, is_dir: bool) -> bool:
    for base, spec in specs:
        sub = rel[len(base) :] if base and rel.startswith(base) else rel
        if spec.match_file(sub + "/" if is_dir else sub):
            return True
    return False

"""Which files of a repository get indexed, and why the others don't.

Inside a git work tree the list comes from ``git ls-files --cached --others
--exclude-standard`` (tracked plus untracked-but-not-ignored); elsewhere from a walk that
honours ``.gitignore`` files. Nothing here ever raises for a bad file: it is skipped, counted
and reported with a reason.
"""

from __future__ import annotations

import os
import posixpath
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from .languages import language_for_path
from .model import SkippedFile

__all__ = [
    "BUILD_DIRS",
    "DEFAULT_EXCLUDED_DIRS",
    "TEXT_EXTENSIONS",
    "TEXT_NAMES",
    "VENDORED_DIRS",
    "Candidate",
    "Discovery",
    "DiscoveryOptions",
    "check_content",
    "discover",
    "excluded_dir",
    "file_kind",
]

# Vendored code is skipped even when git tracks it.
VENDORED_DIRS: frozenset[str] = frozenset(
    {
        "node_modules",
        "bower_components",
        "vendor",
        "third_party",
        "site-packages",
        ".venv",
        "venv",
    }
)
# Build output and tool caches: skipped when walking a directory that is not a git work tree.
# In a git work tree, .gitignore already says what is output, and a tracked ``build/`` folder
# (sqlalchemy's doc/build, say) is source.
BUILD_DIRS: frozenset[str] = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "dist",
        "build",
        "target",
        ".next",
        ".gradle",
        ".idea",
        ".vscode-test",
        ".eggs",
    }
)
DEFAULT_EXCLUDED_DIRS: frozenset[str] = VENDORED_DIRS | BUILD_DIRS
# Non-code files worth searching for repository questions (no parse, chunks by lines).
TEXT_EXTENSIONS: frozenset[str] = frozenset(
    {".md", ".rst", ".txt", ".toml", ".cfg", ".ini", ".yaml", ".yml"}
)
TEXT_NAMES: frozenset[str] = frozenset(
    {"readme", "makefile", "dockerfile", "license", "changelog", "contributing"}
)
_MINIFIED_LINE = 4000
_MINIFIED_AVERAGE = 300


@dataclass(frozen=True, slots=True)
class DiscoveryOptions:
    max_file_bytes: int = 1_000_000
    excluded_dirs: frozenset[str] = DEFAULT_EXCLUDED_DIRS
    include_text: bool = True


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file to index: repository-relative ``path`` (with ``/``), its language or "text"."""

    path: str
    language: str
    size: int
    mtime_ns: int


@dataclass(slots=True)
class Discovery:
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def file_kind(path: str) -> str | None:
    spec = language_for_path(path)
    if spec is not None:
        return spec.name
    base = posixpath.basename(path).lower()
    stem, ext = posixpath.splitext(base)
    if ext in TEXT_EXTENSIONS or stem in TEXT_NAMES or base in TEXT_NAMES:
        return "text"
    return None


def _git_files(root: Path) -> list[str] | None:
    try:
        proc = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    names = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
    return sorted({n for n in names if n})


def _ignored(specs: list[tuple[str, pathspec.GitIgnoreSpec]], rel: str, is_dir: bool) -> bool:
    for base, spec in specs:
        sub = rel[len(base) :] if base and rel.startswith(base) else rel
        if spec.match_file(sub + "/" if is_dir else sub):
            return True
    return False


def _walk_files(root: Path, excluded: frozenset[str], pruned: list[str]) -> Iterator[str]:
    """Walk ``root`` without following directory symlinks, honouring nested .gitignore files.

    Excluded (vendored/build) directories are not entered; their paths go to ``pruned``.
    """
    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir
        specs = [(base, s) for base, s in specs if rel_dir == base or rel_dir.startswith(base)]
        ignore_file = os.path.join(dirpath, ".gitignore")
        if os.path.isfile(ignore_file):
            try:
                with open(ignore_file, encoding="utf-8", errors="replace") as fh:
                    spec = pathspec.GitIgnoreSpec.from_lines(fh)
                specs.append((rel_dir + "/" if rel_dir else "", spec))
            except OSError:
                pass

        keep = []
        for d in sorted(dirnames):
            rel = f"{rel_dir}/{d}" if rel_dir else d
            if d == ".git" or _ignored(specs, rel, True):
                continue
            if d in excluded:
                pruned.append(rel)
                continue
            keep.append(d)
        dirnames[:] = keep
        for f in sorted(filenames):
            rel = f"{rel_dir}/{f}" if rel_dir else f
            if not _ignored(specs, rel, False):
                yield rel


def excluded_dir(path: str, excluded: frozenset[str]) -> str | None:
    for part in path.split("/")[:-1]:
        if part in excluded:
            return part
    return None


def discover(root: Path, options: DiscoveryOptions | None = None) -> Discovery:
    """List the files under ``root`` that repolens indexes, and those it skips (with why)."""
    opts = options or DiscoveryOptions()
    root = root.resolve()
    result = Discovery()
    names = _git_files(root)
    in_git = names is not None
    if names is None:
        pruned: list[str] = []
        names = list(_walk_files(root, opts.excluded_dirs, pruned))
        for rel_dir in pruned:
            result.skipped.append(SkippedFile(rel_dir + "/", "vendored or build folder"))
    root_str = str(root)
    for rel in names:
        kind = file_kind(rel)
        if kind is None:
            continue  # not a language we index: not worth reporting
        if not _utf8(rel):  # SQLite, JSON and LSP URIs all need a UTF-8 name
            shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            result.skipped.append(SkippedFile(shown, "file name is not valid UTF-8"))
            continue
        if kind == "text" and not opts.include_text:
            continue
        excluded = opts.excluded_dirs - BUILD_DIRS if in_git else opts.excluded_dirs
        part = excluded_dir(rel, excluded)
        if part is not None:
            result.skipped.append(SkippedFile(rel, f"vendored or build folder ({part}/)"))
            continue
        full = os.path.join(root_str, rel)
        try:
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                real = os.path.realpath(full)
                st = os.stat(full)  # a loop or a dangling link raises here
                if not (real == root_str or real.startswith(root_str + os.sep)):
                    result.skipped.append(
                        SkippedFile(rel, "symlink to a file outside the repository")
                    )
                    continue
        except OSError as exc:
            if os.path.islink(full):
                reason = f"broken symlink or symlink loop ({exc.strerror})"
                result.skipped.append(SkippedFile(rel, reason))
            # a file deleted since git listed it is simply gone
            continue
        if not stat.S_ISREG(st.st_mode):
            continue  # submodule directory, socket, ...
        if st.st_size > opts.max_file_bytes:
            result.skipped.append(
                SkippedFile(rel, f"larger than {opts.max_file_bytes} bytes ({st.st_size})")
            )
            continue
        result.candidates.append(Candidate(rel, kind, st.st_size, st.st_mtime_ns))
    return result


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, kept as surrogates by the file system codec
        return False
    return True


def check_content(data: bytes) -> str | None:
    """Why content should not be indexed (binary, minified), or None when it is fine."""
    if b"\0" in data[:8192]:
        return "binary file"
    if len(data) > 2000:
        longest = max(map(len, data.split(b"\n")))
        lines = data.count(b"\n") + 1
        if longest > _MINIFIED_LINE or len(data) / lines > _MINIFIED_AVERAGE:
            return "minified or generated (very long lines)"
    return None

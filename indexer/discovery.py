"""Which files of a repository get indexed, and why the others don't.

Inside a git work tree the list comes from ``git ls-files --cached --others
--exclude-standard`` (tracked plus untracked-but-not-ignored); elsewhere from a walk that
honours ``.gitignore`` files. Nothing here ever raises for a bad file: it is skipped, counted
and reported with a reason.
"""

from __future__ import annotations

import functools
import os
import posixpath
import stat
import subprocess
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

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


class Candidate(NamedTuple):
    """A file to index: repository-relative ``path`` (with ``/``), its language or "text".

    A named tuple, not a dataclass: discovery makes one per file of the repository on every
    run, and a frozen dataclass costs several times as much to build.
    """

    path: str
    language: str
    size: int
    mtime_ns: int


@dataclass(slots=True)
class Discovery:
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    #: Known files found as the caller knew them (same size and modification time, a regular
    #: file), when it said what it knew: listed here, not as candidates.
    unchanged: list[str] = field(default_factory=list)


def file_kind(path: str) -> str | None:
    """The language repolens parses a file as, "text", or None (by its name alone)."""
    return _kind_of_name(path.rpartition("/")[2])


@functools.lru_cache(maxsize=1 << 16)
def _kind_of_name(name: str) -> str | None:
    # per base name, cached: a monorepo repeats a few thousand names over tens of thousands
    # of paths, and discovery asks for every one of them on every run
    spec = language_for_path(name)
    if spec is not None:
        return spec.name
    base = name.lower()
    stem, ext = posixpath.splitext(base)
    if ext in TEXT_EXTENSIONS or stem in TEXT_NAMES or base in TEXT_NAMES:
        return "text"
    return None


_GIT_LS_FILES = ("ls-files", "-z", "--cached", "--others", "--exclude-standard")


class _GitListing:
    """``git ls-files`` running in the background (on another core) while the caller works.

    Its output is read by a thread, so a large listing never fills the pipe and stalls git.
    """

    def __init__(self, root: Path) -> None:
        self._out: bytes | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._proc = subprocess.Popen(
                ["git", "-C", str(root), *_GIT_LS_FILES],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        with self._proc.stdout as out:
            self._out = out.read()

    def names(self, timeout: float = 120) -> list[str] | None:
        """The paths git lists, or None outside a git work tree (or git failing)."""
        proc = self._proc
        if proc is None:
            return None
        self._reader.join(timeout)
        if self._reader.is_alive():  # git hangs (a network file system, say): list by walking
            proc.kill()
            proc.wait()
            return None
        try:
            code = proc.wait(timeout=10)  # its output is closed: it is exiting
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None
        if code != 0 or self._out is None:
            return None
        names = self._out.decode("utf-8", "surrogateescape").split("\0")
        names.pop()  # the empty string after the last NUL (or the whole empty output)
        return list(dict.fromkeys(names))  # git's order; a path listed twice, once


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


def discover(
    root: Path,
    options: DiscoveryOptions | None = None,
    known: Iterable[str] | Mapping[str, Sequence[Any]] = (),
) -> Discovery:
    """List the files under ``root`` that repolens indexes, and those it skips (with why).

    ``known``: paths the caller expects (the index's files). They are stat'ed while git
    lists the repository on another core, instead of after it: on a large repository with
    nothing changed, the listing and the stat calls are most of the time an update takes.
    When ``known`` maps each path to what the caller knows of it (a row whose items 1 and 2
    are its size and modification time in ns), the files that still have them are listed in
    ``unchanged`` rather than as candidates, at the cost of a set look-up each.
    """
    opts = options or DiscoveryOptions()
    root = root.resolve()
    result = Discovery()
    root_str = str(root)
    prefix = root_str.rstrip(os.sep) + os.sep
    listing = _GitListing(root)
    lstat = os.lstat
    is_regular = stat.S_ISREG
    max_bytes = opts.max_file_bytes
    early: dict[str, os.stat_result] = {}
    same: set[str] = set()
    if isinstance(known, Mapping):
        for rel, row in known.items():
            try:
                st = lstat(prefix + rel)
            except OSError:
                continue  # gone, or odd: the loop below says what it is
            if (
                st.st_mtime_ns == row[2]
                and st.st_size == row[1]
                and is_regular(st.st_mode)
                and st.st_size <= max_bytes
            ):
                same.add(rel)
            else:
                early[rel] = st
    else:
        for rel in known:
            try:
                early[rel] = lstat(prefix + rel)
            except OSError:
                pass
    names = listing.names()
    in_git = names is not None
    if names is None:
        pruned: list[str] = []
        names = list(_walk_files(root, opts.excluded_dirs, pruned))
        for rel_dir in pruned:
            result.skipped.append(SkippedFile(rel_dir + "/", "vendored or build folder"))
    excluded = opts.excluded_dirs - BUILD_DIRS if in_git else opts.excluded_dirs
    excluded_in: dict[str, str | None] = {}  # per directory: the excluded folder it is in
    include_text = opts.include_text
    kind_of_name = _kind_of_name
    unchanged = result.unchanged
    for rel in names:
        folder, _, name = rel.rpartition("/")
        kind = kind_of_name(name)
        if kind is None:
            continue  # not a language we index: not worth reporting
        if not rel.isascii() and not _utf8(rel):  # SQLite, JSON and LSP URIs need UTF-8
            shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            result.skipped.append(SkippedFile(shown, "file name is not valid UTF-8"))
            continue
        if kind == "text" and not include_text:
            continue
        if folder:
            try:
                part = excluded_in[folder]
            except KeyError:
                part = excluded_in[folder] = excluded_dir(folder + "/", excluded)
            if part is not None:
                result.skipped.append(SkippedFile(rel, f"vendored or build folder ({part}/)"))
                continue
        if rel in same:
            unchanged.append(rel)
            continue
        full = prefix + rel
        try:
            st = early.get(rel) or lstat(full)
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
        if not is_regular(st.st_mode):
            continue  # submodule directory, socket, ...
        if st.st_size > max_bytes:
            result.skipped.append(SkippedFile(rel, f"larger than {max_bytes} bytes ({st.st_size})"))
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

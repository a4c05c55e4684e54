"""What a commit changes, read from git through gitpython: files, patches, blobs, history.

:func:`read_changes` describes the staged changes (the index against ``HEAD``) or a revision
range as a :class:`ChangeSet`: one :class:`FileChange` per path with its status (renames and
copies detected), line counts, blob ids and unified-diff hunks. Everything runs through the
``git`` command (``repo.git``), never through gitpython's own index reader, so a hook sees
exactly what ``git commit`` is about to record: ``git commit -a`` and ``git commit PATH``
build a temporary index and point ``GIT_INDEX_FILE`` at it, which the git subprocesses
inherit.

Huge diffs stay bounded: each file keeps at most :data:`MAX_PATCH_BYTES` of its patch and the
whole diff at most :data:`MAX_DIFF_BYTES`; past that git is stopped and the remaining files
keep only their line counts. Paths and patches that are not UTF-8 are decoded with
replacement characters; blobs are read by id, so odd paths never reach a shell.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RepolensError

__all__ = [
    "EMPTY_TREE",
    "MAX_DIFF_BYTES",
    "MAX_PATCH_BYTES",
    "ChangeSet",
    "FileChange",
    "GitError",
    "NothingToDescribe",
    "commit_subjects",
    "config_value",
    "git_path",
    "open_repo",
    "read_blob",
    "read_changes",
]

log = logging.getLogger(__name__)

#: git's id of the empty tree: the "before" of a root commit and of an unborn branch.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
#: Bytes of one file's patch kept (the rest is counted, not read into the prompt).
MAX_PATCH_BYTES = 256 * 1024
#: Bytes of patch text read for the whole change; git is stopped past it.
MAX_DIFF_BYTES = 8 * 1024 * 1024
#: Blobs larger than this are not parsed for symbols.
MAX_BLOB_BYTES = 1_000_000
_NULL_SHA = "0" * 40

# Options that make git's output independent of the user's configuration.
_DIFF_OPTIONS = (
    "-M",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--ignore-submodules=none",
)
_PATCH_OPTIONS = ("--src-prefix=a/", "--dst-prefix=b/", "-U3", "--submodule=short")

_STATUS = {
    "A": "added",
    "M": "modified",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "T": "type_changed",
    "U": "unmerged",
    "X": "unknown",
}


class GitError(RepolensError):
    """A git command failed (not a repository, unknown revision, ...)."""


class NothingToDescribe(RepolensError):
    """The change is empty: nothing staged, or a range without differences."""


@dataclass(slots=True)
class FileChange:
    """One changed path. ``path`` is the new path (the old one for a deletion)."""

    path: str
    status: str  # added, modified, deleted, renamed, copied, type_changed, unmerged
    old_path: str | None = None  # renames and copies
    added: int = 0
    deleted: int = 0
    binary: bool = False
    old_blob: str | None = None  # object ids; None when that side does not exist
    new_blob: str | None = None
    old_mode: str = ""
    new_mode: str = ""
    similarity: int | None = None  # rename/copy similarity in percent
    hunks: str = ""  # the unified diff from the first "@@" on ("" for binary or mode-only)
    hunks_truncated: bool = False  # only the first MAX_PATCH_BYTES of the patch were kept
    header_key: bytes = b""  # the "diff --git" line git prints for this file
    withheld: str | None = None  # a secret file: why its content stays out of the prompt

    @property
    def changed_lines(self) -> int:
        return self.added + self.deleted

    @property
    def is_regular_file(self) -> bool:
        modes = {m for m in (self.old_mode, self.new_mode) if m and m != "000000"}
        return bool(modes) and all(m.startswith("100") for m in modes)

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "old_path": self.old_path,
            "status": self.status,
            "added": self.added,
            "deleted": self.deleted,
            "binary": self.binary,
        }


@dataclass(slots=True)
class ChangeSet:
    """A change to describe: the staged files or a revision range."""

    source: str  # "staged" or the range as given
    base: str  # the "before" commit (or EMPTY_TREE)
    tip: str | None  # the "after" commit; None for the index
    files: list[FileChange] = field(default_factory=list)
    range_subjects: list[str] = field(default_factory=list)  # commits inside a range
    truncated: bool = False  # git was stopped: later files have counts but no hunks

    @property
    def added(self) -> int:
        return sum(f.added for f in self.files)

    @property
    def deleted(self) -> int:
        return sum(f.deleted for f in self.files)


def open_repo(root: Path) -> Any:
    """The gitpython ``Repo`` of the work tree at (or above) ``root``."""
    import git

    try:
        return git.Repo(root, search_parent_directories=True)
    except git.NoSuchPathError:
        raise GitError(f"{root}: no such directory") from None
    except git.InvalidGitRepositoryError:
        raise GitError(f"{root} is not inside a git repository") from None
    except git.GitError as exc:
        raise GitError(f"{root}: cannot open the git repository ({exc})") from None


def _run(repo: Any, *args: str, as_bytes: bool = False, check: bool = True) -> Any:
    import git

    command = ["git", "-c", "core.quotepath=off", *args]
    try:
        return repo.git.execute(
            command, stdout_as_string=not as_bytes, with_exceptions=check, env=_git_env()
        )
    except git.GitCommandError as exc:
        stderr = exc.stderr.strip() if isinstance(exc.stderr, str) else str(exc.stderr)
        stderr = stderr.removeprefix("stderr:").strip().strip("'").strip()
        raise GitError(f"git {' '.join(args[:2])} failed: {stderr or exc}") from None


def _git_env() -> dict[str, str]:
    # Pagers and localized messages never help a program reading git's output.
    return {"GIT_PAGER": "cat", "PAGER": "cat", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}


def _resolve(repo: Any, rev: str) -> str:
    sha = _run(
        repo,
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        f"{rev}^{{commit}}",
        check=False,
    )
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{40,64}", sha.strip()):
        raise GitError(f"unknown revision {rev!r}: git cannot find that commit")
    return sha.strip()


def _head(repo: Any) -> str | None:
    sha = _run(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    return sha.strip() if isinstance(sha, str) and sha.strip() else None


def _parents(repo: Any, sha: str) -> list[str]:
    line = _run(repo, "rev-list", "--parents", "-n", "1", sha)
    return str(line).split()[1:]


def parse_range(repo: Any, rev_range: str) -> tuple[str, str]:
    """``A..B``, ``A...B`` (from their merge base) or ``C`` (what commit C changed)."""
    text = rev_range.strip()
    if not text or text.startswith("-"):
        raise GitError(f"{rev_range!r} is not a revision range: use A..B, A...B or a commit")
    if "..." in text:
        left, _, right = text.partition("...")
        a, b = _resolve(repo, left or "HEAD"), _resolve(repo, right or "HEAD")
        base = _run(repo, "merge-base", a, b, check=False)
        if not isinstance(base, str) or not base.strip():
            raise GitError(f"{rev_range!r}: the two sides have no common ancestor")
        return base.strip().splitlines()[0], b
    if ".." in text:
        left, _, right = text.partition("..")
        return _resolve(repo, left or "HEAD"), _resolve(repo, right or "HEAD")
    tip = _resolve(repo, text)
    parents = _parents(repo, tip)
    return (parents[0] if parents else EMPTY_TREE), tip


def git_path(repo: Any, name: str) -> Path:
    """Where git keeps ``name`` (``hooks`` honours ``core.hooksPath``), as an absolute path."""
    out = str(_run(repo, "rev-parse", "--git-path", name)).strip()
    path = Path(out)
    return path if path.is_absolute() else Path(repo.working_dir) / path


def config_value(repo: Any, key: str) -> str | None:
    """A git configuration value, or None when unset."""
    out = _run(repo, "config", "--get", key, check=False)
    value = str(out).strip() if isinstance(out, str) else ""
    return value or None


def commit_subjects(
    repo: Any, rev: str | None, *, limit: int = 30, exclude: str | None = None
) -> list[str]:
    """Subjects of the last ``limit`` non-merge commits reachable from ``rev`` (newest first)."""
    if rev is None or rev == EMPTY_TREE:
        return []
    spec = [f"{exclude}..{rev}"] if exclude and exclude != EMPTY_TREE else [rev]
    out = _run(repo, "log", "--no-merges", f"-n{limit}", "--format=%s", *spec, "--", check=False)
    if not isinstance(out, str):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def read_blob(repo: Any, sha: str | None, *, limit: int = MAX_BLOB_BYTES) -> bytes | None:
    """The content of a blob, or None when absent, too large or unreadable."""
    if not sha or sha == _NULL_SHA:
        return None
    try:
        binsha = bytes.fromhex(sha)
        if repo.odb.info(binsha).size > limit:
            return None
        data: bytes = repo.odb.stream(binsha).read()
        return data
    except Exception as exc:  # a missing object (shallow clone), a broken pack
        log.debug("cannot read blob %s: %s", sha, exc)
        return None


# --------------------------------------------------------------------------- parsing


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _parse_raw(data: bytes) -> list[FileChange]:
    """``git diff --raw -z --no-abbrev`` -> changes (paths still to be decoded)."""
    parts = data.split(b"\0")
    changes: list[FileChange] = []
    i = 0
    while i < len(parts):
        meta = parts[i]
        if not meta.startswith(b":"):
            i += 1
            continue
        fields = meta[1:].decode("ascii", "replace").split()
        if len(fields) < 5 or i + 1 >= len(parts):
            break
        old_mode, new_mode, old_sha, new_sha, status = fields[:5]
        letter = status[0]
        score = int(status[1:]) if status[1:].isdigit() else None
        if letter in "RC":
            old_raw, new_raw = parts[i + 1], parts[i + 2] if i + 2 < len(parts) else b""
            i += 3
        else:
            old_raw = new_raw = parts[i + 1]
            i += 2
        change = FileChange(
            path=_decode(new_raw),
            status=_STATUS.get(letter, "unknown"),
            old_path=_decode(old_raw) if letter in "RC" else None,
            old_blob=None if old_sha == _NULL_SHA or letter == "A" else old_sha,
            new_blob=None if new_sha == _NULL_SHA or letter == "D" else new_sha,
            old_mode=old_mode,
            new_mode=new_mode,
            similarity=score if letter in "RC" else None,
            header_key=_header(old_raw, new_raw),
        )
        changes.append(change)
    return changes


def _parse_numstat(data: bytes) -> list[tuple[int | None, int | None]]:
    """``git diff --numstat -z`` -> (added, deleted) per entry, None for binary."""
    out: list[tuple[int | None, int | None]] = []
    parts = data.split(b"\0")
    i = 0
    while i < len(parts):
        entry = parts[i]
        if not entry:
            i += 1
            continue
        fields = entry.split(b"\t", 2)
        if len(fields) < 3:
            i += 1
            continue
        added = int(fields[0]) if fields[0].isdigit() else None
        deleted = int(fields[1]) if fields[1].isdigit() else None
        out.append((added, deleted))
        # a rename/copy leaves the path field empty and puts both paths in the next parts
        i += 3 if fields[2] == b"" else 1
    return out


_NEEDS_QUOTE = re.compile(rb'["\\\x00-\x1f\x7f]')
_ESCAPES = {
    0x07: b"\\a",
    0x08: b"\\b",
    0x09: b"\\t",
    0x0A: b"\\n",
    0x0B: b"\\v",
    0x0C: b"\\f",
    0x0D: b"\\r",
    0x22: b'\\"',
    0x5C: b"\\\\",
}


def _quote(name: bytes) -> bytes:
    """A path the way git prints it in a patch header with ``core.quotepath=off``."""
    if not _NEEDS_QUOTE.search(name):
        return name
    out = bytearray(b'"')
    for byte in name:
        if byte in _ESCAPES:
            out += _ESCAPES[byte]
        elif byte < 0x20 or byte == 0x7F:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    out += b'"'
    return bytes(out)


def _header(old: bytes, new: bytes) -> bytes:
    return b"diff --git " + _quote(b"a/" + old) + b" " + _quote(b"b/" + new)


def _sections(lines: Iterator[bytes]) -> Iterator[tuple[bytes, list[bytes], int]]:
    """Split a patch stream into (header line, kept lines, bytes dropped) per file."""
    header: bytes | None = None
    kept: list[bytes] = []
    size = 0
    dropped = 0
    for line in lines:
        if line.startswith(b"diff --git "):
            if header is not None:
                yield header, kept, dropped
            header, kept, size, dropped = line.rstrip(b"\n"), [], 0, 0
            continue
        if header is None:
            continue
        if size + len(line) > MAX_PATCH_BYTES:
            dropped += len(line)
            continue
        kept.append(line)
        size += len(line)
    if header is not None:
        yield header, kept, dropped


def _attach_patches(repo: Any, revs: list[str], changes: list[FileChange]) -> bool:
    """Read the patch and attach each file's hunks; True when git was stopped early."""
    by_header: dict[bytes, list[FileChange]] = {}
    for change in changes:
        by_header.setdefault(change.header_key, []).append(change)
    unmatched = iter([c for c in changes])
    command = ["git", "-c", "core.quotepath=off", "diff", "-p", *_PATCH_OPTIONS, *_DIFF_OPTIONS]
    process = repo.git.execute([*command, *revs, "--"], as_process=True, env=_git_env())
    stdout = process.proc.stdout
    total = 0
    stopped = False

    def lines() -> Iterator[bytes]:
        nonlocal total, stopped
        for line in stdout:
            total += len(line)
            if total > MAX_DIFF_BYTES:
                stopped = True
                return
            yield line

    seen: set[int] = set()
    try:
        for header, kept, dropped in _sections(lines()):
            candidates = by_header.get(header) or []
            target = next((c for c in candidates if id(c) not in seen), None)
            if target is None and candidates:
                target = candidates[-1]  # a type change prints two sections for one entry
            if target is None:
                target = next((c for c in unmatched if id(c) not in seen), None)
            if target is None:
                continue
            seen.add(id(target))
            _fill_hunks(target, kept, dropped)
    finally:
        if stopped:
            process.proc.kill()
        else:
            stdout.read()
        process.proc.wait()
    return stopped


def _fill_hunks(change: FileChange, lines: list[bytes], dropped: int) -> None:
    body: list[bytes] = []
    in_hunks = False
    for line in lines:
        if line.startswith(b"@@"):
            in_hunks = True
        elif not in_hunks:
            if line.startswith((b"Binary files ", b"GIT binary patch")):
                change.binary = True
            continue
        body.append(line)
    text = _decode(b"".join(body))
    change.hunks = (change.hunks + text) if change.hunks else text
    change.hunks_truncated = change.hunks_truncated or dropped > 0


def read_changes(repo: Any, *, staged: bool = True, rev_range: str | None = None) -> ChangeSet:
    """The staged change (index vs ``HEAD``) or the change a range makes.

    Raises :class:`NothingToDescribe` when there is no difference and :class:`GitError` for an
    unknown revision or a broken repository.
    """
    if rev_range:
        base, tip = parse_range(repo, rev_range)
        diff_args = [base, tip]
        source = rev_range
    elif staged:
        head = _head(repo)
        base, tip = head or EMPTY_TREE, None
        diff_args = ["--cached", base]
        source = "staged"
    else:
        raise GitError("nothing to describe: pass staged=True or a revision range")
    raw = _run(
        repo, "diff", "--raw", "-z", "--no-abbrev", *_DIFF_OPTIONS, *diff_args, "--", as_bytes=True
    )
    changes = _parse_raw(raw)
    if not changes:
        if rev_range:
            raise NothingToDescribe(f"{rev_range}: the range changes no files")
        raise NothingToDescribe(
            "nothing staged: `git add` the changes to describe first (or use --range A..B)"
        )
    numstat = _parse_numstat(
        _run(repo, "diff", "--numstat", "-z", *_DIFF_OPTIONS, *diff_args, "--", as_bytes=True)
    )
    if len(numstat) == len(changes):
        for change, (added, deleted) in zip(changes, numstat, strict=True):
            change.added, change.deleted = added or 0, deleted or 0
            change.binary = added is None or deleted is None
    else:  # pragma: no cover - git prints both listings in the same order
        log.warning("git diff --numstat listed %d files, --raw %d", len(numstat), len(changes))
    truncated = _attach_patches(repo, diff_args, changes)
    range_subjects: list[str] = []
    if rev_range and tip is not None:
        range_subjects = commit_subjects(repo, tip, limit=50, exclude=base)
    return ChangeSet(
        source=source,
        base=base,
        tip=tip,
        files=changes,
        range_subjects=range_subjects,
        truncated=truncated,
    )

"""Download a GGUF through huggingface_hub and check it before anything uses it.

The hub does the transfer: its cache (``HF_HUB_CACHE``), its mirror setting (``HF_ENDPOINT``),
its offline switch (``HF_HUB_OFFLINE``), its progress bar on stderr, and its retries: a
connection dropped mid-file is resumed with a ``Range`` request within the same pull. (Since
huggingface_hub 2.x each download writes a temporary file of its own, removed when the download
fails, so a pull that was *interrupted* starts over; it never leaves a half file behind that
anything could use.)

What repolens adds, in this order:

1. Before downloading, ask the hub what it serves (``get_hf_file_metadata``: the SHA-256 of an
   LFS file, its size, the commit). When repolens (or the user) pinned a SHA-256 or a size and
   the hub reports another, stop before downloading anything.
2. Check there is room for the file.
3. After the download, stream the SHA-256 over the file and compare it with the pin, or, with
   no pin, with the hub's report. A mismatch removes the file from the cache (the snapshot link
   and the blob) and says what was expected, what came, and how to retry.

Only then does the caller record the file (:mod:`repolens.modelstore.record`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import RepolensError
from .catalog import CatalogEntry
from .record import PinnedBy, PulledModel

__all__ = [
    "ChecksumMismatch",
    "PullError",
    "PullTarget",
    "file_sha256",
    "hub_cache_dir",
    "hub_endpoint",
    "human_size",
    "pull",
    "remove_from_cache",
    "target_for_entry",
]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class PullError(RepolensError):
    """A pull that could not finish; the message says why and how to retry."""


class ChecksumMismatch(PullError):
    """The file is not the one that was pinned (it was removed from the cache)."""


@dataclass(frozen=True, slots=True)
class PullTarget:
    """What to pull and what it must be."""

    name: str
    repo: str
    file: str
    template: str
    revision: str = "main"
    sha256: str | None = None
    size: int | None = None
    pinned_by: PinnedBy = "hub"
    catalog: bool = False

    @property
    def command(self) -> str:
        """The command that pulls this again (for messages)."""
        if self.catalog:
            return f"repolens model pull {self.name}"
        parts = ["repolens model pull", self.repo, self.file]
        if self.sha256:
            parts.append(f"--sha256 {self.sha256}")
        if self.revision != "main":
            parts.append(f"--revision {self.revision}")
        return " ".join(parts)


_WHOSE_PIN = {
    "repolens": "repolens's catalog",
    "user": "your --sha256",
    "hub": "the hub's hash, recorded when you first pulled it",
}
_TAKE_NEW = {
    "repolens": "If the model was updated on purpose, pull it with "
    "`repolens model pull REPO FILE --sha256 HASH` and a hash you trust",
    "user": "Check the hash, or pull it without --sha256 to take the hub's",
    "hub": "The model was updated on the hub: `repolens model rm {name}`, then pull it again to "
    "take the new file",
}


def target_for_entry(entry: CatalogEntry) -> PullTarget:
    return PullTarget(
        name=entry.name,
        repo=entry.repo,
        file=entry.file,
        template=entry.template,
        revision=entry.revision or "main",
        sha256=entry.sha256,
        size=entry.size,
        pinned_by="repolens" if entry.sha256 else "hub",
        catalog=True,
    )


def _hub() -> Any:
    # huggingface_hub 2.x sends a user agent with telemetry and, for it, fetches a registry of
    # "agent harnesses" from the endpoint once a day; a pull is the one request asked for.
    # (Read when huggingface_hub is imported; a value the user set is kept.)
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        import huggingface_hub
        import huggingface_hub.constants
        import huggingface_hub.errors
    except ImportError as exc:
        raise PullError(
            f"repolens model pull needs huggingface_hub ({exc}): "
            "pip install 'huggingface_hub>=2,<3'"
        ) from None
    return huggingface_hub


def hub_endpoint() -> str:
    """Where huggingface_hub downloads from (``HF_ENDPOINT``, read when it is imported)."""
    return str(_hub().constants.ENDPOINT)


def hub_cache_dir() -> Path:
    """huggingface_hub's cache (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else its default)."""
    return Path(_hub().constants.HF_HUB_CACHE)


def _is_network_error(exc: BaseException) -> bool:
    """A connection or timeout error from whichever HTTP client huggingface_hub uses."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    root = type(exc).__module__.split(".")[0]
    return root in {"httpx", "httpx2", "httpcore", "requests", "urllib3"}


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, streamed (models are gigabytes)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def human_size(size: int | None) -> str:
    """``1.1 GB``-style sizes for messages."""
    if size is None:
        return "unknown size"
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


@dataclass(frozen=True, slots=True)
class _HubFile:
    sha256: str | None
    size: int | None
    commit: str | None


def _ask_hub(hub: Any, target: PullTarget) -> tuple[_HubFile | None, str | None]:
    """What the hub reports for the file, or (None, why it could not be asked)."""
    errors = hub.errors
    endpoint = hub_endpoint()
    where = f"{target.repo} at {endpoint}"
    url = hub.hf_hub_url(target.repo, target.file, revision=target.revision)
    try:
        meta = hub.get_hf_file_metadata(url)
    except errors.OfflineModeIsEnabled:
        return None, "HF_HUB_OFFLINE is set"
    except errors.GatedRepoError:
        raise PullError(
            f"{target.repo} is gated: accept its terms on its model card and log in with "
            "`hf auth login` (or set HF_TOKEN), then run the same command again"
        ) from None
    except errors.RepositoryNotFoundError:
        raise PullError(
            f"there is no repository {where} (or it is private: log in with `hf auth login`)"
        ) from None
    except errors.RevisionNotFoundError:
        raise PullError(f"{where} has no revision {target.revision!r}") from None
    except errors.RemoteEntryNotFoundError:
        raise PullError(f"{where} has no file {target.file!r} at {target.revision}") from None
    except errors.HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", "?")
        raise PullError(
            f"{endpoint} answered HTTP {status} for {url}; try again later, or check HF_ENDPOINT"
        ) from None
    except errors.FileMetadataError as exc:
        raise PullError(
            f"{endpoint} does not answer like a Hugging Face hub ({exc}); check HF_ENDPOINT"
        ) from None
    except Exception as exc:
        if not _is_network_error(exc):
            raise
        return None, f"cannot reach {endpoint} ({type(exc).__name__}: {exc})"
    etag = (meta.etag or "").lower()
    return _HubFile(
        sha256=etag if _SHA256.match(etag) else None, size=meta.size, commit=meta.commit_hash
    ), None


def _cached(hub: Any, target: PullTarget, cache_dir: Path) -> Path | None:
    """The file if huggingface_hub's cache has it for this revision (no network)."""
    try:
        path = hub.hf_hub_download(
            target.repo,
            target.file,
            revision=target.revision,
            cache_dir=str(cache_dir),
            local_files_only=True,
        )
    except (hub.errors.LocalEntryNotFoundError, OSError, ValueError):
        return None
    return Path(os.path.abspath(path))


def _blob_hash(path: Path) -> str | None:
    """The hub's SHA-256 of a cached LFS file: its blob is named after it."""
    name = path.resolve().name
    return name if _SHA256.match(name) else None


def _write_problem(exc: OSError, cache_dir: Path) -> str:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return (
            f"could not write the download into {cache_dir} ({reason}: the disk is full or a "
            "file-size limit applies). Free some space or point HF_HUB_CACHE at a disk with "
            "room"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST):
        return (
            f"cannot write into the Hugging Face cache {cache_dir} ({reason}). Make it "
            "writable, or point HF_HUB_CACHE at a directory of yours"
        )
    return f"could not write the download into {cache_dir} ({reason})"


def _check_room(cache_dir: Path, size: int | None) -> None:
    if not size:
        return
    probe = cache_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return
    if free < size:
        raise PullError(
            f"the file needs {human_size(size)} and {probe} has {human_size(free)} free: free "
            "some space or point HF_HUB_CACHE at a disk with room, then run the same command again"
        )


def _download_error(hub: Any, exc: Exception, target: PullTarget, cache: Path) -> Exception:
    """The PullError for an exception out of ``hf_hub_download`` (others are returned as is)."""
    retry = f"nothing was recorded or used. Run `{target.command}` again"
    if isinstance(exc, hub.errors.OfflineModeIsEnabled | hub.errors.LocalEntryNotFoundError):
        return PullError(f"the download of {target.file} could not start ({exc}); {retry}")
    if isinstance(exc, hub.errors.HfHubHTTPError) or _is_network_error(exc):
        return PullError(
            f"the download of {target.file} was cut off and did not resume "
            f"({type(exc).__name__}: {exc}); {retry}"
        )
    if isinstance(exc, OSError):
        if exc.errno is None:  # huggingface_hub's own "consistency check failed" (a short file)
            return PullError(f"the download of {target.file} is incomplete ({exc}); {retry}")
        return PullError(f"{_write_problem(exc, cache)}; {retry}")
    return exc


def remove_from_cache(path: Path) -> list[Path]:
    """Delete a file from huggingface_hub's cache: its snapshot link, and its blob when no
    other snapshot of the repository links to it. Returns what was deleted."""
    removed: list[Path] = []
    blob = path.resolve() if path.is_symlink() else None
    if path.is_symlink() or path.exists():
        path.unlink()
        removed.append(path)
    if blob is None or blob.parent.name != "blobs":
        return removed
    repo_dir = blob.parent.parent
    still_linked = any(
        link.is_symlink() and link.resolve() == blob for link in (repo_dir / "snapshots").rglob("*")
    )
    if not still_linked:
        for leftover in [blob, *blob.parent.glob(blob.name + ".*incomplete")]:
            if leftover.exists():
                leftover.unlink()
                removed.append(leftover)
    return removed


def pull(
    target: PullTarget,
    *,
    cache_dir: Path | None = None,
    say: Callable[[str], None] = lambda _message: None,
) -> PulledModel:
    """Download ``target`` (or find it in the cache), check it, and describe it.

    A ``target`` with ``pinned_by="hub"`` and a ``sha256`` is one pulled before: the hash the hub
    reported then is its pin now (trust on first use). Raises :class:`PullError` (and
    :class:`ChecksumMismatch`) with messages that say how to retry; nothing is recorded here.
    """
    hub = _hub()
    cache = cache_dir or hub_cache_dir()
    reported, unreachable = _ask_hub(hub, target)
    expected_sha = target.sha256
    expected_size = target.size
    pinned_by = target.pinned_by
    if reported is not None:
        pin = _WHOSE_PIN[target.pinned_by]
        if target.sha256 and reported.sha256 and reported.sha256 != target.sha256:
            raise ChecksumMismatch(
                f"the hub reports SHA-256 {reported.sha256} for {target.repo}/{target.file}, "
                f"not {target.sha256} ({pin}): it serves another file than the one pinned. "
                f"Nothing was downloaded. {_TAKE_NEW[target.pinned_by].format(name=target.name)}"
            )
        if target.size and reported.size and reported.size != target.size:
            raise ChecksumMismatch(
                f"the hub reports {reported.size:,} bytes for {target.repo}/{target.file}, not "
                f"the {target.size:,} pinned: it serves another file. Nothing was downloaded"
            )
        if expected_sha is None:
            if reported.sha256 is None:
                raise PullError(
                    f"the hub reports no SHA-256 for {target.repo}/{target.file} (not an LFS "
                    "file?), so there is nothing to check it against: give one with --sha256"
                )
            expected_sha, pinned_by = reported.sha256, "hub"
        expected_size = expected_size or reported.size
        if _cached(hub, target, cache) is None:
            _check_room(cache, expected_size)
            say(
                f"downloading {target.repo}/{target.file} ({human_size(expected_size)}) into "
                f"{cache}"
            )
    else:
        cached = _cached(hub, target, cache)
        if cached is None:
            hint = (
                "unset HF_HUB_OFFLINE (or set it to 0) to download it"
                if unreachable == "HF_HUB_OFFLINE is set"
                else "check the network (or HF_ENDPOINT, for a mirror) and run the same command "
                "again"
            )
            raise PullError(
                f"{unreachable}, and {target.file} is not in the Hugging Face cache {cache}: {hint}"
            )
        path = cached
        say(f"{unreachable}: using the copy in the Hugging Face cache")
        if expected_sha is None:
            expected_sha = _blob_hash(path)
            if expected_sha is None:
                raise PullError(
                    f"{unreachable} and repolens has no SHA-256 to check the cached {path} "
                    f"against: run `{target.command}` once with the network, or give --sha256"
                )
            pinned_by = "hub"
    if reported is not None:
        try:
            path = Path(
                os.path.abspath(  # not resolved: the snapshot link keeps the file's name
                    hub.hf_hub_download(
                        target.repo, target.file, revision=target.revision, cache_dir=str(cache)
                    )
                )
            )
        except Exception as exc:
            raise _download_error(hub, exc, target, cache) from None
    return _verified(target, path, expected_sha, expected_size, pinned_by, reported, say)


def _verified(
    target: PullTarget,
    path: Path,
    expected_sha: str,
    expected_size: int | None,
    pinned_by: PinnedBy,
    reported: _HubFile | None,
    say: Callable[[str], None],
) -> PulledModel:
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        remove_from_cache(path)
        raise ChecksumMismatch(
            f"{target.file} has {size:,} bytes, not the {expected_size:,} expected; it was "
            f"removed from the cache. Run `{target.command}` again"
        )
    say(f"checking the SHA-256 of {path.name} ({human_size(size)})")
    actual = file_sha256(path)
    if actual != expected_sha:
        remove_from_cache(path)
        whose = _WHOSE_PIN[pinned_by] if target.sha256 else "the hub's report"
        raise ChecksumMismatch(
            f"SHA-256 mismatch for {target.repo}/{target.file}:\n"
            f"  expected {expected_sha} ({whose})\n"
            f"  got      {actual}\n"
            "the file was removed from the Hugging Face cache and is not used. The download was "
            f"corrupted, or the file is not the one pinned: run `{target.command}` again; if it "
            "fails the same way, the file on the hub (or your HF_ENDPOINT mirror) differs from "
            "the pin"
        )
    commit = (reported.commit if reported else None) or _commit_of(path)
    return PulledModel(
        name=target.name,
        repo=target.repo,
        file=target.file,
        revision=target.revision,
        commit=commit,
        path=str(path),
        size=size,
        sha256=actual,
        pinned_by=pinned_by,
        template=target.template,
        pulled_at=datetime.now(UTC).isoformat(timespec="seconds"),
        catalog=target.catalog,
    )


def _commit_of(path: Path) -> str | None:
    """The commit of a file in huggingface_hub's cache (``snapshots/<commit>/<file>``)."""
    parts = path.parts
    if "snapshots" in parts:
        index = len(parts) - 1 - parts[::-1].index("snapshots")
        if index + 1 < len(parts):
            return parts[index + 1]
    return None

"""Where a local model process lives: one private directory per user, one key per model.

A model process is identified by a key derived from the GGUF (resolved path, size, mtime) and
the context size, so every repolens process of this user that asks for the same model finds the
same process: ``<runtime dir>/<key>.sock`` (its Unix socket), ``.json`` (what it is doing, its
crashes), ``.log`` (its stderr) and ``.lock`` (taken while one is being started).

The runtime directory is ``$REPOLENS_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/repolens``, else
``/tmp/repolens-<uid>``. It must be a real directory owned by this user with mode 0700 (a
``/tmp`` name another user created first is refused, not used), and the socket is 0600: no
other user on the machine can send the model a prompt or read its answers. The model process
checks the peer's uid on every connection as well (``SO_PEERCRED``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..base import ModelUnavailable

__all__ = [
    "ProcessPaths",
    "ProcessSpec",
    "read_json",
    "runtime_dir",
    "spawn_lock",
    "write_json",
]

#: AF_UNIX path limit: 108 bytes on Linux, 104 on macOS (including the NUL).
_MAX_SOCKET_PATH = 100


def runtime_dir(environ: dict[str, str] | None = None) -> Path:
    """This user's private directory for model processes (created 0700 when missing)."""
    env = os.environ if environ is None else environ
    if env.get("REPOLENS_RUNTIME_DIR"):
        path = Path(env["REPOLENS_RUNTIME_DIR"]).expanduser()
    elif env.get("XDG_RUNTIME_DIR"):
        path = Path(env["XDG_RUNTIME_DIR"]) / "repolens"
    else:
        path = Path(tempfile.gettempdir()) / f"repolens-{os.getuid()}"
    _ensure_private_dir(path)
    return path


def _ensure_private_dir(path: Path) -> None:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(path)
    except OSError as exc:
        raise ModelUnavailable(
            f"cannot create the model process directory {path} ({exc.strerror}); set "
            "REPOLENS_RUNTIME_DIR to a writable directory of yours"
        ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise ModelUnavailable(
            f"{path} is not a directory (a symlink or a file); remove it or set "
            "REPOLENS_RUNTIME_DIR to a directory of yours"
        )
    if info.st_uid != os.getuid():
        raise ModelUnavailable(
            f"{path} belongs to another user (uid {info.st_uid}), so its model process would "
            "not be private; remove it or set REPOLENS_RUNTIME_DIR to a directory of yours"
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """What a model process loads; the same spec means the same shared process."""

    gguf: str  # resolved path
    n_ctx: int
    threads: int
    cpu_mode: str  # "auto" or a rung of repolens.backends.cpu_modes.LADDER to start at
    idle_unload_s: float  # 0: stay loaded until stopped
    cache_dir: str  # where the per-CPU probe results are kept

    @property
    def key(self) -> str:
        """The model's identity: the file (path, size, mtime) and the context size.

        Threads, CPU mode and idle time are the first starter's choice, not part of it.
        """
        try:
            info = os.stat(self.gguf)
            identity = f"{self.gguf}\0{info.st_size}\0{info.st_mtime_ns}\0{self.n_ctx}"
        except OSError:
            identity = f"{self.gguf}\0{self.n_ctx}"
        stem = Path(self.gguf).stem.lower()
        safe = "".join(c if c.isalnum() else "-" for c in stem)[:24].strip("-") or "model"
        return f"{safe}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ProcessPaths:
    """The files of one model process in the runtime directory."""

    directory: Path
    key: str

    @classmethod
    def for_spec(cls, spec: ProcessSpec, directory: Path | None = None) -> ProcessPaths:
        paths = cls(directory or runtime_dir(), spec.key)
        if len(str(paths.socket)) > _MAX_SOCKET_PATH:
            raise ModelUnavailable(
                f"the model process socket path {paths.socket} is too long for a Unix socket; "
                "set REPOLENS_RUNTIME_DIR to a shorter directory (e.g. /tmp/repolens-$USER)"
            )
        return paths

    @property
    def socket(self) -> Path:
        return self.directory / f"{self.key}.sock"

    @property
    def state(self) -> Path:
        return self.directory / f"{self.key}.json"

    @property
    def log(self) -> Path:
        return self.directory / f"{self.key}.log"

    @property
    def lock(self) -> Path:
        return self.directory / f"{self.key}.lock"


@contextlib.contextmanager
def spawn_lock(path: Path, timeout_s: float = 30.0) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path``: one process at a time starts or retires a
    model process under one key (raises ModelUnavailable after ``timeout_s``)."""
    import time

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ModelUnavailable(
                        f"another repolens process has been starting the model process for "
                        f"{timeout_s:g} s ({path}); see its log next to that file"
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # releases the lock


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or None when missing or unreadable (never raises)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` atomically (a 0600 temporary file renamed into place)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise

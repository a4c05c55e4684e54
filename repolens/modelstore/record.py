"""What was pulled, and which role uses it: ``models.json`` in the user config directory.

The record sits next to the user's ``config.toml`` (``$XDG_CONFIG_HOME/repolens``, else
``~/.config/repolens``), never in a repository: like ``model.gguf``, which model runs is the
user's choice, and a cloned repository cannot make it. The files themselves stay in
huggingface_hub's cache; the record keeps where each one is, its size and SHA-256 (as checked
when it was pulled) and what pinned that hash.

Writes are atomic (a temporary file renamed over the old one, under a lock), so a reader sees
the old record or the new one, never half of one. A record that cannot be read is reported
and treated as empty; it is moved aside on the next write, not silently lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..settings import user_config_dir

__all__ = [
    "COMPLETION",
    "ModelRecord",
    "PulledModel",
    "RecordError",
    "load_record",
    "record_path",
    "update_record",
]

_log = logging.getLogger(__name__)

RECORD_VERSION = 1
#: The role the embedded backend serves completion (and, today, everything else) from.
COMPLETION = "completion"

PinnedBy = Literal["repolens", "user", "hub"]


class RecordError(Exception):
    """The record exists but cannot be read or written."""


def record_path() -> Path:
    return user_config_dir() / "models.json"


@dataclass(slots=True)
class PulledModel:
    """One pulled file. ``pinned_by``: whose SHA-256 it was checked against — repolens's
    catalog, the user's ``--sha256``, or only the hub's own report."""

    name: str
    repo: str
    file: str
    revision: str
    commit: str | None
    path: str
    size: int
    sha256: str
    pinned_by: PinnedBy
    template: str
    pulled_at: str
    catalog: bool = False

    @property
    def pull_command(self) -> str:
        """The command that pulls this file again."""
        if self.catalog:
            return f"repolens model pull {self.name}"
        command = f"repolens model pull {self.repo} {self.file}"
        if self.pinned_by == "user":
            command += f" --sha256 {self.sha256}"
        if self.revision != "main":
            command += f" --revision {self.revision}"
        return command

    def problem(self) -> str | None:
        """Why the file cannot be used now (missing, or not the size it had), else None."""
        path = Path(self.path)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return f"is missing from the Hugging Face cache ({path})"
        except OSError as exc:
            return f"cannot be read ({path}: {exc.strerror or exc})"
        if size != self.size:
            return f"has {size:,} bytes, not the {self.size:,} it had when it was pulled ({path})"
        return None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PulledModel:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(slots=True)
class ModelRecord:
    models: dict[str, PulledModel] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)

    def role(self, role: str) -> PulledModel | None:
        name = self.roles.get(role)
        return self.models.get(name) if name else None

    def roles_of(self, name: str) -> list[str]:
        return sorted(role for role, holder in self.roles.items() if holder == name)

    def as_json(self) -> dict[str, Any]:
        return {
            "version": RECORD_VERSION,
            "roles": dict(sorted(self.roles.items())),
            "models": {name: m.as_json() for name, m in sorted(self.models.items())},
        }


def _parse(data: Any, path: Path) -> ModelRecord:
    if not isinstance(data, dict) or not isinstance(data.get("models", {}), dict):
        raise RecordError(f"{path} is not a repolens model record")
    try:
        models = {
            str(name): PulledModel.from_json(item) for name, item in data.get("models", {}).items()
        }
    except TypeError as exc:
        raise RecordError(f"{path} has an entry repolens cannot read ({exc})") from None
    roles = {
        str(role): str(name)
        for role, name in (data.get("roles") or {}).items()
        if isinstance(name, str) and name in models
    }
    return ModelRecord(models=models, roles=roles)


def load_record(path: Path | None = None) -> ModelRecord:
    """The record; empty when there is none. Raises :class:`RecordError` when unreadable."""
    path = path or record_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ModelRecord()
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"cannot read {path} ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path} is not valid JSON ({exc})") from None
    return _parse(data, path)


def _write(record: ModelRecord, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".models-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record.as_json(), fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def update_record(path: Path | None = None) -> Iterator[ModelRecord]:
    """Read, let the caller change, and atomically write the record, under a lock.

    An unreadable record is moved aside (``models.json.unreadable``) with a warning and
    replaced. Raises :class:`RecordError` when the directory cannot be written.
    """
    path = path or record_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_name(path.name + ".lock"), "a+b")  # noqa: SIM115 - held below
    except OSError as exc:
        raise RecordError(
            f"cannot write the model record in {path.parent} ({exc.strerror or exc})"
        ) from None
    with lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            record = load_record(path)
        except RecordError as exc:
            aside = path.with_name(path.name + ".unreadable")
            _log.warning("%s; moved it to %s and started a new record", exc, aside)
            with contextlib.suppress(OSError):
                os.replace(path, aside)
            record = ModelRecord()
        yield record
        try:
            _write(record, path)
        except OSError as exc:
            raise RecordError(f"cannot write {path} ({exc.strerror or exc})") from None

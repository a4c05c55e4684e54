"""Pulled models: a small catalog of FIM code GGUFs, the download-and-verify step, and the
record of what was pulled and which role uses it.

``repolens model pull|list|rm|use`` (:mod:`repolens.commands.model`) is the front door; the
embedded backend asks :func:`completion_model` which GGUF serves completion when
``model.gguf`` is not set.
"""

from __future__ import annotations

from .catalog import CATALOG, CatalogEntry, find_entry
from .pull import (
    ChecksumMismatch,
    PullError,
    PullTarget,
    file_sha256,
    hub_cache_dir,
    hub_endpoint,
    human_size,
    pull,
    remove_from_cache,
    target_for_entry,
)
from .record import (
    COMPLETION,
    ModelRecord,
    PulledModel,
    RecordError,
    load_record,
    record_path,
    update_record,
)

__all__ = [
    "CATALOG",
    "COMPLETION",
    "CatalogEntry",
    "ChecksumMismatch",
    "ModelRecord",
    "PullError",
    "PullTarget",
    "PulledModel",
    "RecordError",
    "completion_model",
    "file_sha256",
    "find_entry",
    "hub_cache_dir",
    "hub_endpoint",
    "human_size",
    "load_record",
    "pull",
    "record_path",
    "remove_from_cache",
    "target_for_entry",
    "update_record",
]


def completion_model() -> tuple[PulledModel | None, str | None]:
    """The pulled model recorded for completion, and a problem that keeps it from being used
    (missing file, changed size, unreadable record), if any. Reads only the record and a
    ``stat`` of the file: cheap enough for every model start."""
    try:
        record = load_record()
    except RecordError as exc:
        return None, str(exc)
    model = record.role(COMPLETION)
    if model is None:
        return None, None
    return model, model.problem()

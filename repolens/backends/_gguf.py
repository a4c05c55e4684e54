"""Just enough of the GGUF format to read a model's metadata before loading it.

llama.cpp needs ``n_ctx`` when it loads a model, and the right default depends on the model's
training context (``{architecture}.context_length``), so we read the header ourselves. It also
lets a truncated or non-GGUF file fail with a clear message instead of inside llama.cpp.

Format (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md): magic ``GGUF``, uint32
version (2 or 3), uint64 tensor count, uint64 metadata count, then metadata entries (uint64
length-prefixed UTF-8 key, uint32 type, value), all little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

__all__ = ["GgufError", "GgufHeader", "read_gguf_header"]

_SCALARS: dict[int, str] = {
    0: "<B",  # uint8
    1: "<b",  # int8
    2: "<H",  # uint16
    3: "<h",  # int16
    4: "<I",  # uint32
    5: "<i",  # int32
    6: "<f",  # float32
    7: "<?",  # bool
    10: "<Q",  # uint64
    11: "<q",  # int64
    12: "<d",  # float64
}
_STRING = 8
_ARRAY = 9
_MAX_KEY = 1 << 16
_MAX_STRING = 1 << 26


class GgufError(ValueError):
    """The file is not a readable GGUF model."""


@dataclass(frozen=True, slots=True)
class GgufHeader:
    version: int
    tensor_count: int
    metadata: dict[str, object] = field(default_factory=dict)

    @property
    def architecture(self) -> str | None:
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) else None

    @property
    def context_length(self) -> int | None:
        """The training context (``{architecture}.context_length``), if the file says."""
        if self.architecture is None:
            return None
        value = self.metadata.get(f"{self.architecture}.context_length")
        return value if isinstance(value, int) and value > 0 else None

    @property
    def name(self) -> str | None:
        value = self.metadata.get("general.name")
        return value if isinstance(value, str) else None


def _read(fh: BinaryIO, size: int) -> bytes:
    data = fh.read(size)
    if len(data) != size:
        raise GgufError("the file ends in the middle of its header (truncated download?)")
    return data


def _unpack(fh: BinaryIO, fmt: str) -> object:
    return struct.unpack(fmt, _read(fh, struct.calcsize(fmt)))[0]


def _u32(fh: BinaryIO) -> int:
    value: int = struct.unpack("<I", _read(fh, 4))[0]
    return value


def _u64(fh: BinaryIO) -> int:
    value: int = struct.unpack("<Q", _read(fh, 8))[0]
    return value


def _string(fh: BinaryIO, limit: int = _MAX_STRING) -> str:
    length = _u64(fh)
    if length > limit:
        raise GgufError(f"implausible string length {length} in the header")
    return _read(fh, length).decode("utf-8", errors="replace")


def _value(fh: BinaryIO, kind: int, keep: bool) -> object:
    if kind in _SCALARS:
        return _unpack(fh, _SCALARS[kind])
    if kind == _STRING:
        return _string(fh)
    if kind == _ARRAY:
        item_kind = _u32(fh)
        count = _u64(fh)
        if item_kind in _SCALARS:  # skip without decoding: vocabularies are large
            size = struct.calcsize(_SCALARS[item_kind]) * count
            fh.seek(size, 1)
            return None
        if item_kind == _STRING and not keep:
            for _ in range(count):
                fh.seek(_u64(fh), 1)
            return None
        items = [_value(fh, item_kind, keep) for _ in range(count)]
        return items if keep else None
    raise GgufError(f"unknown metadata type {kind} in the header")


def read_gguf_header(path: str | Path, *, wanted: frozenset[str] | None = None) -> GgufHeader:
    """Read the metadata of a GGUF file (arrays are skipped, not returned).

    With ``wanted``, stop as soon as those keys were seen (``{arch}.context_length`` keys are
    matched after ``general.architecture`` is known); raises :class:`GgufError` for files that
    are not GGUF or are cut short.
    """
    try:
        with open(path, "rb") as fh:
            if _read(fh, 4) != b"GGUF":
                raise GgufError("not a GGUF file (bad magic bytes)")
            version = _u32(fh)
            if version not in (2, 3):
                raise GgufError(f"unsupported GGUF version {version}")
            tensor_count = _u64(fh)
            kv_count = _u64(fh)
            metadata: dict[str, object] = {}
            for _ in range(kv_count):
                key = _string(fh, _MAX_KEY)
                kind = _u32(fh)
                value = _value(fh, kind, keep=False)
                if value is not None:
                    metadata[key] = value
                if wanted is not None and _has_all(metadata, wanted):
                    break
            return GgufHeader(version=version, tensor_count=tensor_count, metadata=metadata)
    except OSError as exc:
        raise GgufError(f"cannot read it ({exc.strerror or exc})") from exc


def _has_all(metadata: dict[str, object], wanted: frozenset[str]) -> bool:
    arch = metadata.get("general.architecture")
    for key in wanted:
        if key.startswith("{arch}."):
            if not isinstance(arch, str) or key.replace("{arch}", arch) not in metadata:
                return False
        elif key not in metadata:
            return False
    return True

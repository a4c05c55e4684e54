"""Token counts for prompt budgeting: one counter, used by completion and by Q&A.

:class:`TokenCounter` puts a bounded LRU cache in front of a model's :class:`Tokenizer` (the
same snippet, line or header is counted once), counts batches on worker threads, gives a cheap
calibrated :meth:`~TokenCounter.estimate` for choosing among many renderings, and keeps its
counts between processes in a file beside the index (:func:`counts_file`), one per model, so
counts of different tokenizers never mix.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .backends.base import ModelInfo, Tokenizer

__all__ = ["TokenCounter", "counts_file"]

_CALIBRATE_CHARS = 64  # texts at least this long teach the estimate (shorter ones are noisy)
_CALIBRATED_TOKENS = 200  # exact tokens seen before the measured ratio replaces the default

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor | None:
    """Threads for counting: llama.cpp's tokenizer and HTTP /tokenize release the GIL."""
    global _POOL
    workers = min(4, os.cpu_count() or 1)
    if workers < 2:
        return None
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(workers, thread_name_prefix="repolens-count")
        return _POOL


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


#: The keys of short texts (lines, while windows are sized at every keystroke): the same lines
#: come again and again, and a cached key costs ~0.08 us where hashing costs ~0.7.
_short_key = functools.lru_cache(maxsize=16384)(_key)


def counts_file(store_path: Path | str, info: ModelInfo, use: str) -> Path:
    """Where ``use`` (``"qa"``, ``"completion"``) keeps the counts of this model's tokenizer.

    Beside the index (``store_path``), named after the model and a digest of what identifies
    its tokenizer: backend, name and location (GGUF path or server URL), and for a GGUF file its
    size and modification time, so another model — or another file under the same name — never
    reads counts that are not its own.
    """
    identity = [info.backend, info.name, info.location]
    try:
        st = os.stat(info.location)
        identity += [str(st.st_size), str(st.st_mtime_ns)]
    except (OSError, ValueError):
        pass  # a server URL
    digest = hashlib.blake2b("\0".join(identity).encode(), digest_size=8).hexdigest()
    name = "".join(c if c.isalnum() else "_" for c in info.name)[:48]
    return Path(f"{store_path}.{use}-tokens-{name}-{digest}.npz")


class _Counts:
    """What a counter remembers; the finalizer that saves it holds this, not the counter."""

    __slots__ = ("cache", "chars", "lock", "size", "tokens", "unsaved")

    def __init__(self, size: int) -> None:
        self.cache: OrderedDict[bytes, int] = OrderedDict()  # least recently used first
        self.lock = threading.Lock()
        self.size = size
        self.unsaved = 0  # counts added since the last load or save
        self.chars = 0  # characters and exact tokens of the texts that calibrate the estimate
        self.tokens = 0


def _save(counts: _Counts, path: Path) -> None:
    with counts.lock:
        if not counts.unsaved and path.exists():
            return
        import numpy as np  # ~10 MB: only when counts are saved or loaded

        keys = np.array(list(counts.cache.keys()), dtype="S16")
        values = np.array(list(counts.cache.values()), dtype=np.int32)
        calibration = np.array([counts.chars, counts.tokens], dtype=np.int64)
        counts.unsaved = 0
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, keys=keys, counts=values, calibration=calibration)
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass


class TokenCounter:
    """Exact counts from the model's tokenizer, remembered (bounded LRU) across calls.

    ``path``: a file (see :func:`counts_file`) whose counts are loaded now and saved when the
    counter is dropped or the process exits, so the next process starts warm. :meth:`load` and
    :meth:`save` do the same on demand.

    :meth:`estimate` is a cheap, deliberately high guess calibrated on the exact counts seen so
    far (characters per token of this model on this code), for choosing among many renderings;
    what is chosen is then counted exactly.
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        size: int = 200_000,
        parallel: bool = True,
        *,
        path: Path | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self._counts = _Counts(size)
        self._parallel = parallel
        self.counted_chars = 0  # characters sent to the tokenizer (cache misses)
        self.path = path
        if path is not None:
            self.load(path)
            weakref.finalize(self, _save, self._counts, path)

    # -- persistence -----------------------------------------------------------------------

    def load(self, path: Path) -> None:
        """Remember the counts a previous process saved (a missing or bad file is ignored)."""
        if not path.is_file():
            return
        try:
            import numpy as np  # ~10 MB: only when counts are saved or loaded

            with np.load(path) as data:
                keys, values = data["keys"], data["counts"]
                calibration = data["calibration"] if "calibration" in data.files else None
        except (OSError, ValueError, KeyError, EOFError):
            return
        counts = self._counts
        with counts.lock:
            start = max(0, len(keys) - counts.size)  # the most recently used, if too many
            for key, n in zip(keys[start:].tolist(), values[start:].tolist(), strict=False):
                counts.cache.setdefault(key, n)
            while len(counts.cache) > counts.size:
                counts.cache.popitem(last=False)
            if calibration is not None and len(calibration) == 2 and not counts.tokens:
                counts.chars, counts.tokens = (int(x) for x in calibration.tolist())
            counts.unsaved = 0

    def save(self, path: Path) -> None:
        """Keep the counts for the next process (atomically; skipped when nothing is new)."""
        _save(self._counts, path)

    # -- counting --------------------------------------------------------------------------

    def _remember(self, key: bytes, text: str, n: int) -> None:
        counts = self._counts
        with counts.lock:
            self.counted_chars += len(text)
            if len(text) >= _CALIBRATE_CHARS:
                counts.chars += len(text)
                counts.tokens += n
            counts.cache[key] = n
            counts.unsaved += 1
            if len(counts.cache) > counts.size:
                counts.cache.popitem(last=False)

    def __call__(self, text: str) -> int:
        if not text:
            return 0
        key = _short_key(text) if len(text) < _CALIBRATE_CHARS else _key(text)
        counts = self._counts
        with counts.lock:
            hit = counts.cache.get(key)
            if hit is not None:
                counts.cache.move_to_end(key)
                return hit
        n = self.tokenizer.count(text)
        self._remember(key, text, n)
        return n

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Counts of several texts; the ones not remembered are counted on worker threads."""
        keys = [_key(t) if t else b"" for t in texts]
        out: list[int | None] = [None] * len(texts)
        missing: list[int] = []
        counts = self._counts
        with counts.lock:
            for i, (text, key) in enumerate(zip(texts, keys, strict=True)):
                hit = counts.cache.get(key) if text else 0
                if hit is None:
                    missing.append(i)
                else:
                    out[i] = hit
        todo = [texts[i] for i in missing]
        if len(todo) > 1 and getattr(self.tokenizer, "batches_counts", False):
            found = self.tokenizer.count_many(todo)  # one round trip, not one per text
        else:
            pool = _pool() if self._parallel and len(missing) >= 4 else None
            found = (
                list(pool.map(self.tokenizer.count, todo))
                if pool is not None
                else [self.tokenizer.count(t) for t in todo]
            )
        for i, n in zip(missing, found, strict=True):
            out[i] = n
            self._remember(keys[i], texts[i], n)
        return [n or 0 for n in out]

    def estimate(self, text: str) -> int:
        """A guess that errs high: the exact count of a short text already counted, else the
        length over the measured characters per token less 15% (2.6 until calibrated)."""
        if not text:
            return 0
        counts = self._counts
        short = len(text) < _CALIBRATE_CHARS
        key = _short_key(text) if short else b""
        with counts.lock:
            hit = counts.cache.get(key) if short else None
            chars, tokens = counts.chars, counts.tokens
        if hit is not None:
            return hit
        # code tokenizes at ~3-4 characters per token
        ratio = (chars / tokens) * 0.85 if tokens >= _CALIBRATED_TOKENS else 2.6
        return int(len(text) / ratio) + 1

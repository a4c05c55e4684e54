"""Chunk embeddings in a faiss index whose ids are the SQLite chunk row ids.

The vector index is a cache beside the SQLite file: ``<db>.<embedder>.vectors.npz`` holds
the serialized faiss index with the ids and fingerprints of its vectors, and is replaced
atomically. It is brought up to date incrementally: chunks whose id and fingerprint (file
content hash and line span) are already embedded are kept, new or changed ones are
embedded, vanished ones removed. Building runs in a background thread that only reads the
index through its own WAL connection, so it never blocks indexing, completion or questions;
a question uses whatever part is embedded so far.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..indexer import ChunkHit, RepoIndex
from .embeddings import Embedder

__all__ = ["SyncReport", "VectorIndex", "chunk_embedding_text"]

log = logging.getLogger(__name__)

_EMBED_CHARS = 1200  # ~256 MiniLM tokens of code: signature, docstring, start of the body
_SAVE_EVERY_S = 15.0


def chunk_embedding_text(chunk: ChunkHit, text: str) -> str:
    """What is embedded for a chunk: where it lives, its symbol, and its first lines."""
    head = f"{chunk.path}\n{chunk.symbol}\n" if chunk.symbol else f"{chunk.path}\n"
    return head + text[:_EMBED_CHARS]


def _fingerprint(file_hash: str, chunk: ChunkHit) -> int:
    raw = f"{file_hash}:{chunk.start_line}:{chunk.end_line}:{chunk.symbol}".encode()
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "little", signed=True)


@dataclass
class SyncReport:
    total: int  # chunks in the database
    embedded: int  # chunks with a current vector after this call
    added: int
    removed: int
    seconds: float
    done: bool  # nothing left to embed


class VectorIndex:
    """faiss inner-product index over the chunk embeddings of one repository."""

    def __init__(self, index: RepoIndex, embedder: Embedder, path: Path | None = None) -> None:
        import faiss

        self.index = index
        self.embedder = embedder
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in embedder.name)[:80]
        self.path = path or Path(f"{index.store.path}.{safe}.vectors.npz")
        self._faiss = faiss
        self._lock = threading.RLock()
        self._ids = np.zeros(0, dtype=np.int64)
        self._prints = np.zeros(0, dtype=np.int64)
        # faiss's stubs do not know its numpy-accepting wrappers
        self._vectors: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(embedder.dim))
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._stop_at: float | None = None
        self._wake = threading.Event()
        self._dirty = False
        self.last_report: SyncReport | None = None
        self.error: str | None = None
        self._load()

    # -- persistence -----------------------------------------------------------------------

    def _load(self) -> None:
        if not self.path.is_file():
            return
        try:
            with np.load(self.path) as data:
                blob, ids, prints = data["index"], data["ids"], data["prints"]
            vectors = self._faiss.deserialize_index(blob)
            if vectors.d != self.embedder.dim or vectors.ntotal != len(ids):
                raise ValueError("dimension or size mismatch")
        except Exception as exc:  # a cache: rebuild whatever is wrong with it
            log.warning("vector index %s unreadable (%s); rebuilding it", self.path, exc)
            return
        self._vectors, self._ids, self._prints = vectors, ids, prints

    def save(self) -> None:
        """Write the vectors and their ids to one file, atomically (a reader never sees half)."""
        with self._lock:
            if not self._dirty:
                return
            blob = self._faiss.serialize_index(self._vectors)
            ids, prints = self._ids.copy(), self._prints.copy()
            self._dirty = False
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp.npz")
        np.savez(tmp, index=blob, ids=ids, prints=prints)
        os.replace(tmp, self.path)

    # -- state -----------------------------------------------------------------------------

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._ids)

    def status(self) -> dict[str, object]:
        report = self.last_report
        return {
            "embedder": self.embedder.name,
            "embedded": self.count,
            "chunks": report.total if report else None,
            "building": self._thread is not None and self._thread.is_alive(),
            "error": self.error,
        }

    # -- building --------------------------------------------------------------------------

    def sync(
        self,
        *,
        max_seconds: float | None = None,
        progress: Callable[[int, int], None] | None = None,
        batch: int = 8,
    ) -> SyncReport:
        """Embed what is missing or changed and drop what vanished (for ``max_seconds`` at most)."""
        started = time.perf_counter()
        chunks = self.index.all_chunks()
        hashes = self.index.file_hashes()
        wanted = {c.id: _fingerprint(hashes.get(c.path, ""), c) for c in chunks}
        with self._lock:
            have = dict(zip(self._ids.tolist(), self._prints.tolist(), strict=True))
        stale = [i for i, fp in have.items() if wanted.get(i) != fp]
        removed = len(stale)
        if stale:
            with self._lock:
                self._vectors.remove_ids(np.array(stale, dtype=np.int64))
                keep = ~np.isin(self._ids, np.array(stale, dtype=np.int64))
                self._ids, self._prints = self._ids[keep], self._prints[keep]
                self._dirty = True
        todo = [c for c in chunks if c.id not in have or have[c.id] != wanted[c.id]]
        # files in order, so each file's text is read once
        todo.sort(key=lambda c: (c.path, c.start_line))
        added = 0
        last_save = time.perf_counter()
        text_cache: tuple[str, list[str]] = ("", [])
        for start in range(0, len(todo), batch):
            if self._stopping():
                break
            if max_seconds is not None and time.perf_counter() - started > max_seconds:
                break
            part = todo[start : start + batch]
            texts = []
            for c in part:
                if text_cache[0] != c.path:
                    text_cache = (c.path, (self.index.text(c.path) or "").split("\n"))
                body = "\n".join(text_cache[1][c.start_line - 1 : c.end_line])
                texts.append(chunk_embedding_text(c, body))
            vectors = self.embedder.embed(texts)
            ids = np.array([c.id for c in part], dtype=np.int64)
            prints = np.array([wanted[c.id] for c in part], dtype=np.int64)
            with self._lock:
                self._vectors.add_with_ids(vectors, ids)
                self._ids = np.concatenate([self._ids, ids])
                self._prints = np.concatenate([self._prints, prints])
                self._dirty = True
            added += len(part)
            if progress is not None:
                progress(len(self._ids), len(chunks))
            if time.perf_counter() - last_save > _SAVE_EVERY_S:
                self.save()
                last_save = time.perf_counter()
        self.save()
        report = SyncReport(
            total=len(chunks),
            embedded=self.count,
            added=added,
            removed=removed,
            seconds=time.perf_counter() - started,
            done=added == len(todo),
        )
        self.last_report = report
        return report

    def start_background(self, poll_s: float = 5.0) -> None:
        """Keep the vectors up to date in a daemon thread until :meth:`stop`."""
        if self._thread is not None and self._thread.is_alive():
            self._wake.set()
            return
        self._stop.clear()
        self._stop_at = None

        def run() -> None:
            while not self._stopping():
                try:
                    report = self.sync(max_seconds=30.0)
                    self.error = None
                except Exception as exc:  # keep serving questions without (new) vectors
                    self.error = str(exc)
                    log.warning("embedding chunks failed: %s", exc)
                    report = None
                if self._stop_at is not None:
                    return
                if report is None or report.done:
                    self._wake.wait(poll_s if report is not None else 60.0)
                    self._wake.clear()

        self._thread = threading.Thread(target=run, name="repolens-vectors", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """The index changed: sync soon (the language server calls this after a re-index)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Let the builder work ``timeout`` seconds more at most, then stop it and save.

        A short-lived process (``repolens ask``) thus adds what it could embed while it ran;
        the next one goes on from there.
        """
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._stop_at = time.monotonic() + timeout
            thread.join(timeout)
        self._stop.set()
        self._wake.set()
        if thread is not None:
            # the batch in progress ends first (a few seconds at most): onnxruntime must not
            # be running when the interpreter shuts down
            thread.join(120)
        self._thread = None
        with contextlib.suppress(OSError):
            self.save()

    def _stopping(self) -> bool:
        return self._stop.is_set() or (
            self._stop_at is not None and time.monotonic() > self._stop_at
        )

    # -- searching -------------------------------------------------------------------------

    def search_vector(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        with self._lock:
            if self._vectors.ntotal == 0:
                return []
            scores, ids = self._vectors.search(vector.reshape(1, -1).astype(np.float32), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def search(self, text: str, k: int = 100) -> list[tuple[int, float]]:
        """Chunk ids most similar to ``text``, best first, with cosine similarities."""
        if self.count == 0 or not text.strip():
            return []
        return self.search_vector(self.embedder.embed([text])[0], k)

"""What context building reads: the repository through its index, and the buffer.

Everything the completion engine collects from outside itself goes through a
:class:`RepoReader`: the file at the cursor (the editor's buffer, else the file on disk, else
the indexed text), other files' lines and look-alike windows (cached per index generation),
the current file's definitions and the files related to it. The stages that turn what was
collected into a prompt (:mod:`repolens.completion.plan`) read nothing.
"""

from __future__ import annotations

import posixpath
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import UsageError
from ..indexer import ChunkHit, Definition, LanguageSpec, RepoIndex, language_for_path
from ..indexer.discovery import check_content
from ..indexer.extract import extract
from .similar import file_windows

__all__ = ["RepoReader"]

_LINES_CACHE = 256


class RepoReader:
    """Reads for one repository's index, with the line and window caches they need."""

    def __init__(self, index: RepoIndex) -> None:
        self.index = index
        self._lines: OrderedDict[tuple[str, int], list[str]] = OrderedDict()
        self._texts: OrderedDict[tuple[str, int], str] = OrderedDict()
        self._windows: OrderedDict[tuple[str, int], list[tuple[int, int, frozenset[str]]]] = (
            OrderedDict()
        )
        self._ranked: OrderedDict[tuple[str, int], list[ChunkHit]] = OrderedDict()
        self._uses: OrderedDict[tuple[str, int], dict[str, int]] = OrderedDict()
        self._lock = threading.Lock()

    def file_text(self, path: str, text: str | None) -> tuple[str, LanguageSpec]:
        """The text at the cursor: ``text`` (a buffer), else the file on disk, else the index."""
        spec = language_for_path(path)
        if spec is None:
            raise UsageError(f"{path}: not a language repolens completes (by its extension)")
        if text is not None:
            return text, spec
        indexed = self.index.text(path)
        full = self.index.root / path
        if full.is_file():
            data = full.read_bytes()
            problem = check_content(data)
            if problem == "binary file":
                raise UsageError(f"{path}: binary file")
            disk = data.decode("utf-8", "replace")
            return disk, spec
        if indexed is not None:
            return indexed, spec
        raise UsageError(f"{path}: no such file in {self.index.root}")

    def _kept(
        self, cache: OrderedDict[tuple[str, int], Any], path: str, make: Callable[[], Any]
    ) -> Any:
        """``make()`` for ``path`` at the index's current generation, kept in ``cache``."""
        key = (path, self.index.store.generation)
        with self._lock:
            hit = cache.get(key)
            if hit is not None:
                return hit
        value = make()
        with self._lock:
            cache[key] = value
            if len(cache) > _LINES_CACHE:
                cache.popitem(last=False)
        return value

    def text_of(self, path: str) -> str:
        """An indexed file's text (the overlay's, for an open buffer)."""
        text: str = self._kept(self._texts, path, lambda: self.index.text(path) or "")
        return text

    def lines_of(self, path: str) -> list[str]:
        """An indexed file's lines (the overlay's, for an open buffer)."""
        lines: list[str] = self._kept(self._lines, path, lambda: self.text_of(path).split("\n"))
        return lines

    def windows_of(self, path: str, stop: frozenset[str]) -> list[tuple[int, int, frozenset[str]]]:
        """A file's look-alike windows (line ranges and their identifiers)."""
        windows: list[tuple[int, int, frozenset[str]]] = self._kept(
            self._windows, path, lambda: file_windows(self.lines_of(path), stop, max_lines=600)
        )
        return windows

    def ranked_chunks(self, terms: tuple[str, ...], limit: int) -> list[ChunkHit]:
        """:meth:`RepoIndex.ranked_chunks`, kept per index generation: the keystrokes of one
        word ask the same question."""
        key = f"{limit}\x00" + "\x00".join(terms)
        hits: list[ChunkHit] = self._kept(
            self._ranked, key, lambda: self.index.ranked_chunks(list(terms), limit)
        )
        return hits

    def name_uses(self, names: tuple[str, ...]) -> dict[str, int]:
        """How many chunks of the repository use each of ``names`` (identifiers as written),
        kept per index generation: one class's outline asks the same question every keystroke."""
        key = "\x00".join(names)

        def count() -> dict[str, int]:
            terms = {n: n.lower().strip("_") for n in names}
            found = self.index.term_counts(list(set(terms.values())))
            return {n: found.get(t, 0) for n, t in terms.items()}

        uses: dict[str, int] = self._kept(self._uses, key, count)
        return uses

    def current_definitions(
        self, path: str, buffer: str, spec: LanguageSpec, cursor_line: int
    ) -> list[Definition]:
        """The current file's definitions: from the overlay (an open buffer), from the index
        when the buffer differs from it only around the cursor (line numbers still hold),
        else from a fresh parse."""
        overlay = self.index.overlay_facts(path)
        if overlay is not None:
            return overlay.definitions
        indexed = self.index.text(path)
        if indexed is not None and (
            indexed == buffer or differs_only_near(indexed, buffer, cursor_line)
        ):
            return self.index.file_definitions(path)
        return extract(path, buffer.encode("utf-8", "surrogatepass"), spec).definitions

    def neighbours(self, path: str, recent: Sequence[str]) -> list[str]:
        """Files related to ``path``: ``recent`` ones (most recent last), its imports and
        importers, its siblings."""
        out: list[str] = []
        seen = {path}
        for p in reversed(recent):
            if p not in seen:
                out.append(p)
                seen.add(p)
        for imp in self.index.imports(path):
            t = imp.target
            if t and not t.endswith("/") and t not in seen:
                out.append(t)
                seen.add(t)
        for p in self.index.importers(path)[:8]:
            if p not in seen:
                out.append(p)
                seen.add(p)
        directory = posixpath.dirname(path)
        for p in self.index.repo_files().files_in(directory)[:12]:
            if p not in seen and language_for_path(p) is not None:
                out.append(p)
                seen.add(p)
        return out[:16]


def differs_only_near(a: str, b: str, line: int, radius: int = 2) -> bool:
    """Same number of lines, and every difference within ``radius`` lines of ``line``."""
    la, lb = a.split("\n"), b.split("\n")
    if len(la) != len(lb):
        return False
    lo, hi = line - radius, line + radius
    return all(x == y or lo <= i <= hi for i, (x, y) in enumerate(zip(la, lb, strict=True)))

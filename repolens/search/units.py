"""Units: the whole pieces of a repository that Q&A context is packed from.

A unit is a function or method (a long one whole, not its 40-line windows), a class header or
a small class, a section of a text file, a group of top-level lines, or a whole small file.
Every retrieval channel (lexical, symbol, semantic, graph) maps its hits to units through
:class:`UnitMap`, so the same code found twice is one candidate with two reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..indexer import ChunkHit, Definition, Reference, RepoIndex

__all__ = [
    "FUNCTION_KINDS",
    "SMALL_FILE_CHARS",
    "SMALL_FILE_LINES",
    "Unit",
    "UnitMap",
    "definitions_used",
]

FUNCTION_KINDS = frozenset({"function", "method"})
#: a file this small is one unit (imports and neighbours come along for a few tokens more)
SMALL_FILE_LINES = 60
SMALL_FILE_CHARS = 2000
#: a function longer than this stays split in its chunks
_MAX_FUNCTION_LINES = 400


@dataclass(frozen=True, slots=True)
class Unit:
    path: str
    start_line: int  # 1-based, inclusive
    end_line: int
    kind: str  # function, method, class, ..., text, code, file
    symbol: str  # qualified name, "" for files, text sections and loose code

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.path, self.start_line, self.end_line)

    @property
    def lines(self) -> int:
        return self.end_line - self.start_line + 1

    @property
    def name(self) -> str:
        """The unqualified name of the unit's symbol ("" when it has none)."""
        return self.symbol.rsplit(".", 1)[-1] if self.symbol else ""


class UnitMap:
    """Chunk -> unit and (path, line) -> unit, cached until the index changes."""

    def __init__(self, index: RepoIndex) -> None:
        self.index = index
        self._version: tuple[int, int, int] | None = None
        self._by_path: dict[str, list[tuple[ChunkHit, Unit]]] = {}
        self._by_chunk: dict[int, Unit] = {}
        self._chunks: dict[str, list[ChunkHit]] = {}

    def refresh(self, chunks_by_path: dict[str, list[ChunkHit]] | None = None) -> None:
        """Forget what changed in the index; ``chunks_by_path`` (rows already in memory)
        saves a query per file. Called once per question, not per lookup."""
        version = self.index.version()
        if version != self._version:
            self._version = version
            self._by_path = {}
            self._by_chunk = {}
            self._chunks = {}
        if chunks_by_path is not None:
            self._chunks = chunks_by_path

    def units_of(self, path: str) -> list[tuple[ChunkHit, Unit]]:
        """Every chunk of a file with its unit, in line order."""
        if self._version is None:
            self.refresh()
        cached = self._by_path.get(path)
        if cached is None:
            chunks = self._chunks.get(path) if self.index.overlay_facts(path) is None else None
            if chunks is None:
                chunks = self.index.chunks_of(path)
            cached = self._build(path, sorted(chunks, key=lambda c: (c.start_line, c.end_line)))
            self._by_path[path] = cached
            for c, unit in cached:
                if c.id:
                    self._by_chunk[c.id] = unit
        return cached

    def _build(self, path: str, chunks: list[ChunkHit]) -> list[tuple[ChunkHit, Unit]]:
        """Units from a file's chunks alone (no parse): a small file is one unit; a function
        the indexer split (its windows, nested functions and loose lines, all named ``f`` or
        ``f.*`` and adjacent) is joined again; every other chunk is its own unit."""
        if not chunks:
            return []
        last = max(c.end_line for c in chunks)
        if last <= SMALL_FILE_LINES and sum(c.chars for c in chunks) <= SMALL_FILE_CHARS:
            whole = Unit(path, 1, last, "file", "")
            return [(c, whole) for c in chunks]
        out: list[tuple[ChunkHit, Unit]] = []
        i = 0
        while i < len(chunks):
            head = chunks[i]
            j = i + 1
            if head.kind in FUNCTION_KINDS and head.symbol:
                prefix = head.symbol + "."
                while j < len(chunks) and (
                    chunks[j].symbol == head.symbol or chunks[j].symbol.startswith(prefix)
                ):
                    j += 1
                if chunks[j - 1].end_line - head.start_line >= _MAX_FUNCTION_LINES:
                    j = i + 1
            group = chunks[i:j]
            if len(group) == 1:
                unit = Unit(path, head.start_line, head.end_line, head.kind, head.symbol)
            else:
                unit = Unit(path, head.start_line, group[-1].end_line, head.kind, head.symbol)
            out.extend((c, unit) for c in group)
            i = j
        return out

    def unit_for_chunk(self, chunk: ChunkHit) -> Unit:
        unit = self._by_chunk.get(chunk.id)
        if unit is not None:
            return unit
        for c, unit in self.units_of(chunk.path):
            if c.start_line == chunk.start_line and c.end_line == chunk.end_line:
                return unit
        return Unit(chunk.path, chunk.start_line, chunk.end_line, chunk.kind, chunk.symbol)

    def unit_at(self, path: str, line: int) -> Unit | None:
        """The unit holding ``line`` (the nearest one below it, for a blank line)."""
        best: Unit | None = None
        for c, unit in self.units_of(path):
            if c.start_line <= line <= c.end_line:
                return unit
            if c.start_line > line:
                if best is None and c.start_line - line <= 3:
                    best = unit
                break
        return best

    def unit_for_definition(self, d: Definition) -> Unit | None:
        return self.unit_at(d.path, d.name_line or d.start_line)


def definitions_used(
    index: RepoIndex, path: str, references: Iterable[Reference], start_line: int, end_line: int
) -> list[Definition]:
    """Definitions (outside lines ``start_line``..``end_line`` of ``path``) of the names those
    lines use, in order of first use; names that resolve nowhere, outside the repository or
    to more than three places are left out, and so are modules."""
    uses = []
    for ref in references:
        inside = [ln for ln in ref.lines if start_line <= ln <= end_line]
        if inside:
            uses.append((min(inside), ref.name))
    uses.sort()
    out: list[Definition] = []
    seen: set[tuple[str, int]] = set()
    for _, name in uses:
        resolution = index.resolve(path, name)
        if resolution.via in ("none", "external") or len(resolution.definitions) > 3:
            continue
        for d in resolution.definitions:
            if d.kind == "module":
                continue
            if d.path == path and start_line <= d.start_line <= end_line:
                continue
            key = (d.path, d.start_line)
            if key not in seen:
                seen.add(key)
                out.append(d)
    return out

"""Hybrid retrieval for repository questions: lexical, documentation, symbol and semantic
hits, weighted by where they live, fused, then expanded along the symbol graph.

- **lexical**: BM25 over the FTS5 index of identifier-split chunk terms (``getUserById`` is
  found by "user by id"). FTS5's own ``bm25()`` costs ~15 µs per matching row, which for a
  question full of common words on a large repository is a few hundred milliseconds, so the
  doclist of each query term is read from FTS5 and scored here with numpy (terms are stored
  once per chunk, so term frequency is 1 and BM25 reduces to idf times length norm).
- **doc**: BM25 over the docstrings and doc comments of definitions alone, where a question
  that describes what code does meets the words its authors used to describe it.
- **symbol**: identifiers written in the question (``get_bind``, ``Session.execute``) found by
  exact name, then by rapidfuzz; plain words matched against the parts of definition names
  (a question about "stale connections" finds ``_invalidate_stale_connections``).
- **semantic**: nearest chunks in the faiss index, when an embedder is configured.
- **prior**: tests, docs and examples count less, unless the question asks about them.
- **fusion**: weighted reciprocal rank fusion over units (:mod:`.units`).
- **graph**: for the best units, the definitions they use (resolved through imports) and the
  units that call them (references whose file resolves the name to that definition).
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..indexer import ChunkHit, Definition, RepoIndex
from ..indexer.terms import identifier_parts
from .units import FUNCTION_KINDS, Unit, UnitMap, definitions_used
from .vectors import VectorIndex

__all__ = [
    "Candidate",
    "FusionWeights",
    "LexicalSearch",
    "Retriever",
    "SymbolSearch",
    "query_terms",
    "rrf",
]

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "and",
        "or",
        "not",
        "do",
        "does",
        "did",
        "done",
        "how",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "where",
        "when",
        "why",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "into",
        "than",
        "then",
        "there",
        "here",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "i",
        "we",
        "you",
        "he",
        "she",
        "they",
        "them",
        "their",
        "our",
        "your",
        "my",
        "me",
        "us",
        "if",
        "so",
        "such",
        "very",
        "just",
        "also",
        "about",
        "again",
        "further",
        "once",
        "both",
        "nor",
        "e",
        "g",
        "eg",
        "ie",
        "etc",
        "s",
        "t",
    ]
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:(?:\.|::)[A-Za-z_][A-Za-z0-9_]*)*")
_BACKTICK = re.compile(r"`([^`]+)`")
_WORDS = re.compile(r"[a-z0-9]+")
CHANNELS = ("lexical", "doc", "symbol", "semantic")
_K1 = 1.2
_B = 0.75
_PATH_WEIGHT = 0.3
_MAX_DEFS_PER_NAME = 24


def _variants(word: str) -> list[str]:
    """The word and a naive singular/stem, so "connections" also finds "connection"."""
    out = [word]
    if len(word) > 4 and word.endswith("ies"):
        out.append(word[:-3] + "y")
    elif len(word) > 4 and word.endswith(("ses", "xes", "ches", "shes")):
        out.append(word[:-2])
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        out.append(word[:-1])
    if len(word) > 5 and word.endswith("ing"):
        out.append(word[:-3])
    elif len(word) > 4 and word.endswith("ed"):
        out.append(word[:-2])
        out.append(word[:-1])
    return out


def _looks_like_code(token: str, question: str, start: int, end: int) -> bool:
    if "." in token or "::" in token or "_" in token.strip("_"):
        return True
    if any(c.isupper() for c in token[1:]) and any(c.islower() for c in token):
        return True  # camelCase / PascalCase inside a word
    return question[end : end + 1] == "("


def code_identifiers(question: str) -> list[str]:
    """Identifiers the question writes as code: backticked, dotted, snake/camel case, calls."""
    found: dict[str, None] = {}
    for m in _BACKTICK.finditer(question):
        for ident in _IDENT.findall(m.group(1)):
            found.setdefault(ident, None)
    for m in _IDENT.finditer(question):
        if _looks_like_code(m.group(0), question, m.start(), m.end()):
            found.setdefault(m.group(0), None)
    return list(found)


def query_terms(question: str) -> list[list[str]]:
    """Groups of FTS terms for a question: one group per distinct term, with its variants."""
    groups: dict[str, list[str]] = {}
    for ident in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", question):
        if len(ident) > 80:
            continue
        whole = ident.lower().strip("_")
        parts = identifier_parts(ident)
        terms = [whole] if len(parts) <= 1 else [whole, *parts]
        for term in terms:
            if len(term) < 2 or term in STOP_WORDS or term in groups:
                continue
            groups[term] = _variants(term) if term.isalpha() else [term]
    return list(groups.values())


@dataclass
class _LexicalState:
    version: tuple[int, int]
    chunks: dict[int, ChunkHit]
    by_path: dict[str, list[ChunkHit]]
    norm: np.ndarray  # BM25 length norm by chunk id (0 for ids that are not chunks)
    n: int
    priors: dict[tuple[float, float, float], np.ndarray] = field(default_factory=dict)


class LexicalSearch:
    """BM25 over FTS5 doclists, scored with numpy (see the module docstring)."""

    def __init__(self, index: RepoIndex) -> None:
        self.index = index
        self._state: _LexicalState | None = None

    def state(self) -> _LexicalState:
        version = self.index.version()[:2]
        if self._state is None or self._state.version != version:
            chunks = self.index.all_chunks()
            max_id = max((c.id for c in chunks), default=0)
            lengths = np.zeros(max_id + 1, dtype=np.float32)
            by_path: dict[str, list[ChunkHit]] = defaultdict(list)
            for c in chunks:
                lengths[c.id] = max(c.chars, 1)
                by_path[c.path].append(c)
            present = lengths > 0
            avg = float(lengths[present].mean()) if present.any() else 1.0
            norm = np.zeros_like(lengths)
            norm[present] = (_K1 + 1) / (1 + _K1 * (1 - _B + _B * lengths[present] / avg))
            self._state = _LexicalState(
                version, {c.id: c for c in chunks}, dict(by_path), norm, len(chunks)
            )
        return self._state

    def search(
        self, question: str, limit: int | None = None, prior: PathPrior | None = None
    ) -> list[tuple[ChunkHit, float]]:
        """Chunks by BM25 score (times the ``prior``), best first; ``limit`` of them."""
        st = self.state()
        if st.n == 0:
            return []
        scores = np.zeros(st.norm.shape[0], dtype=np.float32)
        for group in query_terms(question):
            ids = self._ids(group, "terms")
            if ids.size:
                df = ids.size
                scores[ids] += math.log(1 + (st.n - df + 0.5) / (df + 0.5))
            pids = self._ids(group, "path")
            if pids.size:
                df = pids.size
                scores[pids] += _PATH_WEIGHT * math.log(1 + (st.n - df + 0.5) / (df + 0.5))
        scores *= st.norm
        if prior is not None:
            scores *= prior.weights(st)
        hit = np.nonzero(scores > 0)[0]
        if hit.size == 0:
            return []
        order = hit[np.argsort(-scores[hit], kind="stable")]
        if limit is not None:
            order = order[:limit]
        return [(st.chunks[int(i)], float(scores[i])) for i in order if int(i) in st.chunks]

    def _ids(self, terms: Sequence[str], column: str) -> np.ndarray:
        found: set[int] = set()
        for term in terms:
            found.update(self.index.term_chunk_ids(term, column))
        return np.fromiter(found, dtype=np.int64, count=len(found))


_TEST_DIRS = frozenset({"test", "tests", "testing", "__tests__", "spec", "specs"})
_DOC_DIRS = frozenset({"doc", "docs", "documentation"})
_EXAMPLE_DIRS = frozenset({"example", "examples", "samples", "demo", "benchmarks"})


def path_class(path: str, kind: str = "") -> str:
    """code, test, doc (prose and docs folders) or example."""
    parts = path.lower().split("/")
    name = parts[-1]
    dirs = set(parts[:-1])
    if (
        dirs & _TEST_DIRS
        or name.startswith("test_")
        or name.endswith(("_test.py", "_test.go", "_spec.rb"))
        or ".test." in name
        or ".spec." in name
        or (name.endswith("test.java") and "test" in name)
    ):
        return "test"
    if kind == "text" or dirs & _DOC_DIRS:
        return "doc"
    if dirs & _EXAMPLE_DIRS:
        return "example"
    return "code"


@dataclass(frozen=True)
class PathPrior:
    """How much a hit counts by where it lives: questions are mostly about the code itself,
    so tests, docs and examples count less unless the question asks about them."""

    test: float = 0.6
    doc: float = 0.7
    example: float = 0.8

    @classmethod
    def for_question(cls, question: str) -> PathPrior:
        words = {w.lower() for w in re.findall(r"[A-Za-z]+", question)}
        return cls(
            test=1.0
            if words & {"test", "tests", "testing", "tested", "fixture", "fixtures"}
            else cls.test,
            doc=1.0
            if words & {"doc", "docs", "documentation", "documented", "readme", "guide", "tutorial"}
            else cls.doc,
            example=1.0 if words & {"example", "examples", "sample", "demo"} else cls.example,
        )

    def __call__(self, path: str, kind: str = "") -> float:
        return {"test": self.test, "doc": self.doc, "example": self.example}.get(
            path_class(path, kind), 1.0
        )

    def weights(self, state: _LexicalState) -> np.ndarray:
        """The prior of every chunk id (cached per index state)."""
        key = (self.test, self.doc, self.example)
        cached = state.priors.get(key)
        if cached is None:
            cached = np.ones(state.norm.shape[0], dtype=np.float32)
            for path, chunks in state.by_path.items():
                code = self(path)
                text = self(path, "text")
                for c in chunks:
                    cached[c.id] = text if c.kind == "text" else code
            state.priors[key] = cached
        return cached


@dataclass
class _SymbolState:
    version: tuple[int, int, int]
    names: list[str]
    blob: str  # every name, lower-cased, one per line: substring search in C
    starts: np.ndarray  # offset of each name in the blob


class SymbolSearch:
    """Definitions named in a question, exactly, fuzzily (rapidfuzz) or by name parts."""

    def __init__(self, index: RepoIndex) -> None:
        self.index = index
        self._state: _SymbolState | None = None

    def _names(self) -> _SymbolState:
        version = self.index.version()
        if self._state is None or self._state.version != version:
            names = self.index.symbol_names()
            lowered = [n.lower() for n in names]
            starts = np.zeros(len(names), dtype=np.int64)
            if names:
                np.cumsum([len(n) + 1 for n in lowered[:-1]], out=starts[1:])
            self._state = _SymbolState(version, names, "\n".join(lowered), starts)
        return self._state

    def search(self, question: str, limit: int = 40) -> list[tuple[Definition, float]]:
        scored: dict[tuple[str, int, str], tuple[Definition, float]] = {}

        def add(defs: list[Definition], score: float) -> None:
            if len(defs) > _MAX_DEFS_PER_NAME:
                return
            score /= 1 + math.log2(len(defs)) if defs else 1
            for d in defs:
                key = (d.path, d.start_line, d.name)
                if key not in scored or scored[key][1] < score:
                    scored[key] = (d, score)

        for ident in code_identifiers(question):
            parts = [p for p in re.split(r"\.|::", ident) if p]
            name = parts[-1]
            defs = self.index.definitions(name)
            if len(parts) > 1 and defs:
                scope = parts[-2]
                scoped = [d for d in defs if d.scope.rsplit(".", 1)[-1] == scope]
                defs = scoped or defs
            if defs:
                add(defs, 4.0)
                continue
            for d, s in self.index.fuzzy_definitions(name, limit=6):
                if s >= 85:
                    add([d], 2.0 * s / 100)
        words: set[str] = set()
        for group in query_terms(question):
            words.update(group)
        if words:
            self._by_parts(words, add)
        ranked = sorted(scored.values(), key=lambda pair: -pair[1])
        return ranked[:limit]

    def _by_parts(self, words: set[str], add: Callable[[list[Definition], float], None]) -> None:
        """Names most of whose parts are words of the question (at least two parts)."""
        st = self._names()
        if not st.names:
            return
        holders: dict[str, set[int]] = {}  # word -> names holding it (as a substring)
        seen: dict[int, int] = defaultdict(int)
        for w in words:
            if len(w) < 3:
                continue
            found = {
                int(i)
                for i in np.searchsorted(
                    st.starts, [m.start() for m in re.finditer(re.escape(w), st.blob)], "right"
                )
                - 1
            }
            holders[w] = found
            for i in found:
                seen[i] += 1
        n_names = len(st.names)
        ranked: list[tuple[float, str]] = []
        for i, hits in seen.items():
            if hits < 2:
                continue
            name = st.names[i]
            parts = tuple(dict.fromkeys(identifier_parts(name)))
            matched = [p for p in parts if p in words]
            if len(matched) < 2 or len(matched) / len(parts) < 0.5:
                continue
            weight = sum(
                math.log(n_names / max(len(holders.get(p, ())), 1)) for p in matched
            ) / math.log(max(n_names, 2))
            ranked.append((weight * len(matched) / len(parts), name))
        ranked.sort(reverse=True)
        for score, name in ranked[:30]:
            add(self.index.definitions(name), score)


@dataclass
class _DocState:
    version: tuple[int, int, int]
    defs: list[Definition]
    db: sqlite3.Connection  # in memory: FTS5 over name parts and documentation
    norm: np.ndarray


class DocSearch:
    """BM25 over the documentation of definitions (docstrings, doc comments) and their names.

    A question that describes what code does ("return the index of the parenthesis that
    matches ...") is worded like the docstring of the code that does it; in a whole chunk
    those words are diluted by the body, here they are not. The documentation is indexed
    with FTS5 in an in-memory database (built in C, a fraction of a second for thousands of
    docstrings) and scored like the lexical channel.
    """

    def __init__(self, index: RepoIndex) -> None:
        self.index = index
        self._state: _DocState | None = None
        self._lock = threading.Lock()

    def state(self) -> _DocState:
        version = self.index.version()
        if self._state is None or self._state.version != version:
            defs = self.index.documented_definitions()
            db = sqlite3.connect(":memory:", check_same_thread=False)
            db.execute("CREATE VIRTUAL TABLE docs USING fts5(text, detail = none)")
            texts = [f"{d.name} {' '.join(identifier_parts(d.name))} {d.doc}" for d in defs]
            db.executemany("INSERT INTO docs(rowid, text) VALUES (?, ?)", enumerate(texts))
            lengths = np.array(
                [max(len(set(_WORDS.findall(t.lower()))), 1) for t in texts], dtype=np.float32
            )
            avg = float(lengths.mean()) if len(defs) else 1.0
            norm = (_K1 + 1) / (1 + _K1 * (1 - _B + _B * lengths / avg))
            if self._state is not None:
                self._state.db.close()
            self._state = _DocState(version, defs, db, norm.astype(np.float32))
        return self._state

    def search(self, question: str, limit: int = 100) -> list[tuple[Definition, float]]:
        with self._lock:
            st = self.state()
            n = len(st.defs)
            if n == 0:
                return []
            scores = np.zeros(n, dtype=np.float32)
            for group in query_terms(question):
                terms = [t for t in group if t.isalnum()]
                if not terms:
                    continue
                match = " OR ".join(f'"{t}"' for t in terms)
                rows = st.db.execute("SELECT rowid FROM docs WHERE docs MATCH ?", (match,))
                ids = np.fromiter((r[0] for r in rows), dtype=np.int64)
                if ids.size:
                    scores[ids] += math.log(1 + (n - ids.size + 0.5) / (ids.size + 0.5))
        scores *= st.norm
        hit = np.nonzero(scores > 0)[0]
        order = hit[np.argsort(-scores[hit], kind="stable")][:limit]
        return [(st.defs[int(i)], float(scores[i])) for i in order]


@dataclass
class Candidate:
    """A unit with its fused score, why it was chosen, and which units it was reached from."""

    unit: Unit
    score: float
    source: str  # search | symbol | semantic | definition | caller
    ranks: dict[str, int] = field(default_factory=dict)
    via: Unit | None = None


@dataclass(frozen=True)
class FusionWeights:
    lexical: float = 1.0
    doc: float = 1.0
    symbol: float = 0.8
    semantic: float = 1.0
    k: float = 8.0  # reciprocal rank constant: small, so the first ranks matter most
    callee: float = 0.5  # score of a definition a unit uses, relative to the unit
    caller: float = 0.35


def rrf(
    lists: dict[str, list[Unit]], weights: dict[str, float], k: float
) -> dict[tuple[str, int, int], tuple[Unit, float, dict[str, int]]]:
    """Weighted reciprocal rank fusion of ranked unit lists (duplicates keep their best rank)."""
    fused: dict[tuple[str, int, int], tuple[Unit, float, dict[str, int]]] = {}
    for name, units in lists.items():
        w = weights.get(name, 1.0)
        seen: set[tuple[str, int, int]] = set()
        rank = 0
        for unit in units:
            if unit.key in seen:
                continue
            seen.add(unit.key)
            rank += 1
            unit0, score, ranks = fused.get(unit.key, (unit, 0.0, {}))
            ranks[name] = rank
            fused[unit.key] = (unit0, score + w / (k + rank), ranks)
    return fused


class Retriever:
    """Ranked candidate units for a question (see the module docstring)."""

    def __init__(
        self,
        index: RepoIndex,
        vectors: VectorIndex | None = None,
        weights: FusionWeights | None = None,
    ) -> None:
        self.index = index
        self.units = UnitMap(index)
        self.lexical = LexicalSearch(index)
        self.symbols = SymbolSearch(index)
        self.docs = DocSearch(index)
        self.vectors = vectors
        self.weights = weights or FusionWeights()
        self.channels: tuple[str, ...] = CHANNELS

    def retrieve(
        self,
        question: str,
        *,
        depth: int = 8,
        limit: int = 400,
        timings: dict[str, float] | None = None,
        channels: Sequence[str] | None = None,
    ) -> list[Candidate]:
        """Candidates best first; the ``depth`` best are expanded along the symbol graph."""
        channels = self.channels if channels is None else channels
        times = timings if timings is not None else {}
        t0 = time.perf_counter()
        lists: dict[str, list[Unit]] = {}
        self.units.refresh(self.lexical.state().by_path)
        prior = PathPrior.for_question(question)
        if "lexical" in channels:
            hits = self.lexical.search(question, prior=prior, limit=limit)
            lists["lexical"] = [self.units.unit_for_chunk(c) for c, _ in hits]
        t1 = time.perf_counter()
        times["lexical"] = (t1 - t0) * 1000
        if "symbol" in channels:
            lists["symbol"] = self._units_by_prior(self.symbols.search(question), prior)
        t_doc = time.perf_counter()
        times["symbol"] = (t_doc - t1) * 1000
        if "doc" in channels:
            lists["doc"] = self._units_by_prior(self.docs.search(question), prior)
        t2 = time.perf_counter()
        times["doc"] = (t2 - t_doc) * 1000
        if "semantic" in channels and self.vectors is not None and self.vectors.count:
            chunks = self.lexical.state().chunks
            near = [
                (chunks[i], s * prior(chunks[i].path, chunks[i].kind))
                for i, s in self.vectors.search(question, k=200)
                if i in chunks
            ]
            near.sort(key=lambda pair: -pair[1])
            lists["semantic"] = [self.units.unit_for_chunk(c) for c, _ in near]
        t3 = time.perf_counter()
        times["semantic"] = (t3 - t2) * 1000
        w = self.weights
        fused = rrf(
            lists,
            {"lexical": w.lexical, "doc": w.doc, "symbol": w.symbol, "semantic": w.semantic},
            w.k,
        )
        top = max((s for _, s, _ in fused.values()), default=1.0) or 1.0
        candidates = {
            key: Candidate(unit, score / top, _source(ranks), ranks)
            for key, (unit, score, ranks) in fused.items()
        }
        t4 = time.perf_counter()
        times["fuse"] = (t4 - t3) * 1000
        ranked = sorted(candidates.values(), key=lambda c: -c.score)
        for cand in ranked[:depth]:
            self._expand(cand, candidates)
        times["expand"] = (time.perf_counter() - t4) * 1000
        return sorted(candidates.values(), key=lambda c: (-c.score, c.unit.key))

    # -- graph -----------------------------------------------------------------------------

    def _offer(
        self,
        candidates: dict[tuple[str, int, int], Candidate],
        unit: Unit,
        score: float,
        source: str,
        via: Unit,
    ) -> None:
        if unit.key == via.key:
            return
        current = candidates.get(unit.key)
        if current is None:
            candidates[unit.key] = Candidate(unit, score, source, {}, via)
        elif current.score < score:
            current.score = score

    def _expand(self, cand: Candidate, candidates: dict[tuple[str, int, int], Candidate]) -> None:
        unit = cand.unit
        for d in self.uses(unit)[:8]:
            target = self.units.unit_for_definition(d)
            if target is not None:
                self._offer(
                    candidates, target, cand.score * self.weights.callee, "definition", unit
                )
        for caller in self.callers(unit)[:4]:
            self._offer(candidates, caller, cand.score * self.weights.caller, "caller", unit)

    def _units_by_prior(
        self, found: list[tuple[Definition, float]], prior: PathPrior
    ) -> list[Unit]:
        """The units of searched definitions, by search score times the path prior."""
        scored = [(d, score * prior(d.path, d.kind)) for d, score in found]
        scored.sort(key=lambda pair: -pair[1])
        return [u for d, _ in scored if (u := self.units.unit_for_definition(d)) is not None]

    def uses(self, unit: Unit) -> list[Definition]:
        """Definitions (outside the unit) of the names the unit uses, in order of first use."""
        return definitions_used(
            self.index,
            unit.path,
            self.index.file_references(unit.path),
            unit.start_line,
            unit.end_line,
        )

    def callers(self, unit: Unit) -> list[Unit]:
        """Units elsewhere that use the unit's symbol and resolve it to this unit."""
        name = unit.name
        if not name or unit.kind not in FUNCTION_KINDS | {"class", "struct", "interface"}:
            return []
        refs = self.index.references(name)
        if not refs or len(refs) > 25:
            return []
        n_defs = len(self.index.definitions(name))
        out: list[Unit] = []
        seen: set[tuple[str, int, int]] = {unit.key}
        for path, _kind, lines in refs:
            if unit.kind != "method" or n_defs > 2:
                resolved = self.index.resolve(path, name).definitions
                if not any(
                    d.path == unit.path and unit.start_line <= d.name_line <= unit.end_line
                    for d in resolved
                ):
                    continue
            for line in lines[:3]:
                target = self.units.unit_at(path, line)
                if target is not None and target.key not in seen:
                    seen.add(target.key)
                    out.append(target)
        return out


def _source(ranks: dict[str, int]) -> str:
    best = min(ranks, key=lambda name: ranks[name])
    return {"lexical": "search", "doc": "doc", "symbol": "symbol", "semantic": "semantic"}.get(
        best, best
    )

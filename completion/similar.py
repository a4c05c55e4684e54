"""Look-alike code: sliding windows over nearby files ranked by Jaccard similarity of
identifiers with the lines just before the cursor (the RepoCoder/Continue approach, used here
only as filler after resolved definitions)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Window", "file_windows", "identifiers", "similar_windows", "tokens_of"]

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def identifiers(text: str) -> list[str]:
    """Identifier-like words of ``text``, in order."""
    return _WORD.findall(text)


def tokens_of(text: str, stop: frozenset[str] = frozenset()) -> set[str]:
    return {w for w in _WORD.findall(text) if w not in stop and len(w) > 1}


@dataclass(frozen=True, slots=True)
class Window:
    path: str
    start_line: int  # 1-based
    end_line: int
    score: float


def file_windows(
    lines: Sequence[str],
    stop: frozenset[str] = frozenset(),
    window: int = 16,
    step: int = 8,
    max_lines: int = 2000,
) -> list[tuple[int, int, frozenset[str]]]:
    """(start, end, tokens) for each window of a file's first ``max_lines`` lines
    (0-based start, exclusive end)."""
    out = []
    n = min(len(lines), max_lines)
    for start in range(0, max(n - window, 0) + 1, step):
        end = min(start + window, n)
        toks = set(_WORD.findall("\n".join(lines[start:end])))
        toks -= stop
        if toks:
            out.append((start, end, frozenset(toks)))
    return out


def similar_windows(
    query: str,
    files: Iterable[tuple[str, Sequence[tuple[int, int, frozenset[str]]]]],
    *,
    stop: frozenset[str] = frozenset(),
    top: int = 4,
    exclude: dict[str, tuple[int, int]] | None = None,
    min_score: float = 0.12,
) -> list[Window]:
    """The ``top`` windows most similar to ``query`` (the best one per file).

    ``files`` holds each file's precomputed :func:`file_windows`.
    """
    q = tokens_of(query, stop)
    if not q:
        return []
    hits: list[Window] = []
    for path, windows in files:
        skip = (exclude or {}).get(path)
        best: Window | None = None
        for start, end, toks in windows:
            if skip and not (end < skip[0] or start + 1 > skip[1]):
                continue
            inter = len(q & toks)
            if not inter:
                continue
            score = inter / (len(q) + len(toks) - inter)
            if score >= min_score and (best is None or score > best.score):
                best = Window(path, start + 1, end, score)
        if best is not None:
            hits.append(best)
    hits.sort(key=lambda w: -w.score)
    return hits[:top]

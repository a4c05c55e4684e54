"""How close a completion is to the hidden line, and the figures over many tasks.

- exact: the first line of the completion equals the hidden text (whitespace at the ends aside);
- first identifier: both begin with the same identifier (the name the model had to know);
- edit similarity: 1 - normalized Levenshtein distance of the two lines (rapidfuzz).

Means come with their standard error (``sqrt(p(1-p)/n)`` for rates), so that two modes whose
difference is within noise are not read as different. Two modes ran on the same tasks, so their
difference has a *paired* standard error (of the per-task differences): much smaller than
either mode's own when both get the same tasks right, and the one to read a target like
"repolens >= bm25 + 0.05" against.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from .tasks import first_identifier

__all__ = ["Difference", "Score", "Summary", "difference", "score", "summarize"]


@dataclass(frozen=True, slots=True)
class Score:
    exact: bool
    first_identifier: bool
    edit_similarity: float


def score(predicted: str, expected: str) -> Score:
    line = predicted.split("\n", 1)[0].strip()
    want = expected.strip()
    ident = first_identifier(want)
    return Score(
        exact=line == want,
        first_identifier=bool(ident) and first_identifier(line) == ident,
        edit_similarity=Levenshtein.normalized_similarity(line, want),
    )


def _mean_se(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, statistics.stdev(values) / math.sqrt(len(values))


def _quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True, slots=True)
class Summary:
    """The figures of one mode over a group of tasks."""

    n: int
    exact: float
    exact_se: float
    first_identifier: float
    first_identifier_se: float
    edit_similarity: float
    edit_similarity_se: float
    latency_p50_ms: float
    latency_p95_ms: float
    prompt_tokens: float  # mean
    prefix_reuse: float  # mean share of the prompt equal to the start of the one before it

    def as_json(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "exact": round(self.exact, 4),
            "exact_se": round(self.exact_se, 4),
            "first_identifier": round(self.first_identifier, 4),
            "first_identifier_se": round(self.first_identifier_se, 4),
            "edit_similarity": round(self.edit_similarity, 4),
            "edit_similarity_se": round(self.edit_similarity_se, 4),
            "latency_p50_ms": round(self.latency_p50_ms, 1),
            "latency_p95_ms": round(self.latency_p95_ms, 1),
            "prompt_tokens": round(self.prompt_tokens, 1),
            "prefix_reuse": round(self.prefix_reuse, 3),
        }


def summarize(
    scores: Sequence[Score],
    latencies_ms: Sequence[float],
    prompt_tokens: Sequence[int],
    prefix_reuse: Sequence[float],
) -> Summary:
    exact = _mean_se([float(s.exact) for s in scores])
    ident = _mean_se([float(s.first_identifier) for s in scores])
    edit = _mean_se([s.edit_similarity for s in scores])
    return Summary(
        n=len(scores),
        exact=exact[0],
        exact_se=exact[1],
        first_identifier=ident[0],
        first_identifier_se=ident[1],
        edit_similarity=edit[0],
        edit_similarity_se=edit[1],
        latency_p50_ms=_quantile(latencies_ms, 0.5),
        latency_p95_ms=_quantile(latencies_ms, 0.95),
        prompt_tokens=statistics.fmean(prompt_tokens) if prompt_tokens else 0.0,
        prefix_reuse=statistics.fmean(prefix_reuse) if prefix_reuse else 0.0,
    )


@dataclass(frozen=True, slots=True)
class Difference:
    """One mode minus another over the same tasks, with the paired standard errors."""

    n: int
    exact: float
    exact_se: float
    first_identifier: float
    first_identifier_se: float

    def as_json(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "exact": round(self.exact, 4),
            "exact_se": round(self.exact_se, 4),
            "first_identifier": round(self.first_identifier, 4),
            "first_identifier_se": round(self.first_identifier_se, 4),
        }


def difference(ours: Sequence[Score], theirs: Sequence[Score]) -> Difference:
    """``ours - theirs``, task by task (the two sequences are the same tasks, in order)."""
    if len(ours) != len(theirs):
        raise ValueError(f"paired scores differ in length: {len(ours)} and {len(theirs)}")
    pairs = list(zip(ours, theirs, strict=True))
    exact = _mean_se([float(a.exact) - float(b.exact) for a, b in pairs])
    ident = _mean_se([float(a.first_identifier) - float(b.first_identifier) for a, b in pairs])
    return Difference(len(ours), exact[0], exact[1], ident[0], ident[1])

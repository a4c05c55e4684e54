"""Okapi BM25 over token lists: the lexical baseline `repolens eval` and the retrieval benchmarks
compare repolens with."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Collection


class BM25:
    def __init__(self, docs: list[list[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.docs = [Counter(d) for d in docs]
        self.lens = [len(d) for d in docs]
        self.avg = sum(self.lens) / max(len(self.lens), 1)
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.k1, self.b = k1, b
        self.postings: dict[str, list[int]] = defaultdict(list)
        for i, d in enumerate(self.docs):
            for t in d:
                self.postings[t].append(i)

    def top(self, query: list[str], exclude: Collection[int] = ()) -> list[int]:
        """Document indices by score for ``query``, best first, without those in ``exclude``."""
        scores: dict[int, float] = defaultdict(float)
        for t in set(query):
            idf = self.idf.get(t)
            if idf is None:
                continue
            for i in self.postings[t]:
                if i in exclude:
                    continue
                tf = self.docs[i][t]
                norm = (
                    tf
                    * (self.k1 + 1)
                    / (tf + self.k1 * (1 - self.b + self.b * self.lens[i] / self.avg))
                )
                scores[i] += idf * norm
        return sorted(scores, key=lambda i: -scores[i])

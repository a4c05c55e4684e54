"""``repolens eval``: completion quality and speed on the user's own repository, with and
without repolens's cross-file context (see :mod:`repolens.evaluation`)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .common import find_repo_root, print_json, settings_for
from .index import update_with_progress

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "eval",
        help="measure completion quality on this repository, with and without its context",
        description="Hides spans of real lines of this repository (after name( of an imported "
        "function, after v. of an imported class, whole statements that call into another "
        "file, lines added by recent commits) and has the configured model write them back "
        "with no cross-file context, with BM25 chunks and with repolens's context. Prints "
        "exact match, first-identifier match and edit similarity per mode, with standard "
        "errors, latency and prompt sizes.",
    )
    p.add_argument("--repo", type=Path, default=None, help="repository root (default: git root)")
    p.add_argument("--n", type=int, default=50, help="tasks (default 50)")
    p.add_argument("--seed", type=int, default=0, help="which tasks (default 0)")
    p.add_argument(
        "--budget", type=int, default=1024, help="tokens of cross-file context (default 1024)"
    )
    p.add_argument(
        "--prefix-tokens",
        type=int,
        default=512,
        help="tokens of the current file before the cursor (default 512: ~2,000 characters)",
    )
    p.add_argument(
        "--suffix-tokens", type=int, default=128, help="tokens after the cursor (default 128)"
    )
    p.add_argument(
        "--modes",
        default="none,bm25,repolens",
        help="comma-separated context modes: none, bm25, repolens, definitions, hybrid",
    )
    p.add_argument(
        "--kinds", default="call,member,statement", help="task kinds (and commit with --commits)"
    )
    p.add_argument("--commits", type=int, default=0, help="also lines added by the last N commits")
    p.add_argument(
        "--unseen",
        action="store_true",
        help="only tasks whose answer is not in what the prompt shows of the current file "
        "(2,000 characters before the cursor, 500 after): only context can give it",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for the local model during the run (default: model.threads if set, "
        "else every core: the run is the only work, unlike an editor session where half the "
        "cores stay free for indexing)",
    )
    p.add_argument("--json", action="store_true", help="everything as one JSON object")
    p.set_defaults(func=run_eval)


def _list(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    items = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in items if x not in allowed]
    if bad or not items:
        raise UsageError(
            f"--{what}: {', '.join(bad) or 'none given'}; choose from {', '.join(allowed)}"
        )
    return items


def run_eval(args: argparse.Namespace) -> int:
    from ..app import Services
    from ..evaluation import KINDS, MODES, Evaluation, make_tasks
    from ..evaluation.report import as_json, table, warnings
    from ..workspace import Workspace

    modes = _list(args.modes, MODES, "modes")
    kinds = _list(args.kinds, KINDS, "kinds")
    if args.commits and "commit" not in kinds:
        kinds.append("commit")
    if args.n < 1:
        raise UsageError("--n must be at least 1")
    root = find_repo_root(args.repo or Path("."))
    overrides = {
        "completion": {"prefix_tokens": args.prefix_tokens, "suffix_tokens": args.suffix_tokens}
    }
    if args.threads is not None and args.threads < 1:
        raise UsageError("--threads must be at least 1")
    settings = settings_for(root, overrides)
    threads = args.threads or settings.model.threads or len(os.sched_getaffinity(0)) or 1
    settings = settings.model_copy(
        update={"model": settings.model.model_copy(update={"threads": threads})}
    )
    services = Services(Workspace(root, settings))
    update_with_progress(services.indexing, quiet=args.json)
    tasks = make_tasks(
        services.workspace.index,
        args.n,
        seed=args.seed,
        kinds=kinds,
        commits=args.commits,
        unseen=args.unseen,
    )
    if not tasks:
        raise UsageError(
            f"no tasks in {root}: eval needs Python files that import from other files of the "
            "repository (or --commits N)"
        )
    engine = services.engine
    evaluation = Evaluation(engine, budget=args.budget, modes=modes, seed=args.seed)
    model_name = engine.model.info.name if engine.model is not None else "?"

    def say(text: str) -> None:  # on stderr, also with --json: stdout holds only the JSON
        print(text, file=sys.stderr, flush=True)

    say(
        f"repolens eval: {len(tasks)} tasks x {len(modes)} modes with {model_name} "
        f"({engine.template.name})"
    )
    prefill, decode = evaluation.rate(tasks[0])
    running = _process_threads(engine.model)
    if running is not None and running != threads:
        # the local model process is shared: whoever started it chose its threads
        say(
            f"  the model process already running uses {running} thread"
            f"{'s' if running != 1 else ''}, not {threads}: `repolens model stop` first to "
            "run with more"
        )
        threads = running
    estimate = evaluation.estimate_s(tasks, prefill, decode)
    say(
        f"  measured {prefill:.0f} prompt tokens/s, {1 / decode:.0f} tokens/s generated: "
        f"about {estimate / 60:.1f} minutes" + (" (Ctrl-C stops)" if sys.stderr.isatty() else "")
    )
    report = _run(evaluation, tasks, quiet=args.json)
    template = engine.template
    warned = warnings(report, template.name, template.supports_suffix)
    meta = {
        "repo": str(root),
        "model": model_name,
        "template": template.name,
        "budget": args.budget,
        "prefix_tokens": args.prefix_tokens,
        "seed": args.seed,
        "threads": threads,
        "estimate_s": round(estimate, 1),
    }
    if args.json:
        print_json(as_json(report, meta, warned))
    else:
        print(table(report))
        print(
            f"\n{len(tasks)} tasks in {report.seconds / 60:.1f} minutes "
            f"(estimated {estimate / 60:.1f})"
        )
        for w in warned:
            print(f"warning: {w}", file=sys.stderr)
    services.close()
    return 0


def _run(evaluation: Any, tasks: list[Any], *, quiet: bool) -> Any:
    if not sys.stderr.isatty():  # a line on stderr every tenth of the run (logs, CI)
        import time

        started, step = time.monotonic(), max(1, len(tasks) // 10)

        def line(done: int, task: Any) -> None:
            if done % step == 0 or done == len(tasks):
                minutes = (time.monotonic() - started) / 60
                print(
                    f"repolens eval: {done}/{len(tasks)} tasks, {minutes:.1f} min", file=sys.stderr
                )

        return evaluation.run(tasks, line)
    if quiet:
        return evaluation.run(tasks)
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]eval"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[at]}", style="dim"),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        bar = progress.add_task("eval", total=len(tasks), at="")
        return evaluation.run(
            tasks, lambda done, task: progress.update(bar, completed=done, at=task.id[-60:])
        )


def _process_threads(model: Any) -> int | None:
    """Threads of the local model process serving ``model`` (None: not a local process)."""
    status = getattr(model, "process_status", None)
    if status is None:
        return None
    try:
        worker = status().get("worker") or {}
    except Exception:  # a status that cannot be read changes nothing about the run
        return None
    n = worker.get("n_threads")
    return n if isinstance(n, int) else None

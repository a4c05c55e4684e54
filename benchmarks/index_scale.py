"""Indexing at monorepo scale: a monorepo made of real repositories copied N times.

    python benchmarks/index_scale.py REPO [REPO ...] [--copies 5] [--runs 3] [--branch 999]
        [--keep DIR] [--json]

Builds, in a temporary directory (or ``--keep DIR``, reused when it exists), a git repository
holding ``--copies`` copies of the files git lists in each REPO (``copy1/flask/...``), committed
once. Then, each ``--runs`` times, through ``repolens index --json`` in a fresh process as a
user runs it (its own ``seconds``, and the process's wall time with Python start-up):

- cold index into an empty cache, with the peak RSS of the main process and of its largest
  worker (target: <= 1.2x a single-process bare parse, RSS < 400 MB);
- nothing changed (target < 100 ms);
- one file changed (target < 150 ms);
- ``--branch`` files changed at once, as a branch switch does (target < 3 s).

The bare parse (every parsed file, one process, no queries, reading excluded) is measured once
per run too. Every figure of every run is printed, not only the median: this is a shared VM.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from index_speed import bare_parse  # noqa: E402

from repolens.indexer.discovery import discover  # noqa: E402
from repolens.indexer.languages import language_for_path  # noqa: E402

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@b",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@b",
    "PATH": "/usr/bin:/bin",
}


def make_monorepo(sources: list[Path], copies: int, dest: Path) -> None:
    """``copies`` copies of each source's git-listed files under ``dest``, committed once."""
    for src in sources:
        listed = subprocess.run(
            ["git", "-C", str(src), "ls-files", "-z"], capture_output=True, check=True
        ).stdout.decode("utf-8", "surrogateescape")
        names = [n for n in listed.split("\0") if n]
        for k in range(1, copies + 1):
            base = dest / f"copy{k}" / src.name
            for rel in names:
                source = src / rel
                if source.is_file() and not source.is_symlink():
                    target = base / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, target)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "monorepo"]):
        subprocess.run(["git", "-C", str(dest), *args], check=True, env=_GIT_ENV)


def run_index(repo: Path, cache: Path) -> dict[str, Any]:
    """``repolens index --json`` in a fresh process: its summary, wall time and peak RSS."""
    env = {**os.environ, "REPOLENS_CACHE_DIR": str(cache)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(repo)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"index failed ({proc.returncode}): {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout)
    out["wall_s"] = wall
    return out


def child(repo: Path) -> int:
    """What ``repolens index --json`` does, with the peak RSS of this process and its workers."""
    from repolens.cli import main as cli_main

    real_stdout = sys.stdout
    buf = io.StringIO()
    sys.stdout = buf
    try:
        code = cli_main(["index", str(repo), "--json"])
    finally:
        sys.stdout = real_stdout
    summary = json.loads(buf.getvalue())
    summary["rss_main_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary["rss_worker_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(summary))
    return code or 0


def parsed_files(repo: Path) -> list[str]:
    found = discover(repo)
    return sorted(c.path for c in found.candidates if language_for_path(c.path) is not None)


def touch(repo: Path, paths: list[str], tag: str) -> None:
    for rel in paths:
        path = repo / rel
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"\n\ndef _bench_{tag}():\n    return {tag!r}\n")


def restore(repo: Path) -> None:
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "--", "."], check=True)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("repos", type=Path, nargs="*")
    ap.add_argument("--copies", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--branch", type=int, default=999)
    ap.add_argument("--keep", type=Path, default=None)
    ap.add_argument("--skip-cold", action="store_true", help="reuse the kept cache (no cold runs)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        return child(args.child)
    if not args.repos and args.keep is None:
        ap.error("give at least one REPO (or --keep DIR of a monorepo made before)")

    work = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="repolens-scale-"))
    repo, cache = work / "mono", work / "cache"
    try:
        if not (repo / ".git").exists():
            repo.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            make_monorepo([r.resolve() for r in args.repos], args.copies, repo)
            print(f"made {repo} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        files = parsed_files(repo)
        step = max(1, len(files) // max(1, args.branch))
        branch = files[::step][: args.branch]
        one = files[len(files) // 2]

        rows: dict[str, list[dict[str, Any]]] = {
            "bare": [],
            "cold": [],
            "noop": [],
            "one": [],
            "branch": [],
        }
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}", file=sys.stderr)
            seconds, n_files, n_bytes = bare_parse(repo)
            rows["bare"].append({"seconds": seconds, "files": n_files, "bytes": n_bytes})
            if not args.skip_cold:
                shutil.rmtree(cache, ignore_errors=True)
                rows["cold"].append(run_index(repo, cache))
            elif run == 0 and not cache.exists():
                rows["cold"].append(run_index(repo, cache))
            rows["noop"].append(run_index(repo, cache))
            touch(repo, [one], f"one{run}")
            rows["one"].append(run_index(repo, cache))
            touch(repo, branch, f"branch{run}")
            rows["branch"].append(run_index(repo, cache))
            restore(repo)
            run_index(repo, cache)  # back to the committed state
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    cold = rows["cold"][-1] if rows["cold"] else {}
    result = {
        "files": (cold or rows["noop"][-1]).get("files"),
        "parsed_files": rows["bare"][0]["files"],
        "parsed_mb": round(rows["bare"][0]["bytes"] / 1e6, 1),
        "branch_files": len(branch),
        "runs": {
            name: [
                {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                for r in runs
            ]
            for name, runs in rows.items()
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0

    def secs(name: str, key: str = "seconds") -> list[float]:
        return [r[key] for r in rows[name]]

    def fmt(values: list[float], unit: str = "s") -> str:
        if unit == "ms":
            return ", ".join(f"{v * 1000:.0f}" for v in values) + " ms"
        return ", ".join(f"{v:.2f}" for v in values) + " s"

    print(
        f"monorepo             {result['files']} files indexed, {result['parsed_files']} parsed "
        f"({result['parsed_mb']} MB)"
    )
    print(f"bare parse           {fmt(secs('bare'))}")
    if rows["cold"]:
        ratios = [c / b for c, b in zip(secs("cold"), secs("bare"), strict=False)]
        print(
            f"cold index           {fmt(secs('cold'))}   ratio "
            + ", ".join(f"{r:.2f}x" for r in ratios)
            + "   (target <= 1.2x)"
        )
        print(
            "  peak RSS           main "
            + ", ".join(f"{r['rss_main_mb']:.0f}" for r in rows["cold"])
            + " MB; largest worker "
            + ", ".join(f"{r['rss_worker_mb']:.0f}" for r in rows["cold"])
            + " MB   (target < 400 MB)"
        )
    for name, label, target in (
        ("noop", "nothing changed", "< 100 ms"),
        ("one", "one file changed", "< 150 ms"),
        ("branch", f"{len(branch)} files changed", "< 3 s"),
    ):
        print(
            f"{label:<20} {fmt(secs(name), 'ms')}   (wall with start-up "
            f"{fmt(secs(name, 'wall_s'), 'ms')})   (target {target})"
        )
    medians = {name: statistics.median(secs(name)) for name in rows if rows[name]}
    print("medians              " + ", ".join(f"{k} {v:.3f} s" for k, v in medians.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

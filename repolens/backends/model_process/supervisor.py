"""The supervisor of a model process: owns the socket, restarts the worker, keeps the record.

Started detached (its own session, cwd ``/``, stdio to the log) by the first repolens process
that needs the model; it outlives that process and is shared by every later one. It

1. binds ``<key>.sock`` (0600) and keeps the listening socket for its whole life, handing it
   to each worker it starts: connections that arrive while a worker loads or restarts wait in
   the socket's backlog instead of failing;
2. starts the worker in the first CPU mode not recorded as crashing on this llama.cpp build and
   CPU (:mod:`.probe`), and watches it through a pipe (``loaded``, ``ready``) and its exit
   status;
3. when the worker dies: records the crash (signal, mode, phase) in ``<key>.json``, steps down
   the CPU-mode ladder after a CPU fault, and starts the next worker: at once for the first
   crash or a fault during warm-up, then after 1, 2, 4, ... s; meanwhile it answers each
   connection itself with ``down`` and when to retry;
4. after a worker that cannot load, a CPU fault in every mode, or :data:`MAX_CRASHES` crashes
   within :data:`CRASH_WINDOW_S`: stays down with the reason and a fix (``failed``), answering
   connections with that, so no client starts a crash loop; ``repolens model restart`` clears it;
5. retires when the worker exits for idleness (or on SIGTERM): removes the socket under the
   spawn lock (so a client starting a new one never races it) and exits.

It never imports llama.cpp.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cpu_modes import CpuMode, ladder_from
from .probe import CPU_FAULTS, ProbeRecord, describe_signal
from .runtime import ProcessPaths, ProcessSpec, spawn_lock, write_json
from .wire import Channel
from .worker import EXIT_IDLE, EXIT_LOAD_FAILED

__all__ = ["CRASH_WINDOW_S", "MAX_CRASHES", "Supervisor", "main", "restart_delay"]

log = logging.getLogger("repolens.model_process.supervisor")

MAX_CRASHES = 5
CRASH_WINDOW_S = 600.0
MAX_DELAY_S = 30.0
#: How long a failed model process answers "failed" before it retires (its record stays).
FAILED_LINGER_S = 600.0

REBUILD_FIX = (
    'rebuild llama-cpp-python for a generic CPU: CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install '
    "--force-reinstall --no-cache-dir llama-cpp-python; or run the model on a server "
    "(model.backend = openai, model.url); then run repolens model restart"
)


def restart_delay(recent_crashes: int) -> float:
    """Seconds before the next start: none after the first crash, then 1, 2, 4, ... 30."""
    if recent_crashes <= 1:
        return 0.0
    return min(2.0 ** (recent_crashes - 2), MAX_DELAY_S)


@dataclass
class Exit:
    """How a worker ended."""

    kind: str  # "idle", "stopped", "load_failed", "crash"
    phase: str  # "load", "warm-up", "serving"
    returncode: int
    message: str = ""

    @property
    def signum(self) -> int | None:
        return -self.returncode if self.returncode < 0 else None

    def describe(self) -> str:
        if self.signum is not None:
            return describe_signal(self.signum)
        return f"exit code {self.returncode}"


class Supervisor:
    def __init__(self, spec: ProcessSpec, paths: ProcessPaths, listener: socket.socket) -> None:
        self.spec = spec
        self.paths = paths
        self.listener = listener
        self.inode = os.stat(paths.socket).st_ino
        self.probe = ProbeRecord(Path(spec.cache_dir))
        self.machine = self.probe.key
        self.crashes: list[dict[str, Any]] = []
        self.starts = 0
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_pid: int | None = None
        self.mode: CpuMode | None = None
        self.state = "starting"
        self.message = ""
        self.fix = ""
        self.retry_at: float | None = None
        self.stop_requested = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    # -- the record ---------------------------------------------------------------------------

    def write_state(self, state: str, message: str = "", fix: str = "") -> None:
        self.state, self.message, self.fix = state, message, fix
        data = {
            "state": state,
            "message": message,
            "fix": fix,
            "since": time.time(),
            "retry_at": self.retry_at,
            "supervisor_pid": os.getpid(),
            "worker_pid": self.worker_pid,
            "mode": self.mode.name if self.mode else None,
            "starts": self.starts,
            "crashes": self.crashes[-20:],
            "spec": self.spec.as_json(),
            "key": self.paths.key,  # as bound: the GGUF may be replaced while it runs
            "machine": self.machine,
            "socket": str(self.paths.socket),
            "log": str(self.paths.log),
        }
        try:
            write_json(self.paths.state, data)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.paths.state, exc)

    # -- signals ------------------------------------------------------------------------------

    def request_stop(self, _signum: int = 0, _frame: Any = None) -> None:
        self.stop_requested = True
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    # -- the main loop ------------------------------------------------------------------------

    def run(self) -> int:
        modes = list(ladder_from(self.spec.cpu_mode))
        if self.spec.cpu_mode == "auto":
            usable = [m for m in modes if self.probe.crashed(m.name) is None]
            skipped = [m.name for m in modes if m not in usable]
            if skipped:
                log.info("skipping %s: recorded as crashing on this CPU", ", ".join(skipped))
            modes = usable or modes[-1:]
        index = 0
        while True:
            mode = modes[index]
            ended = self.run_worker(mode)
            if ended.kind == "stopped" or self.stop_requested:
                self.retire("stopped")
                return 0
            if ended.kind == "idle":
                if self.retire("idle", restart_if_waiting=True):
                    return 0
                continue  # a client connected meanwhile: the same mode again
            if ended.kind == "load_failed":
                return self.fail(ended.message, "point model.gguf at a working GGUF file")
            # a crash
            record = {
                "when": time.time(),
                "pid": self.worker_pid,
                "mode": mode.name,
                "phase": ended.phase,
                "signal": ended.describe(),
                "returncode": ended.returncode,
            }
            self.crashes.append(record)
            log.error(
                "worker %s died with %s in %s mode during %s",
                self.worker_pid,
                ended.describe(),
                mode.name,
                ended.phase,
            )
            # A CPU fault before any request (the warm-up is the probe), or an illegal
            # instruction at any time, is this mode on this CPU: record it and step down.
            # Anything else while serving (a segfault on one input, an OOM kill) restarts
            # the same mode, with back-off.
            step_down = ended.signum in CPU_FAULTS and (
                ended.phase != "serving" or ended.signum == signal.SIGILL
            )
            if step_down:
                self.probe.record(
                    mode.name,
                    ok=False,
                    model=Path(self.spec.gguf).name,
                    phase=ended.phase,
                    signal_text=ended.describe(),
                )
                if index + 1 >= len(modes):
                    return self.fail(
                        f"llama.cpp crashes on this CPU in every mode (last: {ended.describe()} "
                        f"in {mode.name} mode, {mode.description})",
                        REBUILD_FIX,
                    )
                index += 1
            probing = step_down and ended.phase != "serving"
            record["probe"] = probing  # a step down the ladder before any request
            now = time.time()
            recent = [
                c for c in self.crashes if not c["probe"] and now - c["when"] < CRASH_WINDOW_S
            ]
            if len(recent) >= MAX_CRASHES:
                return self.fail(
                    f"the model process died {len(recent)} times in {CRASH_WINDOW_S / 60:.0f} "
                    f"minutes (last: {ended.describe()} in {mode.name} mode)",
                    f"check free memory (a smaller model or model.context_window helps) and "
                    f"the log {self.paths.log}; repolens model restart tries again",
                )
            next_mode = modes[index]
            delay = 0.0 if probing else restart_delay(len(recent))
            what = f"crashed with {ended.describe()} in {mode.name} mode"
            plan = (
                f"restarting in {next_mode.name} mode ({next_mode.description})"
                if next_mode is not mode
                else "restarting"
            )
            if delay > 0:
                plan += f" in {delay:g} s"
            record["then"] = plan
            record["delay_s"] = delay
            if delay > 0:
                self.retry_at = time.time() + delay
                self.write_state("restarting", f"the model process {what}; {plan}")
                self.answer_while_down(delay)
                self.retry_at = None
                if self.stop_requested:
                    self.retire("stopped")
                    return 0
            else:
                self.write_state("restarting", f"the model process {what}; {plan}")

    def run_worker(self, mode: CpuMode) -> Exit:
        """Start a worker in ``mode`` and wait until it exits."""
        report_r, report_w = os.pipe()
        cmd = [
            sys.executable,
            "-m",
            "repolens.backends.model_process.worker",
            "--spec",
            json.dumps(self.spec.as_json()),
            "--mode",
            mode.name,
            "--listen-fd",
            str(self.listener.fileno()),
            "--report-fd",
            str(report_w),
            "--owner-uid",
            str(os.getuid()),
        ]
        self.mode = mode
        self.starts += 1
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr.fileno(),
            stderr=sys.stderr.fileno(),
            pass_fds=(self.listener.fileno(), report_w),
            close_fds=True,
        )
        os.close(report_w)
        self.worker, self.worker_pid = proc, proc.pid
        log.info("worker %d starting in %s mode", proc.pid, mode.name)
        self.write_state("loading", f"loading {Path(self.spec.gguf).name} in {mode.name} mode")
        phase = "load"
        message = ""
        buffer = b""
        stopping_since: float | None = None
        while True:
            ready, _, _ = select.select([report_r, self._wake_r], [], [], 1.0)
            if self._wake_r in ready:
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 64)
            if self.stop_requested and stopping_since is None:
                stopping_since = time.monotonic()
                with contextlib.suppress(OSError):
                    proc.terminate()
            if stopping_since is not None and time.monotonic() - stopping_since > 5:
                with contextlib.suppress(OSError):
                    proc.kill()
            if report_r in ready:
                chunk = os.read(report_r, 65536)
                if not chunk:
                    break  # the worker exited (or closed its end)
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue
                    if event.get("t") == "loaded":
                        phase = "warm-up"
                    elif event.get("t") == "ready":
                        phase = "serving"
                        self.probe.record(
                            mode.name, ok=True, model=Path(self.spec.gguf).name, phase="warm-up"
                        )
                        self.write_state(
                            "ready",
                            f"{Path(self.spec.gguf).name} loaded in {mode.name} mode in "
                            f"{event.get('load_s', 0):.2f} s",
                        )
                    elif event.get("t") == "error":
                        message = str(event.get("message", ""))
        os.close(report_r)
        returncode = proc.wait()
        self.worker = None  # worker_pid stays for the record until the next start
        if self.stop_requested:
            return Exit("stopped", phase, returncode)
        if returncode == EXIT_IDLE:
            return Exit("idle", phase, returncode)
        if returncode == EXIT_LOAD_FAILED:
            return Exit("load_failed", phase, returncode, message or "the model did not load")
        return Exit("crash", phase, returncode)

    # -- down ---------------------------------------------------------------------------------

    def answer_while_down(self, seconds: float | None) -> None:
        """Answer connections with the current state for ``seconds`` (None: until idle)."""
        linger = self.spec.idle_unload_s if self.spec.idle_unload_s > 0 else FAILED_LINGER_S
        deadline = time.monotonic() + seconds if seconds is not None else None
        last_contact = time.monotonic()
        while not self.stop_requested:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            if deadline is None and now - last_contact > linger:
                return
            timeout = (deadline - now) if deadline is not None else 1.0
            listening = self.listener.fileno()
            ready, _, _ = select.select([listening, self._wake_r], [], [], min(timeout, 1.0))
            if self._wake_r in ready:
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 64)
            if listening in ready:
                try:
                    conn, _ = self.listener.accept()
                except OSError:
                    continue
                last_contact = time.monotonic()
                threading.Thread(target=self._answer_down, args=(conn,), daemon=True).start()

    def _answer_down(self, conn: socket.socket) -> None:
        conn.settimeout(2.0)
        channel = Channel(conn)
        try:
            channel.recv()  # the request (unanswered: nothing is loaded)
            retry = max(0.0, self.retry_at - time.time()) if self.retry_at else None
            channel.send(
                {
                    "t": "down",
                    "state": self.state,
                    "message": self.message,
                    "fix": self.fix,
                    "retry_after": retry,
                    "log": str(self.paths.log),
                }
            )
        except (OSError, ValueError):
            pass
        finally:
            channel.close()

    def fail(self, message: str, fix: str) -> int:
        log.error("giving up: %s; fix: %s", message, fix)
        if self.crashes:
            self.crashes[-1]["then"] = f"gave up ({message}); fix: {fix}"
        self.write_state("failed", message, fix)
        self.answer_while_down(None)
        self.retire("failed")
        return 1

    # -- retiring -----------------------------------------------------------------------------

    def retire(self, why: str, *, restart_if_waiting: bool = False) -> bool:
        """Remove the socket and exit-ready; False when a client is waiting (start again)."""
        with spawn_lock(self.paths.lock):
            if restart_if_waiting and not self.stop_requested:
                waiting, _, _ = select.select([self.listener], [], [], 0)
                if waiting:
                    log.info("a client connected while retiring: starting again")
                    return False
            with contextlib.suppress(OSError):
                if os.stat(self.paths.socket).st_ino == self.inode:
                    os.unlink(self.paths.socket)
            self.listener.close()
            if why != "failed":  # a failure stays on record for the next client
                self.write_state("stopped", "unloaded after being idle" if why == "idle" else why)
        log.info("retired (%s)", why)
        return True


def bind(path: Path) -> socket.socket:
    """A listening Unix socket at ``path``, created 0600 (a stale file is replaced)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    listener.listen(128)
    return listener


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="repolens-model-supervisor")
    parser.add_argument("--spec", required=True, help="the ProcessSpec as JSON")
    parser.add_argument("--runtime-dir", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format=f"%(asctime)s supervisor[{os.getpid()}] %(levelname)s %(message)s",
    )
    spec = ProcessSpec(**json.loads(args.spec))
    paths = ProcessPaths(Path(args.runtime_dir), spec.key)
    listener = bind(paths.socket)
    supervisor = Supervisor(spec, paths, listener)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    log.info("serving %s (key %s, machine %s)", spec.gguf, paths.key, supervisor.machine)
    try:
        return supervisor.run()
    except Exception:
        log.exception("supervisor failed")
        with contextlib.suppress(Exception):
            supervisor.write_state("failed", "the model process supervisor failed (see its log)")
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Helpers for tests that look at the local model process as the operating system sees it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from repolens.backends import ModelUnavailable
from repolens.backends.model_process import ProcessModel

__all__ = ["alive", "rss_bytes", "wait_generating", "wait_ready", "workers_of"]


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _supervised_from(pid: int) -> str | None:
    """The runtime dir of the supervisor that started worker ``pid``."""
    try:
        parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
        cmdline = Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")
    except (OSError, IndexError):
        return None
    if b"--runtime-dir" not in cmdline:
        return None
    return cmdline[cmdline.index(b"--runtime-dir") + 1].decode()


def workers_of(m: ProcessModel) -> list[int]:
    """Pids of live worker processes that load ``m``'s model for ``m``'s runtime dir (other
    tests' model processes of the same GGUF excepted, and probes)."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"repolens.backends.model_process.worker" not in cmdline or b"--probe" in cmdline:
            continue
        spec = json.loads(cmdline[cmdline.index(b"--spec") + 1])
        pid = int(proc.name)
        if (
            spec["gguf"] == m.spec.gguf
            and spec["n_ctx"] == m.spec.n_ctx
            and alive(pid)
            and _supervised_from(pid) == str(m.paths.directory)
        ):
            out.append(pid)
    return out


def wait_ready(m: ProcessModel, timeout: float = 60) -> dict[str, Any]:
    """Start the model process, or wait until it is back: its status (with ``worker``)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            m.call({"op": "ping"})
            break
        except ModelUnavailable as exc:
            assert exc.retry_after is not None and time.monotonic() < deadline, exc
            time.sleep(0.05)
    while True:  # the supervisor writes "ready" as the worker starts answering
        status = m.process_status()
        if status["state"] == "ready" and status.get("worker"):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.02)


def wait_generating(m: ProcessModel, timeout: float = 60) -> int:
    """Block until the worker is in the middle of a generation; its pid."""
    deadline = time.monotonic() + timeout
    while True:
        worker = m.process_status().get("worker") or {}
        if worker.get("generating", 0) >= 1:  # not a token count: those are short
            return int(worker["pid"])
        assert time.monotonic() < deadline, "no generation started"
        time.sleep(0.005)

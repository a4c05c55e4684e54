"""What each CPU mode did on this llama.cpp build and this CPU, remembered across runs.

The first time a model process starts on a (llama.cpp build, CPU) pair it tries the fastest
rung of :data:`repolens.backends.cpu_modes.LADDER`; its warm-up (a short prompt and two
generated tokens, right after loading and before any request is served) is the probe. A rung
that dies with a CPU fault there (SIGILL, SIGSEGV, SIGBUS, ...) is written down here and
skipped from then on, so the next start goes straight to the rung that works and no user
request ever meets the crash twice. A rung that worked is written down too (``repolens
doctor`` reports both). Upgrading llama-cpp-python or moving to another CPU changes the
fingerprint, and the probe runs again.

The fingerprints are read without importing llama.cpp: the package's version and its shared
libraries' sizes and mtimes; the CPU's architecture, model name and feature flags.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..base import ModelUnavailable
from ..cpu_modes import CpuMode, ladder_from
from .runtime import ProcessSpec, read_json, write_json

__all__ = [
    "CPU_FAULTS",
    "ProbeRecord",
    "build_fingerprint",
    "choose_mode",
    "cpu_fingerprint",
    "describe_signal",
    "machine_key",
    "run_probe",
]

#: Signals that mean "this code cannot run on this CPU (or crashed in native code)": the next
#: start uses a safer rung. SIGKILL (the OOM killer, a user) and SIGTERM do not step down.
CPU_FAULTS = frozenset(
    int(s)
    for s in (
        signal.SIGILL,
        signal.SIGSEGV,
        signal.SIGBUS,
        signal.SIGFPE,
        signal.SIGABRT,
        getattr(signal, "SIGSYS", signal.SIGILL),
    )
)

_SIGNAL_MEANING = {
    int(signal.SIGILL): "illegal instruction",
    int(signal.SIGSEGV): "segmentation fault",
    int(signal.SIGBUS): "bus error",
    int(signal.SIGFPE): "arithmetic exception",
    int(signal.SIGABRT): "aborted",
    int(signal.SIGKILL): "killed: out of memory, or by a user",
    int(signal.SIGTERM): "terminated",
}


def describe_signal(signum: int) -> str:
    """``SIGILL (illegal instruction)``."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    meaning = _SIGNAL_MEANING.get(signum)
    return f"{name} ({meaning})" if meaning else name


def build_fingerprint() -> str:
    """llama-cpp-python's version and its native libraries (size, mtime), hashed."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return "no-llama-cpp"
    root = Path(next(iter(spec.submodule_search_locations)))
    parts: list[str] = []
    version_file = root / "__init__.py"
    try:
        for line in version_file.read_text(encoding="utf-8").splitlines():
            if line.startswith("__version__"):
                parts.append(line.strip())
                break
    except OSError:
        pass
    for lib in sorted((root / "lib").glob("*")):
        try:
            info = lib.stat()
        except OSError:
            continue
        parts.append(f"{lib.name}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


@functools.cache
def cpu_fingerprint() -> str:
    """Architecture, CPU model and feature flags, hashed (one CPU kind, not one machine).

    Read once per process (the CPU does not change under it; ``/proc/cpuinfo`` is large on
    big machines and status polls ask often). The build fingerprint is read each time: an
    upgrade of llama-cpp-python under a running language server must count."""
    parts = [platform.machine(), platform.system()]
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    wanted = ("model name", "flags", "Features", "CPU implementer", "CPU part")
    seen: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in wanted and key not in seen:  # the first processor stands for all
            seen.add(key)
            parts.append(f"{key}={' '.join(sorted(value.split()))}")
    if not text:
        parts.append(platform.processor())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def machine_key() -> str:
    return f"{build_fingerprint()}-{cpu_fingerprint()}"


class ProbeRecord:
    """The per-(build, CPU) results file: ``<cache dir>/model-process/cpu-modes.json``.

    ``{"<build>-<cpu>": {"fast": {"ok": false, "signal": "SIGSEGV (...)", "when": ...,
    "model": "x.gguf", "phase": "warm-up"}, "safe": {"ok": true, ...}}}``
    """

    def __init__(self, cache_dir: Path, key: str | None = None) -> None:
        self.path = cache_dir / "model-process" / "cpu-modes.json"
        self.key = key or machine_key()

    def results(self) -> dict[str, dict[str, Any]]:
        data = read_json(self.path) or {}
        entry = data.get(self.key)
        return entry if isinstance(entry, dict) else {}

    def crashed(self, mode: str) -> dict[str, Any] | None:
        """The recorded crash of ``mode`` on this build and CPU, if any."""
        result = self.results().get(mode)
        if isinstance(result, dict) and result.get("ok") is False:
            return result
        return None

    def record(self, mode: str, *, ok: bool, model: str, phase: str, signal_text: str = "") -> None:
        """Remember what ``mode`` did (best effort: a read-only cache only loses the memo)."""
        entry: dict[str, Any] = {"ok": ok, "model": model, "phase": phase, "when": time.time()}
        if signal_text:
            entry["signal"] = signal_text
        previous = self.crashed(mode)
        if ok and previous is not None:
            return  # a crash stays recorded: one model surviving does not clear it
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            data = read_json(self.path) or {}
            results = data.get(self.key) if isinstance(data.get(self.key), dict) else {}
            assert isinstance(results, dict)
            results[mode] = entry
            data[self.key] = results
            write_json(self.path, data)
        except OSError:
            pass

    def forget(self) -> None:
        """Drop this build and CPU's results (``repolens model restart --reprobe``)."""
        data = read_json(self.path)
        if data and self.key in data:
            data.pop(self.key)
            try:
                write_json(self.path, data)
            except OSError:
                pass


def run_probe(spec: ProcessSpec, mode: CpuMode, timeout_s: float = 300.0) -> tuple[bool, str]:
    """Load ``spec``'s GGUF in ``mode`` in a throw-away worker, warm up, exit: (ok, what
    happened). The crash, if any, happens in that process only."""
    cmd = [
        sys.executable,
        "-m",
        "repolens.backends.model_process.worker",
        "--probe",
        "--spec",
        json.dumps(spec.as_json()),
        "--mode",
        mode.name,
    ]
    try:
        proc = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return False, f"no answer within {timeout_s:g} s"
    if proc.returncode == 0:
        return True, "loaded and generated"
    if proc.returncode < 0:
        return False, describe_signal(-proc.returncode)
    for line in reversed(proc.stderr.splitlines()):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("t") == "error":
            raise ModelUnavailable(str(event.get("message")))
    return False, f"exit code {proc.returncode}: {proc.stderr.strip()[-300:]}"


def choose_mode(spec: ProcessSpec) -> tuple[CpuMode, list[str]]:
    """The fastest CPU mode that works for ``spec`` here, probing what is not on record.

    Returns the mode and what was learnt, one line per mode tried. For processes that load
    llama.cpp outside the model process (``repolens model serve --engine llama.cpp``).
    """
    record = ProbeRecord(Path(spec.cache_dir))
    name = Path(spec.gguf).name
    notes: list[str] = []
    for mode in ladder_from(spec.cpu_mode):
        results = record.results()
        crashed = record.crashed(mode.name)
        if crashed is not None and spec.cpu_mode == "auto":
            notes.append(f"{mode.name}: skipped, recorded as crashing ({crashed.get('signal')})")
            continue
        known = results.get(mode.name)
        if isinstance(known, dict) and known.get("ok") and known.get("model") == name:
            notes.append(f"{mode.name}: recorded as working")
            return mode, notes
        ok, what = run_probe(spec, mode)
        notes.append(f"{mode.name}: {what}")
        if ok:
            record.record(mode.name, ok=True, model=name, phase="probe")
            return mode, notes
        record.record(mode.name, ok=False, model=name, phase="probe", signal_text=what)
    raise ModelUnavailable("llama.cpp crashes on this CPU in every mode (" + "; ".join(notes) + ")")

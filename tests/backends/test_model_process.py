"""The local model process under fire, with the real bundled GGUF and real processes.

Real signals go to the real worker in the middle of a generation; the CPU-mode ladder is forced
by a fault in warm-up (``REPOLENS_TEST_FAULT``: on machines whose CPU traps nothing the real
crash would never come, on AMX-advertising VMs it comes anyway); back-off and giving up, idle
unloading, sharing between OS processes and privacy from other users are checked on processes
and sockets as the operating system sees them. Every test has a runtime dir of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from repolens.backends import (
    CancelToken,
    GenerationParams,
    ModelCrashed,
    ModelError,
    ModelUnavailable,
)
from repolens.backends.cpu_modes import MODE_NAMES
from repolens.backends.model_process import ProcessModel, list_processes, stop_process
from repolens.backends.model_process.supervisor import MAX_CRASHES
from repolens.settings import ModelSettings
from tests.conftest import repolens_cli, require_tool
from tests.processes import alive, wait_ready, workers_of

pytestmark = [pytest.mark.model, pytest.mark.e2e]

COUNTING = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,"


@pytest.fixture(autouse=True)
def _own_runtime(private_model_processes: Path, gguf: Path) -> None:
    """Each test's model processes live apart (they crash, fail and idle out on purpose)."""


def model(**settings: object) -> ProcessModel:
    values: dict[str, object] = {"context_window": 1024, "threads": 1}
    values.update(settings)
    return ProcessModel(ModelSettings.model_validate(values))


def serving_crashes(status: dict) -> list[dict]:  # type: ignore[type-arg]
    """Crashes while serving (on an AMX-advertising VM, fast mode's real warm-up crash is
    recorded too)."""
    return [c for c in status["crashes"] if c["phase"] == "serving"]


@pytest.mark.parametrize("signame", ["SIGILL", "SIGSEGV", "SIGKILL"])
def test_a_crash_in_the_middle_of_a_completion_costs_that_request_only(signame: str) -> None:
    m = model()
    before = wait_ready(m)
    pid, mode = before["worker"]["pid"], before["mode"]
    got: list[str] = []
    with pytest.raises(ModelCrashed, match=rf"died with {signame}.*while answering") as caught:
        for piece in m.complete(COUNTING, GenerationParams(max_tokens=300)):
            got.append(piece)
            if len(got) == 2:
                os.kill(pid, getattr(signal, signame))
    assert str(m.paths.log) in str(caught.value)
    # the next request is served by a new worker, within seconds
    t0 = time.perf_counter()
    assert "".join(m.complete("def add(a, b):\n", GenerationParams(max_tokens=4)))
    assert time.perf_counter() - t0 < 20
    assert m.last_pid not in (None, pid) and not alive(pid)
    after = m.process_status()
    (crash,) = serving_crashes(after)
    assert crash["pid"] == pid
    assert crash["signal"].startswith(signame)
    if signame == "SIGILL":  # an instruction this CPU cannot run: one rung down, remembered
        assert MODE_NAMES.index(after["mode"]) == MODE_NAMES.index(mode) + 1
        assert after["probe"][mode]["ok"] is False
    else:  # a segfault on one input, an OOM kill: the same mode again
        assert after["mode"] == mode
    assert len(workers_of(m)) == 1


def test_a_fault_in_warm_up_steps_down_before_any_request_and_is_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPOLENS_TEST_FAULT", "warmup:fast:SIGILL")
    m = model()
    # the first request waits in the socket's backlog while fast mode dies: it never sees it
    assert "".join(m.complete("def add(a, b):\n", GenerationParams(max_tokens=4)))
    status = m.process_status()
    assert status["mode"] == "safe" and status["starts"] == 2
    assert [(c["mode"], c["phase"]) for c in status["crashes"]] == [("fast", "warm-up")]
    assert status["probe"]["fast"]["ok"] is False and "SIGILL" in status["probe"]["fast"]["signal"]
    assert status["probe"]["safe"]["ok"] is True
    # the next start on this llama.cpp build and CPU goes straight to safe mode: no crash
    assert stop_process(status)
    again = wait_ready(model())
    assert again["mode"] == "safe" and again["starts"] == 1 and again["crashes"] == []


def test_a_forced_mode_is_the_one_that_runs() -> None:
    status = wait_ready(model(cpu_mode="minimal"))
    assert status["mode"] == "minimal" and status["worker"]["n_threads"] == 1


def test_crashing_in_every_mode_gives_up_with_a_fix_and_no_crash_loop(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "REPOLENS_TEST_FAULT", ",".join(f"warmup:{name}:SIGILL" for name in MODE_NAMES)
    )
    m = model()
    with pytest.raises(ModelUnavailable, match=r"every mode.*fix:.*GGML_NATIVE=OFF"):
        list(m.complete("x", GenerationParams(max_tokens=1)))
    record = m.process_status(ask=False)
    assert record["state"] == "failed" and record["starts"] == len(MODE_NAMES)
    # the given-up process answers the next clients at once, and after it has retired its
    # record keeps any client from starting the same crashes again
    t0 = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="gave up"):
        list(model().complete("x", GenerationParams(max_tokens=1)))
    assert stop_process(record)
    with pytest.raises(ModelUnavailable, match="gave up"):
        list(model().complete("x", GenerationParams(max_tokens=1)))
    assert time.perf_counter() - t0 < 2
    assert m.process_status(ask=False)["starts"] == len(MODE_NAMES) and not workers_of(m)
    # token counts estimate meanwhile: context building does not depend on the model
    assert m.tokenizer.count("def f(x):\n    return x\n") > 0 and not m.tokenizer.exact
    # `repolens model restart` clears the record (here the fault is gone: it comes back)
    monkeypatch.delenv("REPOLENS_TEST_FAULT")
    env = dict(os.environ, REPOLENS__MODEL__CONTEXT_WINDOW="1024", REPOLENS__MODEL__THREADS="1")
    proc = subprocess.run(
        [*repolens_cli(), "model", "restart", "--repo", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "model process   ready" in proc.stdout
    assert "".join(m.complete("def add(a, b):\n", GenerationParams(max_tokens=2)))
    deadline = time.monotonic() + 15  # exact counts again once the estimate's pause is over
    while not (m.tokenizer.count("x") == 1 and m.tokenizer.exact):
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_repeated_crashes_back_off_then_stay_down_with_a_reason() -> None:
    m = model()
    wait_ready(m)
    before = len(m.process_status()["crashes"])  # fast mode's real warm-up crash, if any
    delays: list[float] = []
    for n in range(1, MAX_CRASHES + 1):
        pid = m.process_status()["worker"]["pid"]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while True:  # wait for the supervisor's verdict on this crash
            record = m.process_status(ask=False)
            crashes = record["crashes"][before:]
            if len(crashes) == n and "then" in crashes[-1]:
                break
            assert time.monotonic() < deadline, record
            time.sleep(0.01)
        if record["state"] == "failed":
            break
        delays.append(crashes[-1]["delay_s"])
        if crashes[-1]["delay_s"] > 0.5:  # backing off: a request hears when to come back
            t0 = time.perf_counter()
            with pytest.raises(ModelUnavailable, match="restarting") as caught:
                list(m.complete("x", GenerationParams(max_tokens=1)))
            assert time.perf_counter() - t0 < 1
            assert caught.value.retry_after is not None and caught.value.retry_after > 0
        wait_ready(m)  # and it comes back after the delay
    assert len(delays) == MAX_CRASHES - 1 == 4
    assert delays[:4] == [0.0, 1.0, 2.0, 4.0]
    assert record["state"] == "failed" and "died 5 times" in record["message"]
    assert "free memory" in record["fix"]
    with pytest.raises(ModelUnavailable, match="gave up: the model process died 5 times"):
        list(m.complete("x", GenerationParams(max_tokens=1)))


def test_idle_unload_gives_the_memory_back() -> None:
    m = model(idle_unload_s=1.0)
    status = wait_ready(m)
    worker, supervisor = status["worker"]["pid"], status["supervisor_pid"]
    assert status["worker"]["rss_bytes"] > 20 << 20
    deadline = time.monotonic() + 20
    while alive(worker) or alive(supervisor) or m.paths.socket.exists():
        assert time.monotonic() < deadline, "the idle model process did not unload"
        time.sleep(0.1)
    assert m.process_status(ask=False)["state"] == "stopped"
    # the next request loads it again
    assert "".join(m.complete("def add(a, b):\n", GenerationParams(max_tokens=2)))
    assert m.last_pid not in (None, worker)


def test_processes_of_one_user_share_one_loaded_model() -> None:
    m = model()
    ours = wait_ready(m)
    script = (
        "from repolens.backends.model_process import ProcessModel\n"
        "from repolens.settings import ModelSettings\n"
        "m = ProcessModel(ModelSettings(context_window=1024, threads=1))\n"
        "print(m.tokenizer.count('hello world'), m.process_status()['worker']['pid'])\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert {pid for _count, pid in outputs} == {str(ours["worker"]["pid"])}
    assert {count for count, _pid in outputs} == {str(m.tokenizer.count("hello world"))}
    clients = set(m.process_status()["worker"]["clients"])
    assert {os.getpid(), *(p.pid for p in procs)} <= clients
    assert workers_of(m) == [ours["worker"]["pid"]]
    assert len(list_processes(m.paths.directory)) == 1


def test_other_users_cannot_reach_the_model(private_model_processes: Path) -> None:
    python = Path("/usr/bin/python3")
    require_tool(
        os.geteuid() == 0 and shutil.which("setpriv") is not None and python.exists(),
        "root, setpriv (util-linux) and /usr/bin/python3 to act as another user",
    )
    m = model()
    wait_ready(m)
    probe = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "s.connect(sys.argv[1])\n"
        's.sendall(b\'{"op": "tokenize", "texts": ["secret"]}\\n\')\n'
        "print(s.recv(4096).decode())\n"
    )
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(python)]
    proc = subprocess.run(
        [*as_nobody, "-c", probe, str(m.paths.socket)], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "PermissionError" in proc.stderr  # 0700 dir, 0600 socket
    assert oct(m.paths.socket.stat().st_mode & 0o777) == "0o600"
    # with the file permissions opened up, the model process still checks who is calling
    os.chmod(private_model_processes, 0o755)
    os.chmod(m.paths.socket, 0o666)
    proc = subprocess.run(
        [*as_nobody, "-c", probe, str(m.paths.socket)], capture_output=True, text=True
    )
    assert '"forbidden"' in proc.stdout and '"counts"' not in proc.stdout, proc


def test_a_runtime_dir_owned_by_someone_else_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tool(os.geteuid() == 0, "root, to make a directory owned by another user")
    foreign = tmp_path / "rt"
    foreign.mkdir(mode=0o700)
    os.chown(foreign, 65534, 65534)
    monkeypatch.setenv("REPOLENS_RUNTIME_DIR", str(foreign))
    with pytest.raises(ModelUnavailable, match="belongs to another user"):
        model()


def test_a_hung_model_process_times_out_and_cancel_still_returns() -> None:
    # started (and pinged) with the default timeout: on a loaded machine a cold start can take
    # longer than 1.5 s; the process is the same one (its key is the file and context size)
    pid = wait_ready(model())["worker"]["pid"]
    m = model(timeout_s=1.5)
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.perf_counter()
        with pytest.raises(ModelError, match=r"model.timeout_s"):
            list(m.complete(COUNTING, GenerationParams(max_tokens=8)))
        assert time.perf_counter() - t0 < 10
        token = CancelToken()
        threading.Timer(0.2, token.cancel).start()
        t0 = time.perf_counter()
        assert list(m.complete(COUNTING, GenerationParams(max_tokens=8), token)) == []
        assert time.perf_counter() - t0 < 4  # cancel grace, not model.timeout_s per frame
    finally:
        os.kill(pid, signal.SIGCONT)
    assert "".join(m.complete("def add(a, b):\n", GenerationParams(max_tokens=2)))

"""One writer per index, across processes: concurrent ``repolens index`` runs (one of them
``--rebuild``) all end well with a complete index, a waiting writer says whom it waits for, a
writer killed while it holds the lock does not block the next one, and readers keep reading.

Real processes on real git repositories; the lock is the ``.lock`` file beside the database.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from repolens.indexer import db_path_for
from tests.conftest import make_git_repo, repolens_cli

REPOLENS = repolens_cli()

#: A reader process: opens the index, reads until told to stop, prints reads and errors.
_READER = """
import json, sys, time
from pathlib import Path
from repolens.indexer import RepoIndex
stop = Path(sys.argv[2])
idx = RepoIndex(sys.argv[1])
reads, errors = 0, []
while not stop.exists():
    try:
        idx.stats()
        idx.definitions("helper")
        idx.term_chunk_ids("return")
        reads += 1
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    time.sleep(0.005)
print(json.dumps({"reads": reads, "errors": errors[:5]}))
"""


def _make_repo(tmp_path: Path, modules: int) -> tuple[Path, int]:
    """A git repository of ``modules`` Python files (plus a README); (root, files indexed)."""
    src = tmp_path / "src"
    pkg = src / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .core import helper\n")
    (pkg / "core.py").write_text("def helper(x):\n    return x\n")
    for i in range(modules):
        body = "\n\n".join(
            f"def f{i}_{j}(x):\n    '''Doc {j}.'''\n    return helper(x) + {j}" for j in range(25)
        )
        (pkg / f"m{i}.py").write_text(f"from .core import helper\n\n\n{body}\n")
    (src / "README.md").write_text("# generated\n\nA generated package.\n")
    return make_git_repo(src, tmp_path / "repo"), modules + 3


def _index(repo: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*REPOLENS, "index", str(repo), "--json", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )


def _lock_path(repo: Path, cache: Path) -> Path:
    return Path(str(db_path_for(repo, cache)) + ".lock")


def _held_by_someone(lock: Path) -> bool:
    """True while another process holds the writer lock (this test takes and drops it)."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock this test took
    return False


def _live_members(pgid: int) -> list[int]:
    """Pids of the processes of group ``pgid`` that are not zombies."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()  # state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def test_three_concurrent_index_runs_one_rebuilding_all_end_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, expected = _make_repo(tmp_path, 150)
    waited = 0
    for round_ in range(3):
        cache = tmp_path / f"cache{round_}"  # a fresh index every round: the worst case
        monkeypatch.setenv("REPOLENS_CACHE_DIR", str(cache))
        stop = tmp_path / f"stop{round_}"
        reader = subprocess.Popen(
            [sys.executable, "-c", _READER, str(repo), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
            cwd=tmp_path,
        )
        runs = [
            subprocess.Popen(
                [*REPOLENS, "index", str(repo), "--json", *extra],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=dict(os.environ),
            )
            for extra in ([], [], ["--rebuild"])
        ]
        outputs = [p.communicate(timeout=240) for p in runs]
        stop.touch()
        reader_out, reader_err = reader.communicate(timeout=60)
        for p, (out, err) in zip(runs, outputs, strict=True):
            assert p.returncode == 0, f"round {round_}: {p.args}\n{err}"
            assert "Traceback" not in err and "corrupt" not in err, err
            assert "rebuilding" not in err, err  # a fresh index is created, not "rebuilt"
            assert json.loads(out)["files"] == expected, (round_, p.args, out, err)
            waited += "waiting for another repolens process indexing this repository" in err
        assert reader.returncode == 0, reader_err
        report = json.loads(reader_out)
        assert report["errors"] == [] and report["reads"] > 0, report
        final = _index(repo)
        assert final.returncode == 0, final.stderr
        summary = json.loads(final.stdout)
        assert summary["files"] == expected and summary["files_changed"] == 0, summary
    assert waited, "the runs never overlapped: the race was not run"


def test_a_waiting_writer_says_whom_it_waits_for_then_updates(
    tmp_path: Path, isolated_cache: Path
) -> None:
    repo, expected = _make_repo(tmp_path, 5)
    assert _index(repo).returncode == 0
    (repo / "pkg" / "new.py").write_text("def fresh():\n    return 1\n")
    lock = _lock_path(repo, isolated_cache)
    assert lock.exists(), "the lock file lives beside the database"
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # this test is "another repolens process"
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    proc = subprocess.Popen(
        [*REPOLENS, "index", str(repo), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    lines: list[str] = []
    reading = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")))  # type: ignore[union-attr]
    reading.start()
    try:
        want = f"waiting for another repolens process indexing this repository (pid {os.getpid()})"
        deadline = time.monotonic() + 30
        while not any(want in line for line in lines) and time.monotonic() < deadline:
            assert proc.poll() is None, f"finished without waiting: {lines}"
            time.sleep(0.05)
        assert any(want in line for line in lines), lines
        time.sleep(0.3)
        assert proc.poll() is None, "it must wait while the lock is held"
    finally:
        os.close(fd)  # releases the lock
    out, _ = proc.communicate(timeout=60)
    reading.join()
    assert proc.returncode == 0, lines
    summary = json.loads(out)
    assert summary["files"] == expected + 1 and summary["files_changed"] == 1
    assert len(lines) == 1, lines  # one line, no traceback


def test_a_writer_killed_while_holding_the_lock_does_not_block_the_next(
    tmp_path: Path, isolated_cache: Path
) -> None:
    repo, expected = _make_repo(tmp_path, 400)
    lock = _lock_path(repo, isolated_cache)
    victim = subprocess.Popen(
        [*REPOLENS, "index", str(repo), "--json", "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
        start_new_session=True,  # its parser processes too can be found and stopped
    )
    try:
        deadline = time.monotonic() + 60
        while not _held_by_someone(lock):
            assert victim.poll() is None, "the writer finished before it was seen holding the lock"
            assert time.monotonic() < deadline, "the writer never took the lock"
            time.sleep(0.01)
        os.kill(victim.pid, signal.SIGKILL)  # mid-run: the lock, half the files written
        victim.wait(timeout=30)
        started = time.monotonic()
        nxt = _index(repo, timeout=120)
        assert nxt.returncode == 0, nxt.stderr
        assert "Traceback" not in nxt.stderr, nxt.stderr
        assert json.loads(nxt.stdout)["files"] == expected
        assert time.monotonic() - started < 60
        assert not _held_by_someone(lock)
        deadline = time.monotonic() + 10  # its orphaned parser processes notice and exit
        while _live_members(victim.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _live_members(victim.pid) == []
    finally:
        try:
            os.killpg(victim.pid, signal.SIGKILL)  # orphaned parser processes, if any
        except ProcessLookupError:
            pass

"""A cache the index cannot be written in, and odd index paths: one clear line and a fallback,
never a traceback and never a deleted index.

The read-only cache is a real read-only bind mount of the cache directory, made in a private
mount namespace (``unshare -m``) around each command: tests run as root here, and ``chmod``
does not stop root, while a read-only mount fails writes with EROFS for everyone, as a
read-only home or a container's read-only volume does. The mount dies with the command.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from repolens.indexer import RepoIndex, db_path_for
from tests.conftest import make_git_repo, repolens_cli, require_tool

REPOLENS = repolens_cli()

_RO_SHELL = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'


def _read_only_mounts_work(directory: Path) -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = directory / "probe"
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", _RO_SHELL, "sh", str(directory), "touch", str(probe)],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode != 0 and "Read-only file system" in proc.stderr and not probe.exists()


def _run(
    *args: str, read_only: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``repolens ARGS``; with ``read_only``, that directory is mounted read-only for it."""
    cmd = [*REPOLENS, *args]
    if read_only is not None:
        cmd = ["unshare", "-m", "sh", "-c", _RO_SHELL, "sh", str(read_only), *cmd]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=dict(os.environ), check=False
    )


def _digest(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


def _lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


@pytest.fixture
def read_only_cache(isolated_cache: Path) -> Path:
    require_tool(
        _read_only_mounts_work(isolated_cache), "read-only bind mounts (unshare -m, mount --bind)"
    )
    return isolated_cache


def test_a_valid_index_in_a_read_only_cache_is_used_read_only(
    fixture_repo: Callable[[str], Path], read_only_cache: Path
) -> None:
    repo = fixture_repo("python_app")
    first = _run("index", str(repo), "--json")
    assert first.returncode == 0, first.stderr
    db = db_path_for(repo, read_only_cache)
    (repo / "app" / "extra.py").write_text("def extra_thing():\n    return 1\n")
    before = _digest(read_only_cache)

    context = _run(
        "context",
        "register.py:7:10",
        "--repo",
        str(repo),
        "--budget",
        "300",
        "--json",
        read_only=read_only_cache,
    )
    assert context.returncode == 0, context.stderr
    assert json.loads(context.stdout)["file"] == "register.py"
    symbols = _run("symbols", "usrRepo", "--repo", str(repo), "--json", read_only=read_only_cache)
    assert symbols.returncode == 0, symbols.stderr
    assert json.loads(symbols.stdout)[0]["name"] == "UserRepository"
    ask = _run(
        "ask",
        "How is the welcome mail composed?",
        "--repo",
        str(repo),
        "--context-only",
        "--budget",
        "500",
        "--json",
        read_only=read_only_cache,
    )
    assert ask.returncode == 0, ask.stderr
    assert "app/services/mail.py" in {s["path"] for s in json.loads(ask.stdout)["snippets"]}
    index = _run("index", str(repo), "--json", read_only=read_only_cache)
    assert index.returncode == 0, index.stderr
    assert json.loads(index.stdout)["files"] == 11  # as it is: the new file is not in it

    for proc in (context, symbols, ask, index):
        assert "Traceback" not in proc.stderr, proc.stderr
        about = [line for line in _lines(proc.stderr) if str(db) in line]
        assert len(about) == 1, proc.stderr
        assert "read-only" in about[0] and "Read-only file system" in about[0], about
        assert "not updated" in about[0], about
        assert "corrupt" not in proc.stderr and "rebuilding" not in proc.stderr

    assert _digest(read_only_cache) == before  # not deleted, not written
    again = _run("index", str(repo), "--json")  # writable again: the same index, brought up to date
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["files"] == 12
    assert json.loads(again.stdout)["files_changed"] == 1
    assert _lines(again.stderr) == []


def test_a_read_only_cache_without_an_index_gets_a_temporary_index(
    fixture_repo: Callable[[str], Path], read_only_cache: Path
) -> None:
    repo = fixture_repo("python_app")
    proc = _run("symbols", "usrRepo", "--repo", str(repo), "--json", read_only=read_only_cache)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["name"] == "UserRepository"
    lines = _lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert "Read-only file system" in lines[0] and "temporary index" in lines[0], lines
    assert list(read_only_cache.iterdir()) == []


@pytest.mark.parametrize("odd", ["directory", "cache_is_a_file"])
def test_an_odd_index_path_gets_one_line_and_a_temporary_index(
    fixture_repo: Callable[[str], Path],
    isolated_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    odd: str,
) -> None:
    repo = fixture_repo("python_app")
    if odd == "directory":
        db = db_path_for(repo, isolated_cache)
        db.mkdir()
        (db / "keep").write_text("not ours")
        what = "is a directory"
    else:
        cache = isolated_cache / "a-file"
        cache.write_text("not a directory")
        monkeypatch.setenv("REPOLENS_CACHE_DIR", str(cache))
        what = "cannot be created"
    proc = _run("index", str(repo), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"] == 11
    lines = _lines(proc.stderr)
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert what in lines[0] and "temporary index" in lines[0], lines
    if odd == "directory":
        assert (db / "keep").read_text() == "not ours"  # left alone
    else:
        assert cache.read_text() == "not a directory"
    symbols = _run("symbols", "usrRepo", "--repo", str(repo), "--json")
    assert symbols.returncode == 0 and json.loads(symbols.stdout)[0]["name"] == "UserRepository"


def test_stats_of_a_corrupt_database_are_zeros(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "core.py").write_text("def helper(x):\n    return x\n")
    repo = make_git_repo(src, tmp_path / "repo")
    idx = RepoIndex(repo, cache_dir=tmp_path / "cache")
    idx.update(workers=1)
    db = idx.store.path
    idx.close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'symbols'"
        ).fetchall()
    conn.close()
    with open(db, "r+b") as f:  # the open-time check passes; counting symbols finds it
        for (root_page,) in pages:  # the table and its indexes: count(*) reads one of them
            f.seek((root_page - 1) * page_size)
            f.write(b"\xff" * page_size)
    idx = RepoIndex(repo, cache_dir=tmp_path / "cache")
    assert idx.stats() == {"files": 0, "symbols": 0, "chunks": 0, "skipped": 0}
    assert idx.update(workers=1).files == 1
    idx.close()

"""Building and updating the index on real files: incremental updates, bad input, a corrupt or
old database, and a reader querying while a writer re-indexes."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from repolens.indexer import RepoIndex, db_path_for
from repolens.indexer.store import SCHEMA_VERSION
from tests.conftest import git, make_git_repo


def _write(repo: Path, rel: str, text: str) -> None:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


@pytest.fixture
def small_repo(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    _write(src, "pkg/__init__.py", "from .core import run\n")
    _write(
        src, "pkg/core.py", "def run(x):\n    return helper(x)\n\n\ndef helper(x):\n    return x\n"
    )
    _write(
        src,
        "pkg/extra.py",
        "from .core import helper\n\n\ndef twice(x):\n    return helper(x) * 2\n",
    )
    _write(src, "README.md", "# small\n\nA small package.\n")
    return make_git_repo(src, tmp_path / "repo")


def test_cold_then_noop_then_incremental(small_repo: Path) -> None:
    idx = RepoIndex(small_repo)
    first = idx.update()
    assert (first.files, first.files_changed, first.added) == (4, 4, 4)
    assert first.symbols == 3  # run, helper, twice
    assert {d.name for d in idx.definitions("twice")} == {"twice"}

    again = idx.update()
    assert again.files_changed == 0 and again.files == 4

    # modify
    core = small_repo / "pkg/core.py"
    core.write_text("def run(x):\n    return x\n\n\ndef helper2(x):\n    return x\n")
    _bump_mtime(core)
    # add
    _write(small_repo, "pkg/new.py", "def fresh():\n    return 1\n")
    # delete
    (small_repo / "pkg/extra.py").unlink()
    summary = idx.update()
    assert (summary.added, summary.changed, summary.deleted) == (1, 1, 1)
    assert summary.files_changed == 3
    assert idx.definitions("helper") == []
    assert [d.path for d in idx.definitions("helper2")] == ["pkg/core.py"]
    assert [d.path for d in idx.definitions("fresh")] == ["pkg/new.py"]
    assert idx.definitions("twice") == []
    assert "pkg/extra.py" not in idx.files()


def test_touch_without_change_does_not_reparse(small_repo: Path) -> None:
    idx = RepoIndex(small_repo)
    idx.update()
    core = small_repo / "pkg/core.py"
    _bump_mtime(core)
    summary = idx.update()
    assert summary.files_changed == 0  # same hash: only the mtime is recorded


def test_rename_moves_definitions_and_reresolves_imports(small_repo: Path) -> None:
    idx = RepoIndex(small_repo)
    idx.update()
    assert idx.resolve("pkg/extra.py", "helper").definitions[0].path == "pkg/core.py"
    git(small_repo, "mv", "pkg/core.py", "pkg/engine.py")
    (small_repo / "pkg/__init__.py").write_text("from .engine import run\n")
    (small_repo / "pkg/extra.py").write_text(
        "from .engine import helper\n\n\ndef twice(x):\n    return helper(x) * 2\n"
    )
    for rel in ("pkg/__init__.py", "pkg/extra.py"):
        _bump_mtime(small_repo / rel)
    summary = idx.update()
    assert summary.added == 1 and summary.deleted == 1
    res = idx.resolve("pkg/extra.py", "helper")
    assert [(d.path, d.name_line) for d in res.definitions] == [("pkg/engine.py", 5)]
    assert idx.importers("pkg/engine.py") == ["pkg/__init__.py", "pkg/extra.py"]


def test_only_paths_reindexes_just_those(small_repo: Path) -> None:
    idx = RepoIndex(small_repo)
    idx.update()
    (small_repo / "pkg/core.py").write_text(
        "def run(x):\n    return x\n\n\ndef brand_new():\n    pass\n"
    )
    (small_repo / "pkg/extra.py").write_text("def other():\n    pass\n")
    summary = idx.update(only=["pkg/core.py"])
    assert summary.files_changed == 1
    assert idx.definitions("brand_new")
    assert idx.definitions("twice")  # extra.py was not looked at


def test_bad_inputs_are_skipped_with_reasons(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _write(src, "good.py", "def good():\n    return 1\n")
    (src / "blob.py").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    (src / "latin1.py").write_bytes(
        "def caf\xe9():\n    pass\n\ndef ok():\n    pass\n".encode("latin-1")
    )
    (src / "huge.py").write_bytes(b"x = 1\n" * (5 * 1024 * 1024 // 6 + 1))  # ~5 MB
    (src / "minified.js").write_text("var a=1;" * 2000 + "\n")
    _write(src, "broken.py", "def ok_before():\n    pass\n\ndef broken(:\n    pass\n")
    repo = make_git_repo(src, tmp_path / "repo")
    os.symlink("loop_b.py", repo / "loop_a.py")
    os.symlink("loop_a.py", repo / "loop_b.py")
    os.symlink("/etc/hostname", repo / "outside.py")
    # a file name that is not UTF-8 (undecodable bytes): it once failed the whole run
    with open(os.path.join(os.fsencode(repo), b"bad\xffname.py"), "w") as fh:
        fh.write("def from_a_bad_name():\n    pass\n")

    idx = RepoIndex(repo)
    summary = idx.update()
    reasons = dict(idx.skipped())
    assert reasons["bad\ufffdname.py"] == "file name is not valid UTF-8"
    assert not idx.definitions("from_a_bad_name")
    assert reasons["blob.py"] == "binary file"
    assert reasons["huge.py"].startswith("larger than 1000000 bytes")
    assert reasons["minified.js"].startswith("minified or generated")
    assert "symlink loop" in reasons["loop_a.py"]
    assert reasons["outside.py"] == "symlink to a file outside the repository"
    # invalid UTF-8 is indexed with replacement characters, and reported
    assert any("latin1.py: invalid UTF-8" in w for w in summary.warnings)
    assert idx.definitions("ok") and "\ufffd" in (idx.text("latin1.py") or "")
    # a syntax error keeps what parses
    assert idx.definitions("ok_before")
    assert idx.definitions("good")
    assert "symlink loop" in reasons["loop_b.py"]
    assert summary.skipped == len(reasons) == 7


def test_unreadable_file_is_skipped(tmp_path: Path) -> None:
    """A file the indexer may not read is skipped with a reason.

    Root reads everything, so as root the indexer runs in a user namespace
    (``unshare --user --map-root-user``) where a file owned by an unmapped user is unreadable.
    """
    repo = tmp_path / "repo"
    _write(repo, "ok.py", "def fine():\n    pass\n")
    _write(repo, "secret.py", "def hidden():\n    pass\n")
    secret = repo / "secret.py"
    secret.chmod(0o000)
    cache = tmp_path / "cache"
    script = (
        "import json; from pathlib import Path; from repolens.indexer import RepoIndex; "
        f"i = RepoIndex({str(repo)!r}, cache_dir=Path({str(cache)!r})); i.update(); "
        "print(json.dumps(dict(i.skipped())))"
    )
    command = [sys.executable, "-c", script]
    if os.geteuid() == 0:
        if not shutil.which("unshare"):
            pytest.skip("unshare (util-linux) is missing")
        os.chown(secret, 12345, 12345)
        command = ["unshare", "--user", "--map-root-user", *command]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 and "unshare failed" in proc.stderr:
        pytest.skip(f"user namespaces are not available: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    assert '"secret.py": "unreadable (Permission denied)"' in proc.stdout


def test_walk_without_git_honours_gitignore_and_vendored_dirs(tmp_path: Path) -> None:
    repo = tmp_path / "plain"
    _write(repo, ".gitignore", "ignored.py\ngenerated/\n")
    _write(repo, "kept.py", "def kept():\n    pass\n")
    _write(repo, "ignored.py", "def ignored():\n    pass\n")
    _write(repo, "generated/out.py", "def gen():\n    pass\n")
    _write(repo, "sub/.gitignore", "local_only.py\n")
    _write(repo, "sub/local_only.py", "def local_only():\n    pass\n")
    _write(repo, "sub/mod.py", "def sub_mod():\n    pass\n")
    _write(repo, "node_modules/lib/index.js", "function vendored() {}\n")
    _write(repo, "build/artifact.py", "def artifact():\n    pass\n")
    idx = RepoIndex(repo)
    summary = idx.update()
    assert idx.files() == ["kept.py", "sub/mod.py"]
    skipped = dict(idx.skipped())
    assert skipped == {
        "build/": "vendored or build folder",
        "node_modules/": "vendored or build folder",
    }
    assert summary.files == 2


def _indexed_and_closed(repo: Path) -> Path:
    """Index ``repo``, close the index, and return its database file (to tamper with)."""
    idx = RepoIndex(repo)
    idx.update()
    db = idx.store.path
    idx.close()
    return db


def test_corrupt_database_is_rebuilt_with_one_line(
    small_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _indexed_and_closed(small_repo)
    db.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    idx2 = RepoIndex(small_repo)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is corrupt" in err and "rebuilding" in err
    summary = idx2.update()
    assert summary.files == 4 and idx2.definitions("twice")


def test_old_schema_is_rebuilt(small_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _indexed_and_closed(small_repo)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    idx2 = RepoIndex(small_repo)
    err = capsys.readouterr().err
    assert f"has schema version 1, this repolens uses {SCHEMA_VERSION}" in err
    assert idx2.stats()["files"] == 0
    assert idx2.update().files == 4


def test_an_index_without_the_change_detection_index_gets_it_and_is_not_rebuilt(
    small_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _indexed_and_closed(small_repo)
    with sqlite3.connect(db) as conn:  # as an index written before files_stat existed
        conn.execute("DROP INDEX files_stat")
    idx2 = RepoIndex(small_repo)
    core = small_repo / "pkg/core.py"
    core.write_text("def run(x):\n    return x\n\n\ndef later(x):\n    return x\n")
    _bump_mtime(core)
    summary = idx2.update()
    assert "rebuilding" not in capsys.readouterr().err
    assert (summary.files, summary.files_changed, summary.added) == (4, 1, 0)
    assert [d.path for d in idx2.definitions("later")] == ["pkg/core.py"]
    with sqlite3.connect(db) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT path, size, mtime_ns, id, hash FROM files"
        ).fetchall()
    # change detection reads the small index, not the rows that hold every file's content
    assert "COVERING INDEX files_stat" in plan[0][-1]


def test_discovery_stats_the_known_files_early_and_still_sees_every_change(
    small_repo: Path,
) -> None:
    from repolens.indexer.discovery import DiscoveryOptions, discover

    before = discover(small_repo)
    known = [c.path for c in before.candidates] + ["pkg/was_here.py"]
    (small_repo / "pkg/extra.py").unlink()
    _write(small_repo, "pkg/new.py", "def fresh():\n    return 1\n")
    core = small_repo / "pkg/core.py"
    core.write_text("def run(x):\n    return x * 3\n")
    _bump_mtime(core)
    with_known = discover(small_repo, known=known)
    without = discover(small_repo)
    assert with_known.candidates == without.candidates
    assert {c.path for c in with_known.candidates} == {
        "README.md",
        "pkg/__init__.py",
        "pkg/core.py",
        "pkg/new.py",
    }
    assert next(c for c in with_known.candidates if c.path == "pkg/core.py").mtime_ns == (
        core.stat().st_mtime_ns
    )
    # what the caller knows of each file: those still as it knew them come back unchanged
    stored = {c.path: (c.path, c.size, c.mtime_ns) for c in before.candidates}
    stored["README.md"] = ("README.md", 0, 0)  # the index has it otherwise
    compared = discover(small_repo, known=stored)
    assert sorted(compared.unchanged) == ["pkg/__init__.py"]
    assert {c.path for c in compared.candidates} == {"README.md", "pkg/core.py", "pkg/new.py"}
    assert compared.skipped == without.skipped
    narrow = DiscoveryOptions(max_file_bytes=5)  # a rule that changed since still applies
    limited = discover(small_repo, narrow, known=stored)
    assert limited.unchanged == [] and limited.candidates == []
    assert "pkg/__init__.py" in {s.path for s in limited.skipped}


def _chunk_rows(db: Path) -> tuple[set[int], set[int], list[tuple[object, ...]]]:
    with sqlite3.connect(db) as conn:
        chunk_ids = {i for (i,) in conn.execute("SELECT id FROM chunks")}
        fts_ids = {i for (i,) in conn.execute("SELECT rowid FROM chunks_fts")}
        rows = conn.execute(
            "SELECT f.path, c.start_line, c.end_line, x.terms, x.path FROM chunks c"
            " JOIN files f ON f.id = c.file_id JOIN chunks_fts x ON x.rowid = c.id"
        ).fetchall()
    return chunk_ids, fts_ids, sorted(rows)


def test_a_changed_file_keeps_the_search_rows_of_its_unchanged_chunks_and_only_those(
    small_repo: Path, tmp_path: Path
) -> None:
    many = "".join(f"def f{i}(x):\n    return helper(x) + {i}\n\n\n" for i in range(40))
    _write(small_repo, "pkg/many.py", "from .core import helper\n\n\n" + many)
    idx = RepoIndex(small_repo)
    idx.update()
    before = _chunk_rows(idx.store.path)[1]
    # a new function at the top (every chunk moves), one changed, one gone
    path = small_repo / "pkg/many.py"
    text = (
        path.read_text()
        .replace("+ 7\n", "+ 7 * offset\n")
        .replace("def f30(x):\n    return helper(x) + 30\n", "")
    )
    path.write_text("def brand_new(offset):\n    return offset\n\n\n" + text)
    _bump_mtime(path)
    assert idx.update().files_changed == 1
    chunk_ids, fts_ids, rows = _chunk_rows(idx.store.path)
    assert chunk_ids == fts_ids  # no search row left behind, none missing
    assert len(before & fts_ids) >= len(before) - 3  # only the changed chunks were rewritten
    # the same rows as an index built from scratch on the same files
    fresh = RepoIndex(small_repo, cache_dir=tmp_path / "fresh-cache")
    fresh.update()
    assert rows == _chunk_rows(fresh.store.path)[2]
    hits = {(h.path, h.start_line) for h in idx.ranked_chunks(["offset"])}
    assert hits == {(h.path, h.start_line) for h in fresh.ranked_chunks(["offset"])}
    assert len(hits) >= 2  # brand_new and the changed f7


def test_counts_of_an_unchanged_run_follow_files_another_writer_changed(small_repo: Path) -> None:
    idx = RepoIndex(small_repo)
    first = idx.update()
    assert idx.update().symbols == first.symbols == 3  # kept counts: the same figures
    with sqlite3.connect(idx.store.path) as conn:  # as a writer that keeps no counts would
        (fid,) = conn.execute("SELECT id FROM files WHERE path = 'pkg/core.py'").fetchone()
        conn.execute("UPDATE files SET id = id + 1000 WHERE id = ?", (fid,))
        conn.execute("DELETE FROM symbols WHERE file_id = ? AND name = 'helper'", (fid,))
        conn.execute("UPDATE symbols SET file_id = file_id + 1000 WHERE file_id = ?", (fid,))
    again = idx.update()
    assert again.files_changed == 0
    assert (again.files, again.symbols) == (4, 2)


def test_kept_counts_follow_adds_edits_deletes_and_saves(small_repo: Path) -> None:
    idx = RepoIndex(small_repo)

    def counted() -> tuple[int, int, int]:
        with sqlite3.connect(idx.store.path) as conn:
            return conn.execute(
                "SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM symbols),"
                " (SELECT count(*) FROM chunks)"
            ).fetchone()

    steps = [
        ("pkg/new.py", "def a():\n    pass\n\n\ndef b():\n    pass\n"),  # added
        ("pkg/core.py", "def run(x):\n    return x\n"),  # edited: a symbol fewer
        ("pkg/extra.py", None),  # deleted
        ("docs/guide.md", "# Guide\n\nText.\n\n## More\n\nText.\n"),  # a text file
    ]
    idx.update()
    for rel, text in steps:
        if text is None:
            (small_repo / rel).unlink()
        else:
            _write(small_repo, rel, text)
        got = idx.update()
        assert got.files_changed == 1
        assert (got.files, got.symbols, got.chunks) == counted(), rel
    _write(small_repo, "pkg/new.py", "def a():\n    pass\n")  # a save: only that path
    got = idx.update(only=["pkg/new.py"])
    assert (got.files, got.symbols, got.chunks) == counted()
    with sqlite3.connect(idx.store.path) as conn:  # the kept counts say what is there
        kept = conn.execute("SELECT value FROM meta WHERE key = 'counts'").fetchone()[0]
    assert kept.split()[:3] == [str(n) for n in counted()]


def test_discovery_walks_when_git_is_missing_or_hangs(
    small_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from repolens.indexer import discovery

    listed = discovery.discover(small_repo).candidates
    expected = {c.path for c in listed}
    stored = {c.path: (c.path, c.size, c.mtime_ns) for c in listed}  # as an index knows them
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))  # no git at all
    assert {c.path for c in discovery.discover(small_repo).candidates} == expected
    walked = discovery.discover(small_repo, known=stored)  # the walk finds them unchanged
    assert set(walked.unchanged) == expected and walked.candidates == []
    hanging = bin_dir / "git"
    hanging.write_text("#!/bin/sh\nexec /bin/sleep 30\n")
    hanging.chmod(0o755)
    listing = discovery._GitListing(small_repo)
    started = time.monotonic()
    assert listing.names(timeout=0.5) is None  # killed: the caller walks instead
    assert time.monotonic() - started < 5
    assert listing._proc is not None and listing._proc.poll() is not None


def test_database_lives_in_cache_dir_not_repo(small_repo: Path, isolated_cache: Path) -> None:
    idx = RepoIndex(small_repo)
    idx.update()
    assert idx.store.path == db_path_for(small_repo)
    assert idx.store.path.parent == isolated_cache
    assert not any(p.suffix == ".sqlite3" for p in small_repo.rglob("*"))
    # one database per root
    other = small_repo.parent / "other"
    other.mkdir()
    assert db_path_for(other) != db_path_for(small_repo)


def test_reader_keeps_working_while_writer_reindexes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for i in range(400):
        body = "\n\n".join(f"def f{i}_{j}(x):\n    return x + {j}" for j in range(30))
        _write(src, f"pkg/m{i}.py", f'"""Module {i}."""\n\n{body}\n')
    _write(src, "pkg/anchor.py", "def anchor():\n    return 1\n")
    repo = make_git_repo(src, tmp_path / "repo")
    idx = RepoIndex(repo)
    idx.update()
    errors: list[BaseException] = []
    reads = 0
    done = threading.Event()

    def read() -> None:
        nonlocal reads
        try:
            while not done.is_set():
                assert [d.path for d in idx.definitions("anchor")] == ["pkg/anchor.py"]
                idx.term_chunk_ids("return")  # a full-text read during the write
                reads += 1
        except BaseException as exc:
            errors.append(exc)

    for i in range(0, 400, 2):
        (repo / f"pkg/m{i}.py").write_text(f"def changed{i}():\n    return {i}\n")
        _bump_mtime(repo / f"pkg/m{i}.py")
    reader = threading.Thread(target=read)
    reader.start()
    try:
        started = time.perf_counter()
        summary = idx.update(workers=1)
        elapsed = time.perf_counter() - started
    finally:
        done.set()
        reader.join()
    assert not errors, errors
    assert summary.changed == 200
    assert reads >= 1, f"no read completed during a {elapsed:.2f}s re-index"
    assert idx.definitions("changed0")


def test_overlay_change_forgets_only_what_read_that_file(small_repo: Path) -> None:
    idx = RepoIndex(small_repo)
    idx.update()
    # a negative answer is cached...
    assert idx.resolve("pkg/extra.py", "fresh").definitions == []
    assert idx.resolve("pkg/__init__.py", "run").via == "import"
    cached = list(idx._memo)
    # ...and a function typed into an unsaved buffer of the module shows up at once
    idx.set_overlay(
        "pkg/core.py",
        "def run(x):\n    return helper(x)\n\n\ndef helper(x):\n    return x\n\n\n"
        "def fresh():\n    pass\n",
    )
    idx.set_overlay(
        "pkg/extra.py", "from .core import helper, fresh\n\n\ndef twice(x):\n    return fresh()\n"
    )
    res = idx.resolve("pkg/extra.py", "fresh")
    assert [(d.path, d.name_line) for d in res.definitions] == [("pkg/core.py", 9)]
    # answers that never read the changed files survive
    assert any(key[0] == "imports" and key[1] == "pkg/__init__.py" for key in idx._memo)
    assert len(cached) > 0
    idx.clear_overlay("pkg/core.py")
    assert idx.resolve("pkg/extra.py", "fresh").definitions == []


def test_memo_survives_requests_on_other_threads_and_sees_other_writers(
    small_repo: Path,
) -> None:
    # PRAGMA data_version is per connection; each worker thread has its own reader connection
    # (the language server runs requests on two). Requests alternating between the threads
    # must keep the memo, and a commit by another connection (another process's re-index)
    # must still reach every thread's answers.
    from concurrent.futures import ThreadPoolExecutor

    idx = RepoIndex(small_repo)
    idx.update()
    resets = 0
    forget_all = idx._memo.forget_all

    def counting() -> None:
        nonlocal resets
        resets += 1
        forget_all()

    idx._memo.forget_all = counting  # type: ignore[method-assign]

    def ask() -> object:
        time.sleep(0.06)  # past the memo's 50 ms re-check interval
        return idx.resolve("pkg/__init__.py", "run").definitions

    a, b = workers = [ThreadPoolExecutor(1), ThreadPoolExecutor(1)]
    other = RepoIndex(small_repo)  # another process's writer
    try:
        assert a.submit(ask).result()  # thread a opens its connection...
        _write(small_repo, "pkg/extra.py", "def twice(x):\n    return x\n")
        other.update()  # ...a commit elsewhere moves its data_version...
        assert a.submit(ask).result()
        assert b.submit(ask).result()  # ...and thread b's connection starts at another value
        settled = resets
        for _ in range(4):
            for w in workers:
                assert w.submit(ask).result()
        assert resets == settled, "requests on the other thread threw the memo away"

        _write(small_repo, "pkg/core.py", "def walk(x):\n    return x\n")
        other.update()
        for w in workers:
            assert w.submit(ask).result() == []
        assert resets > settled
    finally:
        for w in workers:
            w.shutdown()


def test_adding_or_deleting_files_re_resolves_what_a_full_pass_would(small_repo: Path) -> None:
    from repolens.indexer.build import resolve_imports

    idx = RepoIndex(small_repo)
    _write(
        small_repo,
        "app/main.py",
        "import helpers\nfrom pkg import later\nfrom ns.deep import thing\n"
        "from pkg.core import run\n",
    )
    idx.update()

    def targets() -> dict[tuple[str, str], str | None]:
        with sqlite3.connect(idx.store.path) as conn:
            rows = conn.execute(
                "SELECT f.path, i.module || ':' || coalesce(i.name, ''), i.target"
                " FROM imports i JOIN files f ON f.id = i.file_id"
            ).fetchall()
        return {(p, m): t for p, m, t in rows}

    steps = [
        ("helpers.py", "def h():\n    pass\n"),  # an unresolved import now resolves
        ("pkg/later.py", "X = 1\n"),  # a submodule named in `from pkg import later`
        ("ns/deep/thing.py", "T = 1\n"),  # a namespace package appears
        ("ns/deep/thing.py", None),  # and goes
        ("helpers.py", None),
        ("pkg/__init__.py", None),  # a package marker: everything below is renamed
    ]
    seen: list[dict[tuple[str, str], str | None]] = []
    for rel, text in steps:
        if text is None:
            (small_repo / rel).unlink()
        else:
            _write(small_repo, rel, text)
        idx.update()
        after = targets()
        resolve_imports(idx.store)  # what a full pass says
        assert targets() == after, rel
        seen.append(after)
    assert seen[0][("app/main.py", "helpers:")] == "helpers.py"
    assert seen[1][("app/main.py", "pkg:later")] == "pkg/__init__.py"
    assert seen[2][("app/main.py", "ns.deep:thing")] == "ns/deep/"
    assert seen[3][("app/main.py", "ns.deep:thing")] is None
    assert seen[4][("app/main.py", "helpers:")] is None


def test_a_re_indexed_file_keeps_its_id_and_ends_as_a_fresh_index_would(
    small_repo: Path, tmp_path: Path
) -> None:
    def rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
        with sqlite3.connect(db) as conn:
            return {
                table: sorted(conn.execute(sql).fetchall())
                for table, sql in {
                    "symbols": "SELECT f.path, s.name, s.kind, s.scope, s.start_line, s.end_line,"
                    " s.name_line, s.name_col, s.signature, s.doc FROM symbols s"
                    " JOIN files f ON f.id = s.file_id",
                    "refs": "SELECT f.path, r.name, r.kind, r.lines FROM refs r"
                    " JOIN files f ON f.id = r.file_id",
                    "imports": "SELECT f.path, i.module, i.name, i.line, i.target FROM imports i"
                    " JOIN files f ON f.id = i.file_id",
                    "chunks": "SELECT f.path, c.start_line, c.end_line, c.symbol, x.terms"
                    " FROM chunks c JOIN files f ON f.id = c.file_id"
                    " JOIN chunks_fts x ON x.rowid = c.id",
                }.items()
            }

    idx = RepoIndex(small_repo)
    idx.update()
    with sqlite3.connect(idx.store.path) as conn:
        (core_id,) = conn.execute("SELECT id FROM files WHERE path = 'pkg/core.py'").fetchone()
    # lines move, a function is renamed, one goes, one comes, a call is added, a doc changes
    _write(
        small_repo,
        "pkg/core.py",
        '"""Core."""\n\n\ndef run(x):\n    """Run it."""\n    return helper(x) + extra(x)\n\n\n'
        "def helper2(x):\n    return x\n\n\ndef extra(x):\n    return helper2(x)\n",
    )
    # an import moves down a line (it keeps its target), two come: as a fresh pass gives
    _write(
        small_repo,
        "pkg/extra.py",
        "import os\nfrom .core import helper\nfrom .core import helper2\n\n\ndef twice(x):\n"
        "    return helper(x) * helper2(2)\n",
    )
    idx.update()
    with sqlite3.connect(idx.store.path) as conn:
        assert conn.execute("SELECT id FROM files WHERE path = 'pkg/core.py'").fetchone() == (
            core_id,
        )
    fresh = RepoIndex(small_repo, cache_dir=tmp_path / "fresh")
    fresh.update()
    assert rows(idx.store.path) == rows(fresh.store.path)
    idx.close()
    fresh.close()


def test_imports_an_older_repolens_resolved_are_resolved_again_once(small_repo: Path) -> None:
    from repolens.indexer.build import RESOLVER_VERSION

    idx = RepoIndex(small_repo)
    idx.update()
    wrong = "pkg/elsewhere.py"

    def tamper(version: str | None) -> None:
        with sqlite3.connect(idx.store.path) as conn:
            conn.execute("UPDATE imports SET target = ? WHERE module = '.core'", (wrong,))
            if version is not None:
                conn.execute("UPDATE meta SET value = ? WHERE key = 'resolver'", (version,))

    def targets() -> set[str | None]:
        with sqlite3.connect(idx.store.path) as conn:
            rows = conn.execute("SELECT target FROM imports WHERE module = '.core'").fetchall()
        return {t for (t,) in rows}

    tamper("1")  # as an older repolens left it
    assert idx.update().files_changed == 0
    assert targets() == {"pkg/core.py"}
    assert idx.store.meta("resolver") == RESOLVER_VERSION
    tamper(None)  # resolved by today's rules already: a run with nothing to do resolves nothing
    idx.update()
    assert targets() == {wrong}

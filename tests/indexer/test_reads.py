"""The store's read queries on a real SQLite file: answers as value objects, per-thread
connections, and a file found corrupt in the middle of use rebuilt instead of raised."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from repolens.indexer import RepoIndex
from repolens.indexer.model import Definition
from repolens.indexer.reads import ChunkHit, FileInfo, StoreReads


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg/__init__.py").write_text("from .core import Runner\n")
    (root / "pkg/core.py").write_text(
        'class Runner:\n    """Runs."""\n\n    def go(self):\n        return helper()\n\n\n'
        "def helper():\n    return 1\n"
    )
    return root


def test_queries_answer_value_objects(tmp_path: Path) -> None:
    idx = RepoIndex(_repo(tmp_path), cache_dir=tmp_path / "cache")
    idx.update(workers=1)
    reads = StoreReads(idx.store)
    assert sorted(reads.paths()) == ["pkg/__init__.py", "pkg/core.py"]
    assert reads.file_info("pkg/core.py") == FileInfo("pkg/core.py", "python", 10, "", 0)
    assert reads.file_info("nope.py") is None
    outline = reads.file_definitions("pkg/core.py")
    assert all(isinstance(d, Definition) for d in outline)
    assert [(d.name, d.scope) for d in outline] == [
        ("Runner", ""),
        ("go", "Runner"),
        ("helper", ""),
    ]
    assert {d.name for d in reads.top_level_definitions("pkg/core.py")} == {"Runner", "helper"}
    assert [d.name for d in reads.scope_definitions("pkg/core.py", "Runner")] == ["go"]
    assert reads.scope_definitions_elsewhere("Runner", "pkg/core.py") == []
    assert [d.name for d in reads.definitions("go", scope="Runner", kinds=["method"])] == ["go"]
    assert reads.definitions("go", kinds=["class"]) == []
    assert [d.name for d in reads.documented_definitions()] == ["Runner"]
    (imp,) = reads.imports("pkg/__init__.py")
    assert (imp.name, imp.local, imp.target) == ("Runner", "Runner", "pkg/core.py")
    assert reads.importers(("pkg/core.py", "pkg/")) == ["pkg/__init__.py"]
    assert ("pkg/core.py", "call", [5]) in reads.references("helper")
    ids = reads.term_chunk_ids("helper", "terms")
    chunks = {c.id: c for c in reads.all_chunks()}
    assert ids and all(isinstance(chunks[i], ChunkHit) for i in ids)
    assert any(chunks[i].symbol == "helper" for i in ids)
    assert reads.term_chunk_ids('he"lper', "terms") == []
    assert reads.term_chunk_ids("helper", "other") == []
    assert {c.id for c in reads.file_chunks("pkg/core.py")} <= {c.id for c in reads.all_chunks()}
    assert reads.stats()["files"] == 2
    idx.close()


def test_each_thread_reads_on_its_own_connection(tmp_path: Path) -> None:
    idx = RepoIndex(_repo(tmp_path), cache_dir=tmp_path / "cache")
    idx.update(workers=1)
    seen: list[int] = []

    def read() -> None:
        assert idx.definitions("helper")
        seen.append(idx.store.reader_data_version()[0])

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    read()
    assert len(set(seen)) == 3
    idx.close()


def test_a_corrupt_file_found_mid_use_is_rebuilt_and_answers_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _repo(tmp_path)
    idx = RepoIndex(root, cache_dir=tmp_path / "cache")
    idx.update(workers=1)
    db = idx.store.path
    idx.close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        (root_page,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'symbols'"
        ).fetchone()
    conn.close()
    with open(db, "r+b") as f:  # the symbols table's root page: the open-time check passes
        f.seek((root_page - 1) * page_size)
        f.write(b"\xff" * page_size)

    idx = RepoIndex(root, cache_dir=tmp_path / "cache")
    assert idx.store.rebuilt_reason is None
    assert idx.definitions("helper") == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is corrupt" in err and "rebuilding" in err
    assert idx.store.rebuilt_reason is not None
    assert idx.files() == []  # an empty, working store
    idx.update(workers=1)
    assert [d.path for d in idx.definitions("helper")] == ["pkg/core.py"]
    idx.close()


def test_ranked_chunks_rank_by_bm25_over_the_shared_terms(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "a").mkdir(parents=True)
    (root / "a/one.py").write_text("def fetch_orders(session):\n    return session.query(Order)\n")
    (root / "a/two.py").write_text("def total(rows):\n    return sum(r.amount for r in rows)\n")
    (root / "a/three.py").write_text(
        "def refund(session, order):\n    session.delete(order)\n    return Order\n"
    )
    idx = RepoIndex(root, cache_dir=tmp_path / "cache")
    idx.update(workers=1)
    hits = idx.ranked_chunks(["session", "order", "nowhere"], limit=5)
    # three.py matches both terms; one.py only "session" (and "order" is a part of Order)
    assert [h.path for h in hits][:2] == ["a/three.py", "a/one.py"]
    assert all(h.score > 0 for h in hits) and hits[0].score >= hits[1].score
    assert "a/two.py" not in {h.path for h in hits}
    assert idx.ranked_chunks(["session"], limit=1)[0].path in ("a/one.py", "a/three.py")
    # a term one chunk holds is no look-alike of anything (it is the asking file's own)
    assert idx.ranked_chunks(["amount"], limit=5) == []
    # nothing to ask, a quote (FTS5 syntax) or a zero limit: no query, no error
    assert idx.ranked_chunks([], limit=5) == []
    assert idx.ranked_chunks(['a"b'], limit=5) == []
    assert idx.ranked_chunks(["session"], limit=0) == []
    # a search reads a bounded number of chunks: terms that hold more, together, are left
    # out (the rarest first), and a term above the bound alone means no search at all
    assert idx._db.ranked_chunks(["session", "order"], limit=5, postings=2)[0].path in (
        "a/one.py",
        "a/three.py",
    )
    assert idx._db.ranked_chunks(["session"], limit=5, postings=1) == []
    idx.close()


def test_term_counts_say_how_many_chunks_use_a_name(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "a").mkdir(parents=True)
    (root / "a/one.py").write_text("def check(r):\n    return r.status_code == 200\n")
    (root / "a/two.py").write_text("def show(r):\n    print(r.status_code, r._private)\n")
    (root / "a/three.py").write_text("def other(r):\n    return r.elapsed\n")
    idx = RepoIndex(root, cache_dir=tmp_path / "cache")
    idx.update(workers=1)
    # attribute reads count (the references table records only calls); whole identifiers,
    # lower case, outer underscores stripped, as the full-text column holds them
    counts = idx.term_counts(["status_code", "elapsed", "private", "nowhere"])
    assert counts == {"status_code": 2, "elapsed": 1, "private": 1}
    assert idx.term_counts([]) == {}
    # a count stops past the cap: "more than 1"
    assert idx._db.term_counts(["status_code", "elapsed"], cap=1) == {
        "status_code": 2,
        "elapsed": 1,
    }
    # counts are kept until the index changes, then asked again
    (root / "a/three.py").write_text("def other(r):\n    return r.status_code\n")
    idx.update(workers=1)
    assert idx.term_counts(["status_code", "elapsed"]) == {"status_code": 3}
    idx.close()

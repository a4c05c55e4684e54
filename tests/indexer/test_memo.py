"""The memo's invalidation rules, on a version source the test moves by hand: answers hold
until the database changes (a write of this process at once, another connection's within the
re-check interval) or an overlay changes a file they read, directly or through a nested answer.
"""

from __future__ import annotations

import threading

import pytest

from repolens.indexer import memo as memo_module
from repolens.indexer.memo import Memo


class Source:
    """A store stand-in: ``generation`` and one ``data_version`` per reader connection."""

    def __init__(self) -> None:
        self.generation = 0
        self.values: dict[int, int] = {}  # connection -> PRAGMA data_version
        self.connection = 1

    def reader_data_version(self) -> tuple[int, int]:
        return self.connection, self.values.setdefault(self.connection, 1)


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, value: object = "answer") -> object:
        self.calls += 1
        return value


def _memo(source: Source) -> Memo:
    return Memo(source)


@pytest.fixture
def recheck_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo_module, "RECHECK_S", -1.0)


def test_an_answer_is_computed_once() -> None:
    memo = _memo(Source())
    compute = Counter()
    assert memo.memoized(("k",), compute) == "answer"
    assert memo.memoized(("k",), compute) == "answer"
    assert compute.calls == 1
    assert ("k",) in memo and len(memo) == 1 and list(memo) == [("k",)]
    assert memo.memoized(("with args",), compute, "given") == "given"
    assert memo.memoized(("with args",), compute, "other") == "given"


def test_forget_drops_what_read_the_file_its_directory_or_everything() -> None:
    memo = _memo(Source())

    def reading(*deps: str) -> str:
        memo.touch(*deps)
        return "x"

    memo.memoized(("file",), lambda: reading("pkg/a.go"))
    memo.memoized(("dir",), lambda: reading("dir:pkg"))
    memo.memoized(("all",), lambda: reading(Memo.EVERYTHING))
    memo.memoized(("other file",), lambda: reading("pkg/b.go"))
    memo.memoized(("other dir",), lambda: reading("dir:lib"))
    memo.memoized(("nothing",), lambda: "x")
    memo.forget("pkg/a.go")
    assert sorted(memo) == [("nothing",), ("other dir",), ("other file",)]


def test_a_nested_answer_passes_its_reads_up_even_when_cached() -> None:
    memo = _memo(Source())

    def inner() -> str:
        memo.touch("a.py")
        return "inner"

    memo.memoized(("outer1",), lambda: memo.memoized(("inner",), inner))
    # inner is now cached: a second outer answer that uses it still depends on a.py
    memo.memoized(("outer2",), lambda: memo.memoized(("inner",), inner))
    memo.memoized(("unrelated",), lambda: memo.touch("b.py"))
    memo.forget("a.py")
    assert list(memo) == [("unrelated",)]


def test_touch_outside_an_answer_is_harmless() -> None:
    memo = _memo(Source())
    memo.touch("a.py")
    assert memo.memoized(("k",), lambda: 1) == 1


def test_a_failed_computation_is_not_kept_and_leaves_no_reads_behind() -> None:
    memo = _memo(Source())

    def failing() -> None:
        memo.touch("a.py")
        raise ValueError("boom")

    def outer() -> str:
        with pytest.raises(ValueError):
            memo.memoized(("bad",), failing)
        return "ok"

    assert memo.memoized(("outer",), outer) == "ok"
    assert ("bad",) not in memo
    memo.forget("a.py")  # the failed answer's read did not reach the outer one
    assert ("outer",) in memo


def test_a_write_of_this_process_forgets_everything_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(memo_module, "RECHECK_S", 3600.0)  # no PRAGMA re-check: generation alone
    source = Source()
    memo = _memo(source)
    compute = Counter()
    memo.memoized(("k",), compute)
    source.generation += 1
    memo.memoized(("k",), compute)
    assert compute.calls == 2


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_another_connections_commit_is_seen_after_the_recheck_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(memo_module, "monotonic", clock.monotonic)
    source = Source()
    assert memo_module.RECHECK_S == 0.05
    memo = Memo(source)
    compute = Counter()
    memo.memoized(("k",), compute)
    source.values[1] += 1  # another process committed
    clock.now += 0.04
    memo.memoized(("k",), compute)
    assert compute.calls == 1, "re-checked within the interval"
    clock.now += 0.02
    memo.memoized(("k",), compute)
    assert compute.calls == 2


@pytest.mark.usefixtures("recheck_every_call")
def test_reader_connections_of_other_threads_do_not_look_like_changes() -> None:
    source = Source()
    memo = _memo(source)
    compute = Counter()
    source.values = {1: 5, 2: 900}  # two threads' connections, numbers not comparable
    for connection in (1, 2):  # each seen once (a first sight counts as a change)
        source.connection = connection
        memo.memoized(("k",), compute)
    calls = compute.calls
    for _ in range(3):
        for connection in (1, 2):
            source.connection = connection
            memo.memoized(("k",), compute)
    assert compute.calls == calls
    before = memo.data_version()
    source.values[2] += 1  # a commit elsewhere, seen by thread 2's connection
    assert memo.data_version() != before
    memo.memoized(("k",), compute)
    assert compute.calls == calls + 1


def test_data_version_is_generation_and_a_change_counter() -> None:
    source = Source()
    memo = _memo(source)
    first = memo.data_version()
    assert memo.data_version() == first
    source.generation = 7
    assert memo.data_version() == (7, first[1])


def test_a_full_memo_starts_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo_module, "MAX_ENTRIES", 3)
    memo = _memo(Source())
    for i in range(4):
        memo.memoized((i,), lambda: "x")
    assert len(memo) == 4
    memo.memoized(("one more",), lambda: "x")
    assert list(memo) == [("one more",)]


def test_reads_are_recorded_per_thread() -> None:
    memo = _memo(Source())
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        memo.touch("slow.py")
        started.set()
        release.wait(5)
        return "slow"

    worker = threading.Thread(target=lambda: memo.memoized(("slow",), slow))
    worker.start()
    started.wait(5)
    memo.memoized(("fast",), lambda: memo.touch("fast.py"))  # while slow is being computed
    release.set()
    worker.join()
    memo.forget("slow.py")
    assert list(memo) == [("fast",)]

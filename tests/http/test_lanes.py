"""The lanes of ``repolens serve`` on their own: a bound per kind of work, a bounded wait for a
slot (first come, first served), a deadline, slots that stay taken while a hung thread runs,
and a status call shared by whoever asks while it runs."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from repolens.backends.base import CancelToken
from repolens.http.lanes import Lane, Overloaded, SharedCall, TookTooLong


def test_slots_are_handed_on_in_arrival_order_and_a_wait_is_bounded() -> None:
    lane = Lane("t", 1, wait_s=0.3, deadline_s=None)
    order: list[int] = []

    async def hold(n: int, seconds: float) -> None:
        async with lane.slot():
            order.append(n)
            await asyncio.sleep(seconds)

    async def main() -> None:
        first = asyncio.ensure_future(hold(1, 0.1))
        await asyncio.sleep(0.01)
        queued = [asyncio.ensure_future(hold(n, 0.05)) for n in (2, 3)]
        await asyncio.gather(first, *queued)
        assert order == [1, 2, 3] and lane.taken == 0
        blocker = asyncio.ensure_future(hold(4, 1.0))
        await asyncio.sleep(0.01)
        t0 = time.monotonic()
        with pytest.raises(Overloaded, match="try again in 1 s") as raised:
            await lane.acquire()
        assert 0.25 < time.monotonic() - t0 < 0.6 and raised.value.retry_after == 1
        await blocker
        assert lane.taken == 0

    asyncio.run(main())


def test_a_waiter_that_goes_away_leaves_no_slot_taken() -> None:
    lane = Lane("t", 1, wait_s=5, deadline_s=None)

    async def main() -> None:
        await lane.acquire()
        gone = asyncio.ensure_future(lane.acquire())
        await asyncio.sleep(0.01)
        gone.cancel()  # its client closed the request
        with pytest.raises(asyncio.CancelledError):
            await gone
        lane.release()
        assert lane.taken == 0
        async with lane.slot():
            assert lane.taken == 1

    asyncio.run(main())


def test_a_job_past_its_deadline_is_told_to_stop_and_keeps_its_slot_until_it_returns() -> None:
    lane = Lane("t", 1, wait_s=0.2, deadline_s=0.2, late="the model did not answer")
    unblock = threading.Event()
    cancel = CancelToken()

    def hung() -> str:
        unblock.wait(10)
        return "late"

    async def main() -> None:
        with pytest.raises(TookTooLong, match=r"the model did not answer within 0\.2 s"):
            await lane.run(hung, cancel)
        assert cancel.cancelled and lane.taken == 1  # the thread still runs
        with pytest.raises(Overloaded):
            await lane.run(lambda: "next")
        unblock.set()
        for _ in range(100):
            if lane.taken == 0:
                break
            await asyncio.sleep(0.01)
        assert await lane.run(lambda: "next") == "next"
        with pytest.raises(ZeroDivisionError):
            await lane.run(lambda: 1 / 0)
        assert lane.taken == 0

    asyncio.run(main())
    lane.close()


def test_jobs_run_on_a_few_long_lived_daemon_threads() -> None:
    lane = Lane("reuse", 2, wait_s=1, deadline_s=5)

    async def main() -> set[int]:
        idents = await asyncio.gather(*(lane.run(threading.get_ident) for _ in range(20)))
        return set(idents)

    idents = asyncio.run(main())
    assert 1 <= len(idents) <= 2
    threads = [t for t in threading.enumerate() if t.name.startswith("repolens-reuse")]
    assert threads and all(t.daemon for t in threads)
    lane.close()


def test_a_shared_call_runs_once_for_everyone_who_asks_while_it_runs() -> None:
    calls: list[int] = []
    release = threading.Event()

    def slow() -> dict[str, int]:
        calls.append(1)
        release.wait(10)
        return {"n": len(calls)}

    shared = SharedCall("status", slow)

    async def main() -> None:
        assert await asyncio.gather(*(shared.result(0.1) for _ in range(5))) == [None] * 5
        assert len(calls) == 1  # one thread waits, not five
        pending = asyncio.ensure_future(shared.result(5))
        await asyncio.sleep(0.05)
        release.set()
        assert await pending == {"n": 1} and len(calls) == 1
        assert await shared.result(5) == {"n": 2}  # a new call once the last one ended

    asyncio.run(main())
    shared.close()

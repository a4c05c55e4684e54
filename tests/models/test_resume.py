"""Cut connections and interrupted pulls.

A connection cut mid-file is resumed by huggingface_hub within the same pull with a ``Range``
request (it writes in 10 MiB chunks, so the file must be larger than that for a resume to
start past 0). An interrupted pull (Ctrl-C, a kill) leaves nothing that is recorded or used;
with huggingface_hub 2.x the next pull starts the file over, which these tests pin down so a
change there is noticed (the CLI's message says so).
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import time
from pathlib import Path

from tests.models.conftest import REPOLENS
from tests.models.fakehub import HubFile

CODEGEEX = ("zai-org/codegeex4-all-9b-GGUF", "codegeex4-all-9b-Q4_K_M.gguf")
SIZE = 12 * 2**20
CHUNK = 10 * 2**20  # huggingface_hub's DOWNLOAD_CHUNK_SIZE


def test_a_cut_connection_is_resumed_with_a_range_request(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    data = body(SIZE)
    served = hub.add(*CODEGEEX, HubFile(data, cut_after=CHUNK + 2**20))
    proc = cli.run("model", "pull", "codegeex4-9b")
    assert "Trying to resume download" in proc.stderr  # huggingface_hub's own words
    assert hub.ranges() == [f"bytes={CHUNK}-"]
    assert served.gets == 2
    model = cli.json("model", "list")["models"][0]
    assert model["sha256"] == hashlib.sha256(data).hexdigest() and model["size"] == SIZE


def _wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _partial(cli) -> list[Path]:  # type: ignore[no-untyped-def]
    return [p for p in cli.hf_cache.rglob("*.incomplete") if p.stat().st_size >= CHUNK]


def _start_stalled_pull(cli, hub, body):  # type: ignore[no-untyped-def]
    data = body(SIZE)
    hub.add(*CODEGEEX, HubFile(data, stall_after=CHUNK + 2**20))
    proc = subprocess.Popen(
        [*REPOLENS, "model", "pull", "codegeex4-9b"],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(lambda: _partial(cli))  # 10 MiB written, the rest never comes
    return proc, data


def test_an_interrupted_pull_leaves_nothing_used_and_the_next_one_completes(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    proc, data = _start_stalled_pull(cli, hub, body)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted: nothing was recorded or used" in err
    assert "Run `repolens model pull codegeex4-9b` again" in err
    assert "Traceback" not in err and out == ""
    assert not cli.record.exists()
    assert list(cli.hf_cache.rglob("*.incomplete")) == []  # huggingface_hub removed it
    assert cli.blobs() == [] and not list(cli.hf_cache.rglob("snapshots/*/*"))
    assert cli.json("model", "list")["completion"]["source"] == "bundled"

    hub.release.set()  # let the stalled server thread go
    before = len(hub.requests)
    cli.run("model", "pull", "codegeex4-9b")
    again = [r for r in hub.requests[before:] if r.server == "cdn"]
    assert [r.range for r in again] == [None]  # started over (huggingface_hub 2.x)
    model = cli.json("model", "list")["models"][0]
    assert model["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_killed_pull_leaves_a_stray_partial_that_rm_cleans_up(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    proc, _ = _start_stalled_pull(cli, hub, body)
    proc.kill()
    proc.communicate(timeout=30)
    stray = list(cli.hf_cache.rglob("*.incomplete"))
    assert len(stray) == 1  # a kill gives huggingface_hub no chance to clean up
    assert not cli.record.exists()
    hub.release.set()
    cli.run("model", "pull", "codegeex4-9b")  # the stray file is not reused, nor in the way
    assert cli.json("model", "list")["models"][0]["present"] is True
    cli.run("model", "rm", "codegeex4-9b")
    assert list(cli.hf_cache.rglob("*.incomplete")) == [] and cli.blobs() == []

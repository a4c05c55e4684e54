"""`repolens serve` with a model that never answers: a real loopback server that accepts
connections and sends nothing, configured as the OpenAI-compatible model URL. Work that waits
on the model is bounded (so many slots, a bounded wait for one, then 503 with Retry-After; a
deadline, then 504), and it cannot starve the endpoints that need no model: health, status and
file reads answer within a second while the model hangs."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from repolens.app import Services
from repolens.http import ServerConfig, create_app
from repolens.settings import load_settings
from repolens.workspace import Workspace
from tests.conftest import git
from tests.http.test_server import _serve


class SilentModel:
    """A TCP server on loopback that accepts every connection, reads, and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept (close alone does not)
        self.sock.close()
        for conn in self.connections:  # the clients' reads end (EOF) instead of timing out
            conn.close()


@pytest.fixture
def silent_model() -> Iterator[SilentModel]:
    model = SilentModel()
    yield model
    model.close()


def _staged_change(root: Path) -> None:
    with (root / "app/util.py").open("a") as fh:
        fh.write("\n\ndef shout(text: str) -> str:\n    return text.upper()\n")
    git(root, "add", "app/util.py")


def test_health_status_and_files_answer_within_a_second_while_the_model_hangs(
    fixture_repo: Callable[[str], Path], silent_model: SilentModel
) -> None:
    root = fixture_repo("python_app")
    _staged_change(root)
    env = dict(os.environ, REPOLENS__MODEL__BACKEND="openai", REPOLENS__MODEL__URL=silent_model.url)
    s = _serve(root, env=env)
    pool = ThreadPoolExecutor(8)
    try:
        started = time.monotonic()
        pending = [
            pool.submit(httpx.post, s.url + "/v1/commit-message", json={}, timeout=120)
            for _ in range(8)
        ]
        time.sleep(1.0)  # all eight are in: some wait on the model, the rest for a slot
        assert not any(p.done() for p in pending)
        for _ in range(3):  # a monitor polling status does not pile up behind the model
            for path in ("/v1/health", "/v1/status", "/v1/file?path=app/util.py"):
                t0 = time.monotonic()
                r = httpx.get(s.url + path, timeout=5)
                assert r.status_code == 200, (path, r.text)
                assert time.monotonic() - t0 < 1.0, path
            time.sleep(0.3)
        status = httpx.get(s.url + "/v1/status", timeout=5).json()
        assert status["index"]["files"] == 11
        # the requests beyond the model's slots waited a bounded time, then were told to retry
        while sum(p.done() for p in pending) < 4 and time.monotonic() - started < 20:
            time.sleep(0.1)
        busy = [p.result() for p in pending if p.done()]
        assert len(busy) == 4, [r.text for r in busy]
        assert all(r.status_code == 503 and int(r.headers["retry-after"]) >= 1 for r in busy)
        assert all("busy" in r.json()["detail"] for r in busy)
        time.sleep(0.5)
        assert sum(not p.done() for p in pending) == 4  # those still wait on the model
    finally:
        s.proc.terminate()  # serve stops although model calls still hang
        try:
            s.proc.wait(15)
        finally:
            s.proc.kill()
            pool.shutdown(wait=True, cancel_futures=True)


def test_model_work_has_a_deadline_and_a_bounded_wait_for_a_slot(
    fixture_repo: Callable[[str], Path], silent_model: SilentModel
) -> None:
    from repolens.http.lanes import LaneLimits  # (here: the module is what this test adds)

    root = fixture_repo("python_app")
    _staged_change(root)
    settings, _ = load_settings(root, {"model": {"backend": "openai", "url": silent_model.url}})
    services = Services(Workspace(root, settings))
    limits = LaneLimits(model_slots=1, wait_s=0.5, model_deadline_s=2.0)
    client = TestClient(
        create_app(services, ServerConfig(limits=limits)), base_url="http://127.0.0.1:8765"
    )
    with client, ThreadPoolExecutor(2) as pool:
        t0 = time.monotonic()
        first = pool.submit(client.post, "/v1/commit-message", json={})
        time.sleep(0.2)
        second = client.post("/v1/commit-message", json={})
        assert second.status_code == 503 and second.headers["retry-after"] == "1"
        assert 0.4 < time.monotonic() - t0 < 1.5
        r = first.result(timeout=30)
        assert r.status_code == 504 and "did not answer within 2 s" in r.json()["detail"]
        assert 1.9 < time.monotonic() - t0 < 4
        # the hung call still holds its slot (a thread cannot be stopped): the next is told so
        third = client.post("/v1/commit-message", json={})
        assert third.status_code == 503
        silent_model.close()  # the model's connection ends: the slot is free again
        for _ in range(50):
            r = client.post("/v1/commit-message", json={})
            if r.status_code != 503:
                break
            time.sleep(0.1)
        assert r.status_code == 200 and r.json()["fallback"] is True
    services.close()

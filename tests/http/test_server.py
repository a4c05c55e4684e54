"""`repolens serve` as a real process on loopback: the API, its security (token, Host and
Origin checks, size limits, files outside the repository), streaming and cancellation over the
WebSocket, and the chat page in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from repolens.backends.model_process import ProcessModel
from repolens.settings import ModelSettings
from tests.conftest import REPO_ROOT, repolens_cli, require_tool
from tests.processes import wait_generating, wait_ready

BROWSER = REPO_ROOT / "tests" / "browser"


class Served:
    def __init__(self, proc: subprocess.Popen[str], url: str, token: str | None) -> None:
        self.proc = proc
        self.url = url.split("?")[0].rstrip("/")
        self.token = token
        self.port = int(self.url.rsplit(":", 1)[1])

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def _serve(repo: Path, *args: str, env: dict[str, str] | None = None) -> Served:
    proc = subprocess.Popen(
        [*repolens_cli(), "serve", "--repo", str(repo), "--port", "0", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env or dict(os.environ),
    )
    assert proc.stderr is not None
    deadline = time.time() + 60
    seen = []
    while time.time() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        m = re.search(r"serving .* on (http://\S+)", line)
        if m:
            token = m.group(1).split("token=")[1] if "token=" in m.group(1) else None
            served = Served(proc, m.group(1), token)
            for _ in range(50):  # until indexing has run
                status = httpx.get(served.url + "/v1/status", headers=served.headers()).json()
                if not status["indexing"]["running"] and status["index"]["files"]:
                    break
                time.sleep(0.1)
            return served
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("server did not start: " + "".join(seen))


@pytest.fixture
def served(fixture_repo) -> Iterator[Served]:  # type: ignore[no-untyped-def]
    s = _serve(fixture_repo("python_app"))
    yield s
    s.proc.terminate()
    s.proc.wait(10)


def test_health_status_context_and_openapi(served: Served) -> None:
    assert httpx.get(served.url + "/v1/health").json()["status"] == "ok"
    status = httpx.get(served.url + "/v1/status").json()
    assert status["index"]["files"] == 11 and status["indexing"]["error"] is None
    body = {"file": "register.py", "line": 7, "column": 10, "budget": 300}
    ctx = httpx.post(served.url + "/v1/context", json=body).json()
    assert ctx["prefix"].endswith("repo.") and ctx["context_tokens"] <= 300
    assert any(s["path"] == "app/models/repository.py" for s in ctx["snippets"])
    spec = httpx.get(served.url + "/openapi.json").json()
    assert {"/v1/complete", "/v1/context", "/v1/ask", "/v1/commit-message", "/v1/status"} <= set(
        spec["paths"]
    )
    assert "swagger" in httpx.get(served.url + "/docs").text.lower()


def test_files_outside_the_repository_are_refused(served: Served) -> None:
    r = httpx.post(
        served.url + "/v1/context", json={"file": "../../../etc/passwd", "line": 1, "column": 1}
    )
    assert r.status_code == 400 and "outside the repository" in r.json()["detail"]
    r = httpx.get(served.url + "/v1/file", params={"path": "/etc/passwd"})
    assert r.status_code == 403
    r = httpx.get(served.url + "/v1/file", params={"path": "app/util.py", "line": 6})
    assert r.status_code == 200 and "def render_template" in r.json()["text"]


def test_dns_rebinding_and_cross_site_websockets_are_refused(served: Served) -> None:
    r = httpx.get(served.url + "/v1/status", headers={"Host": f"evil.example:{served.port}"})
    assert r.status_code == 403
    ws_url = served.url.replace("http://", "ws://") + "/v1/chat"
    with (
        pytest.raises((ConnectionClosed, Exception)),
        connect(ws_url, origin="http://evil.example") as ws,  # type: ignore[arg-type]
    ):
        ws.send(json.dumps({"type": "ask", "id": 1, "question": "x"}))
        ws.recv(timeout=10)


def test_request_size_limit(served: Served) -> None:
    big = {"file": "main.py", "line": 1, "column": 1, "text": "x" * 3_000_000}
    r = httpx.post(served.url + "/v1/context", json=big)
    assert r.status_code == 413


def test_malformed_requests_get_422_not_a_crash(served: Served) -> None:
    r = httpx.post(
        served.url + "/v1/context",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    r = httpx.post(served.url + "/v1/context", json={"file": "main.py", "line": 0, "column": 1})
    assert r.status_code == 422
    r = httpx.post(served.url + "/v1/commit-message", json={"range": "; rm -rf /"})
    assert r.status_code == 422
    assert httpx.get(served.url + "/v1/health").status_code == 200


def test_token_is_required_when_set(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    s = _serve(fixture_repo("python_app"), "--token", "s3cret")
    try:
        assert httpx.get(s.url + "/v1/status").status_code == 401
        assert (
            httpx.get(s.url + "/v1/status", headers={"Authorization": "Bearer nope"}).status_code
            == 401
        )
        assert httpx.get(s.url + "/v1/status", headers=s.headers()).status_code == 200
        assert httpx.get(s.url + "/v1/health").status_code == 200  # liveness stays open
        with (
            pytest.raises(Exception),  # noqa: B017 - the server closes the handshake
            connect(s.url.replace("http://", "ws://") + "/v1/chat") as ws,
        ):
            ws.recv(timeout=10)
        assert "repolens" in httpx.get(s.url + "/?token=s3cret").text
    finally:
        s.proc.terminate()
        s.proc.wait(10)


def test_binding_beyond_loopback_generates_a_private_token(fixture_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    s = _serve(fixture_repo("python_app"), "--host", "0.0.0.0", env=env)
    try:
        token_file = tmp_path / "config" / "repolens" / "server-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert s.token == token_file.read_text().strip()
        url = f"http://127.0.0.1:{s.port}"
        assert httpx.get(url + "/v1/status").status_code == 401
        assert httpx.get(url + "/v1/status", headers=s.headers()).status_code == 200
    finally:
        s.proc.terminate()
        s.proc.wait(10)


@pytest.mark.e2e
@pytest.mark.model
def test_ask_streams_and_websocket_cancel_stops_generation(served: Served) -> None:
    with httpx.stream(
        "POST",
        served.url + "/v1/ask",
        json={"question": "How are users stored?", "budget": 512},
        timeout=300,
    ) as r:
        events = [json.loads(line) for line in r.iter_lines() if line]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "context" and kinds[-1] == "done" and "token" in kinds, kinds
    assert any(s["path"] == "app/models/repository.py" for s in events[0]["snippets"])

    ws_url = served.url.replace("http://", "ws://") + "/v1/chat"
    with connect(ws_url) as ws:
        ws.send(
            json.dumps(
                {"type": "ask", "id": 7, "question": "Explain every file in detail.", "budget": 512}
            )
        )
        while True:
            event = json.loads(ws.recv(timeout=300))
            if event["type"] == "token":
                break
        started = time.time()
        ws.send(json.dumps({"type": "cancel", "id": 7}))
        while True:
            event = json.loads(ws.recv(timeout=30))
            if event["type"] in ("cancelled", "done"):
                break
        assert time.time() - started < 5
    # the model is free again: a new question is answered promptly
    r = httpx.post(
        served.url + "/v1/context", json={"file": "main.py", "line": 1, "column": 1}, timeout=30
    )
    assert r.status_code == 200


@pytest.mark.e2e
@pytest.mark.model
def test_chat_page_in_headless_chromium(served: Served, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or os.environ.get("CHROMIUM")
    require_tool(chromium is not None, "chromium (Debian package)")
    require_tool((BROWSER / "node_modules" / "playwright-core").is_dir(), "npm ci in tests/browser")
    shots = Path(os.environ.get("REPOLENS_ARTIFACTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            "node",
            str(BROWSER / "chat_page.mjs"),
            served.url + "/",
            "How does the app store users?",
            str(shots),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CHROMIUM": chromium or ""},
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "pageError" not in report, report
    assert report["state"] == "done" and report["answer"].strip()
    assert report["citations"], report
    path, line = report["citations"][0].rsplit(":", 1)
    assert report["viewerTitle"] == f"{path}:{line}"
    assert report["highlighted"]["line"] == int(line)
    assert (shots / "chat-citation.png").stat().st_size > 10_000


@pytest.mark.model
def test_serve_stays_up_when_its_model_process_dies(
    fixture_repo,
    private_model_processes: Path,  # type: ignore[no-untyped-def]
) -> None:
    env = dict(os.environ, REPOLENS__MODEL__CONTEXT_WINDOW="1024", REPOLENS__MODEL__THREADS="1")
    s = _serve(fixture_repo("python_app"), env=env)
    try:
        model = ProcessModel(ModelSettings(context_window=1024, threads=1))  # serve's model
        wait_ready(model)
        body = {"file": "register.py", "line": 7, "column": 10, "budget": 600, "max_tokens": 8}
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(httpx.post, s.url + "/v1/complete", json=body, timeout=120)
            os.kill(wait_generating(model), signal.SIGSEGV)
            r = pending.result()
        assert r.status_code == 503 and "died with SIGSEGV" in r.json()["detail"]
        # serve is up, and serves what needs no model at once
        t0 = time.monotonic()
        assert httpx.get(s.url + "/v1/status", timeout=10).status_code == 200
        ctx = httpx.post(s.url + "/v1/context", json=body, timeout=30).json()
        assert ctx["prefix"].endswith("repo.")
        assert time.monotonic() - t0 < 5
        # and the next completion comes from the restarted model process
        r = httpx.post(s.url + "/v1/complete", json=body, timeout=120)
        assert r.status_code == 200, r.text
        assert s.proc.poll() is None
    finally:
        s.proc.terminate()
        s.proc.wait(10)

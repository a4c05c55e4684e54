"""The application layer on real indexes: citations checked against the index, completion
gating and the model's circuit breaker (a real closed port), the one indexing driver, and the
HTTP front door's translation of completion outcomes (in process, through the real ASGI app
and its security guard)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from repolens.app import (
    CompletionRequest,
    IndexProgress,
    Services,
    cite,
)
from repolens.backends.base import ModelUnavailable
from repolens.http import create_app
from repolens.settings import Settings, load_settings
from repolens.workspace import Workspace


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _services(root: Path, **overrides: object) -> Services:
    settings, _ = load_settings(root, dict(overrides))
    return Services(Workspace(root, settings))


@pytest.fixture
def python_app(fixture_repo: Callable[[str], Path]) -> Path:
    return fixture_repo("python_app")


def test_citations_are_checked_against_the_index(python_app: Path) -> None:
    ws = Workspace(python_app, Settings())
    ws.index.update(workers=1)
    lines = (python_app / "app/util.py").read_text().count("\n") + 1
    answer = (
        "See app/util.py:3 and ./app/util.py:3 (the same), the range app/util.py:2-4, "
        f"app/util.py:{lines + 5} (past the end), nowhere/made_up.py:10, and "
        "https://example.com/x.py:80 is no citation."
    )
    got = [(c.path, c.start_line, c.end_line, c.indexed) for c in cite(answer, ws.index)]
    assert got == [
        ("app/util.py", 3, 3, True),
        ("app/util.py", 2, 4, True),
        ("app/util.py", lines + 5, lines + 5, False),
        ("nowhere/made_up.py", 10, 10, False),
    ]
    assert cite(answer, ws.index)[0].as_json() == {
        "path": "app/util.py",
        "start_line": 3,
        "end_line": 3,
        "indexed": True,
    }
    ws.close()


def test_completion_gating_says_why_and_never_builds_the_engine(python_app: Path) -> None:
    def no_engine() -> None:
        raise AssertionError("gated requests must not load the model")

    services = _services(python_app, completion={"disabled_languages": ["python"]})
    services._completion_engine = no_engine  # type: ignore[assignment,method-assign]
    service = services.completions
    service._engine = no_engine  # type: ignore[assignment]
    out = asyncio.run(service.suggest(CompletionRequest("register.py", 1, 1)))
    assert out.result is None and out.skipped and "disabled_languages" in out.skipped
    assert service.refusal("README.md") == "README.md: not a language repolens completes " + (
        "(by its extension)"
    )
    big = "let x = 1;\n" * 1_000_000
    assert "max_file_bytes" in (service.refusal("big.js", len(big)) or "")
    assert service.refusal("small.js", 100) is None
    assert "secret file" in (service.refusal("deploy/secrets.js") or "")
    services.reconfigure(load_settings(python_app, {"completion": {"enabled": False}})[0])
    assert service.refusal("main.py") == "completion is turned off (completion.enabled)"


def test_a_model_that_is_down_pauses_completion_instead_of_a_retry_per_request(
    python_app: Path,
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    services = _services(python_app, model={"backend": "openai", "url": url})
    services.indexing.run(workers=1)
    service = services.completions
    request = CompletionRequest("register.py", 7, 10)
    first = asyncio.run(service.suggest(request))
    assert isinstance(first.error, ModelUnavailable) and first.outage_started
    assert first.retry_after and 0 < first.retry_after <= 10
    attempts: list[int] = []
    real = services._completion_engine

    def counted():  # type: ignore[no-untyped-def]
        attempts.append(1)
        return real()

    service._engine = counted
    second = asyncio.run(service.suggest(request))
    assert second.result is None and second.error is None and not attempts
    assert second.skipped and second.skipped.startswith("the model is unavailable")
    service.health.retry_at = 0.0  # the pause is over: the next request tries again
    third = asyncio.run(service.suggest(request))
    assert attempts and isinstance(third.error, ModelUnavailable) and not third.outage_started
    services.close()


def test_the_indexing_driver_reports_progress_state_and_changes(python_app: Path) -> None:
    changed: list[int] = []
    services = _services(python_app)
    services.indexing._changed = lambda: changed.append(1)
    events: list[IndexProgress] = []
    summary = services.indexing.run(workers=1, progress=events.append)
    state = services.indexing.state
    assert summary.files == 11 and state.indexed and not state.running and state.error is None
    assert state.summary is not None and state.summary["files"] == 11
    assert events and events[-1].done == events[-1].total == state.total
    assert [e.done for e in events] == sorted(e.done for e in events)
    assert changed == [1]
    # a save that changes nothing tells nobody; one that changes a file does
    services.indexing.update_paths({"app/util.py"})
    assert changed == [1]
    (python_app / "app/util.py").write_text("def fresh():\n    return 1\n")
    services.indexing.update_paths({"app/util.py"})
    assert changed == [1, 1]
    services.close()


def test_the_indexing_driver_keeps_the_error_for_status(
    python_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = _services(python_app)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(services.workspace.index, "update", broken)
    with pytest.raises(OSError):
        services.indexing.run(workers=1)
    state = services.indexing.state
    assert state.error == "[Errno 28] No space left on device"
    assert not state.running and not state.indexed and state.finished_at
    services.close()


def _client(services: Services) -> TestClient:
    # the guard refuses a Host that is not loopback: talk to it as a local client does
    return TestClient(create_app(services), base_url="http://127.0.0.1:8765")


def test_http_complete_is_gated_and_maps_a_down_model_to_503_with_retry_after(
    python_app: Path,
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    services = _services(
        python_app,
        model={"backend": "openai", "url": url},
        completion={"disabled_languages": ["go"]},
    )
    (python_app / "tool.go").write_text("package main\n\nfunc main() {\n}\n")
    body = {"file": "register.py", "line": 7, "column": 10}
    with _client(services) as client:
        gated = client.post("/v1/complete", json={**body, "file": "tool.go", "line": 3})
        assert gated.status_code == 409 and "disabled_languages" in gated.json()["detail"]
        down = client.post("/v1/complete", json=body)
        assert down.status_code == 503 and down.headers.get("retry-after")
        paused = client.post("/v1/complete", json=body)
        assert paused.status_code == 503 and "unavailable" in paused.json()["detail"]
        assert int(paused.headers["retry-after"]) >= 1
    services.close()


def test_http_complete_passes_max_tokens_to_the_model(python_app: Path) -> None:
    from tests.lsp.fake_model import FakeModelServer

    with FakeModelServer(tokens=3, piece="x") as fake:
        services = _services(python_app, model={"backend": "openai", "url": fake.url})
        body = {"file": "register.py", "line": 7, "column": 10}
        with _client(services) as client:
            plain = client.post("/v1/complete", json=body)
            assert plain.status_code == 200, plain.text
            # another position (no cached answer), with a shorter answer asked for
            short = client.post("/v1/complete", json={**body, "column": 9, "max_tokens": 5})
            assert short.status_code == 200, short.text
        sent = [r for r in fake.requests if "prompt" in r]
        assert [r["max_tokens"] for r in sent][-2:] in ([64, 5], [48, 5])
        services.close()


def test_status_never_says_indexed_next_to_the_counts_of_an_unfinished_index(
    python_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race CI once lost: a status read the file counts, indexing finished, and then the
    status read the state: "indexed" with 0 files. Here indexing is made to finish exactly
    between the two reads."""
    import threading

    services = _services(python_app)
    ws, indexing = services.workspace, services.indexing
    counted = threading.Event()
    real_status, real_run = ws.status, indexing.run

    def status_then_wait() -> dict[str, object]:
        out = real_status()  # the counts, read before the index is built
        counted.set()
        for _ in range(600):  # then indexing finishes before this status goes on
            if indexing.state.indexed:
                break
            threading.Event().wait(0.1)
        return out

    def run_after_the_count(**kwargs: object) -> object:
        counted.wait(60)
        return real_run(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ws, "status", status_then_wait)
    monkeypatch.setattr(indexing, "run", run_after_the_count)
    from repolens.http import ServerConfig
    from repolens.http.lanes import LaneLimits

    config = ServerConfig(limits=LaneLimits(status_wait_s=120))  # the whole status, not a part
    app = create_app(services, config)
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        racing = client.get("/v1/status").json()
        assert racing["index"]["files"] == 0
        assert racing["indexing"]["indexed"] is False  # it said True on the code CI failed on
        monkeypatch.setattr(ws, "status", real_status)
        later = client.get("/v1/status").json()
        assert later["indexing"]["indexed"] is True and later["index"]["files"] >= 8
    services.close()

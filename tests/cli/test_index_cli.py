"""`repolens index` and `repolens symbols` run as real processes on a fixture repository."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import repolens_cli

REPOLENS = repolens_cli()


def run(
    *args: str, cwd: Path | None = None, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*REPOLENS, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ) if env is None else env,
        timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_index_json_contract(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    repo = fixture_repo("python_app")
    out = json.loads(run("index", str(repo), "--json").stdout)
    assert set(out) == {"files", "skipped", "symbols", "chunks", "files_changed", "seconds"}
    assert out["files"] == 11 and out["files_changed"] == 11 and out["skipped"] == 0
    assert out["symbols"] > 15 and out["chunks"] > 10
    assert isinstance(out["seconds"], float) and out["seconds"] > 0
    again = json.loads(run("index", str(repo), "--json").stdout)
    assert again["files_changed"] == 0


def test_index_summary_line_when_not_a_terminal(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    repo = fixture_repo("python_app")
    (repo / "blob.py").write_bytes(b"\0" * 64)
    proc = run("index", "--show-skipped", cwd=repo)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"indexed {repo}: 11 files, 1 skipped (1 binary file;")
    assert "skipped blob.py: binary file" in proc.stderr


def test_index_of_a_subdirectory_indexes_the_work_tree(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    repo = fixture_repo("python_app")
    out = json.loads(run("index", str(repo / "app" / "models"), "--json").stdout)
    assert out["files"] == 11


def test_index_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    proc = run("index", str(tmp_path / "nope"), check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"repolens: {tmp_path / 'nope'}: no such directory"
    assert "Traceback" not in proc.stderr


def test_symbols_fuzzy(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    repo = fixture_repo("python_app")
    hits = json.loads(run("symbols", "usrRepo", "--repo", str(repo), "--json").stdout)
    assert hits[0]["name"] == "UserRepository"
    assert hits[0]["path"] == "app/models/repository.py" and hits[0]["line"] == 6
    text = run("symbols", "get_by_email", "--repo", str(repo)).stdout
    assert text.splitlines()[0].startswith("app/models/repository.py:15  method")


def test_bad_setting_names_the_key_and_file(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    repo = fixture_repo("python_app")
    (repo / ".repolens.toml").write_text("[index]\nmax_file_bytes = 'lots'\n")
    proc = run("index", str(repo), check=False)
    assert proc.returncode == 1
    assert "index.max_file_bytes" in proc.stderr and ".repolens.toml" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_doctor_reports_checks_and_fixes(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    repo = fixture_repo("python_app")
    proc = run("doctor", "--repo", str(repo), "--no-model", "--json", check=False)
    report = json.loads(proc.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["grammars"]["ok"] and "python" in checks["grammars"]["detail"]
    assert checks["sqlite"]["ok"] and checks["git"]["ok"]
    assert not checks["index"]["ok"] and checks["index"]["fix"] == f"repolens index {repo}"
    assert proc.returncode == 0  # a missing index is a note, not a failure
    run("index", str(repo))
    report = json.loads(run("doctor", "--repo", str(repo), "--no-model", "--json").stdout)
    assert {c["name"]: c["ok"] for c in report["checks"]}["index"] is True


def test_doctor_fails_when_the_model_server_is_down(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    import socket

    repo = fixture_repo("python_app")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    env = {
        **os.environ,
        "REPOLENS_MODEL_BACKEND": "openai",
        "REPOLENS_MODEL_URL": f"http://127.0.0.1:{port}/v1",
    }
    proc = subprocess.run(
        [*REPOLENS, "doctor", "--repo", str(repo)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "[FAIL] model" in proc.stdout and "fix:" in proc.stdout


def test_doctor_checks_the_template_against_the_model_name(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    # the model is named but not contacted (the server is down): the template check still runs
    repo = fixture_repo("python_app")
    base = {**os.environ, "REPOLENS_MODEL_BACKEND": "openai"}
    base["REPOLENS_MODEL_URL"] = "http://127.0.0.1:9/v1"

    def template(model: str, template: str = "auto") -> dict:  # type: ignore[type-arg]
        env = {**base, "REPOLENS_MODEL": model, "REPOLENS__MODEL__TEMPLATE": template}
        proc = subprocess.run(
            [*REPOLENS, "doctor", "--repo", str(repo), "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
        return checks["template"]  # type: ignore[no-any-return]

    coder = template("Qwen2.5-Coder-7B")
    assert coder["ok"] and coder["detail"].startswith("qwen2.5-coder")
    chat = template("Meta-Llama-3-8B-Instruct")
    assert not chat["ok"] and "fill-in-the-middle" in chat["detail"] and chat["fix"]
    forced = template("my-finetune", "starcoder2")
    assert forced["ok"] and forced["detail"].startswith("starcoder2")

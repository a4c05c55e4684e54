"""`repolens eval` as a real process with the real FIM code model (Qwen2.5-Coder-0.5B) on a
fixture repository: a few short tasks, every mode, the JSON contract, and the same answers on a
second run (greedy, seeded)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.test_index_cli import run

pytestmark = [pytest.mark.e2e, pytest.mark.model]


def test_eval_json_on_the_fixture(fixture_repo: Callable[[str], Path], fim_model: Path) -> None:
    repo = fixture_repo("python_app")
    env = {**os.environ, "REPOLENS_GGUF": str(fim_model)}
    args = ["eval", "--repo", str(repo), "--n", "3", "--budget", "192", "--json"]
    out = json.loads(run(*args, env=env).stdout)
    assert out["template"] == "qwen2.5-coder" and out["model"] == fim_model.name
    assert out["tasks"] == 3 and out["modes"] == ["none", "bm25", "repolens"]
    assert len(out["results"]) == 9
    overall = out["summary"]["all"]
    assert set(overall) == {"none", "bm25", "repolens"}
    for mode in overall.values():
        assert mode["n"] == 3 and 0 <= mode["exact"] <= 1 and mode["latency_p50_ms"] > 0
    # the context modes add text to the prompt; the none mode has only the current file
    assert overall["repolens"]["prompt_tokens"] > overall["none"]["prompt_tokens"]
    # repolens against each other mode on the same tasks, with the paired standard error
    paired = out["differences"]["all"]
    assert set(paired) == {"repolens-none", "repolens-bm25"}
    for key, d in paired.items():
        other = overall[key.split("-")[1]]
        assert d["n"] == 3 and d["exact_se"] >= 0
        assert abs(d["exact"] - (overall["repolens"]["exact"] - other["exact"])) < 1e-3
    assert out["estimate_s"] > 0
    assert isinstance(out["threads"], int) and out["threads"] >= 1
    modes = "none,repolens,hybrid"
    proc = run(*args[:-1], "--modes", modes, "--threads", "2", "--json", env=env)
    again = json.loads(proc.stdout)
    # the local model process is shared: one already running keeps its threads, and eval
    # says so instead of claiming the ones asked for
    if again["threads"] != 2:
        assert f"already running uses {again['threads']} thread" in proc.stderr
    for mode in ("none", "repolens"):  # the same prompts and answers (the counts saved by
        # the first run do not move the second one's windows)
        first = [(r["completion"], r["context_chars"]) for r in out["results"] if r["mode"] == mode]
        second = [
            (r["completion"], r["context_chars"]) for r in again["results"] if r["mode"] == mode
        ]
        assert second == first, mode
    # hybrid: repolens's definitions topped up with BM25 chunks, within repolens's characters
    # (of the same run: the second one starts with the first one's token counts)
    ours = {r["task"]: r["context_chars"] for r in again["results"] if r["mode"] == "repolens"}
    for r in again["results"]:
        if r["mode"] == "hybrid":
            assert r["context_chars"] <= ours[r["task"]]


def test_eval_refuses_unknown_modes(fixture_repo: Callable[[str], Path]) -> None:
    repo = fixture_repo("python_app")
    proc = run("eval", "--repo", str(repo), "--modes", "none,magic", check=False)
    assert proc.returncode == 1 and "magic" in proc.stderr and "Traceback" not in proc.stderr

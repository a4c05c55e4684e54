"""The catalog's verified path with the real file: Qwen2.5-Coder-0.5B (the one GGUF whose hash
repolens checked itself, 491 MB) served by the fake hub under its catalog entry, pulled by name,
verified against the catalog's SHA-256 and made the completion model. Skipped when
``../shared/tools/fim-model`` has not put the file on this machine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from repolens.modelstore import find_entry
from tests.models.fakehub import HubFile


def _fim_model() -> Path:
    base = Path(os.environ.get("REPOLENS_TEST_MODELS", Path.home() / ".cache/repolens-test-models"))
    path = base / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    if not path.is_file() or path.stat().st_size != 491_400_064:
        pytest.skip(f"{path} is not there (../shared/tools/fim-model fetches it)")
    return path


def test_pull_qwen_0_5b_by_name_verified_by_repolens(cli, hub) -> None:  # type: ignore[no-untyped-def]
    entry = find_entry("qwen2.5-coder-0.5b")
    assert entry is not None and entry.sha256
    hub.add(entry.repo, entry.file, HubFile(_fim_model(), sha256=entry.sha256))
    out = cli.run("model", "pull", "qwen2.5-coder-0.5b").stdout
    assert f"SHA-256 {entry.sha256} verified against repolens's catalog" in out
    assert "completion now uses qwen2.5-coder-0.5b (template qwen2.5-coder)" in out
    listed = cli.json("model", "list")
    assert listed["models"][0]["verified"] is True and listed["models"][0]["catalog"] is True
    assert listed["completion"]["path"].endswith(f"/{entry.file}")
    assert listed["completion"]["can_infill"] is True

"""The record of pulled models: where it lives, atomic writes, an unreadable record, and
removing a file from huggingface_hub's cache layout."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from repolens.modelstore import (
    COMPLETION,
    PulledModel,
    RecordError,
    completion_model,
    load_record,
    record_path,
    remove_from_cache,
    update_record,
)


def _model(path: Path, name: str = "m", size: int = 3) -> PulledModel:
    return PulledModel(
        name=name,
        repo="o/r",
        file=path.name,
        revision="main",
        commit="c" * 40,
        path=str(path),
        size=size,
        sha256="0" * 64,
        pinned_by="user",
        template="qwen2.5-coder",
        pulled_at="2026-01-01T00:00:00+00:00",
    )


def test_the_record_lives_in_the_user_config_dir(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert record_path() == tmp_path / "cfg" / "repolens" / "models.json"


def test_update_writes_atomically_and_reads_back(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    gguf = tmp_path / "a.gguf"
    gguf.write_bytes(b"abc")
    with update_record() as record:
        record.models["m"] = _model(gguf)
        record.roles[COMPLETION] = "m"
    assert json.loads(record_path().read_text())["roles"] == {"completion": "m"}
    assert [p.name for p in record_path().parent.iterdir() if p.name.startswith(".models-")] == []
    model, problem = completion_model()
    assert model is not None and model.name == "m" and problem is None

    with pytest.raises(RuntimeError), update_record() as record:
        record.roles.clear()
        raise RuntimeError("caller failed")
    assert load_record().roles == {"completion": "m"}  # nothing written on failure


def test_an_unreadable_record_is_reported_then_moved_aside(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    record_path().parent.mkdir(parents=True)
    record_path().write_text("{not json")
    with pytest.raises(RecordError):
        load_record()
    model, problem = completion_model()
    assert model is None and problem is not None and "not valid JSON" in problem
    with update_record() as record:
        assert record.models == {}
    assert record_path().with_name("models.json.unreadable").read_text() == "{not json"
    assert load_record().models == {}


def test_a_role_pointing_at_an_unknown_model_is_dropped(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    record_path().parent.mkdir(parents=True)
    record_path().write_text(json.dumps({"version": 1, "roles": {"completion": "x"}}))
    assert load_record().role(COMPLETION) is None


def test_problem_checks_presence_and_size(tmp_path) -> None:  # type: ignore[no-untyped-def]
    gguf = tmp_path / "a.gguf"
    assert "is missing" in (_model(gguf).problem() or "")
    gguf.write_bytes(b"abcd")
    assert "has 4 bytes, not the 3" in (_model(gguf).problem() or "")
    assert _model(gguf, size=4).problem() is None


def _hub_layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    repo = tmp_path / "models--o--r"
    blob = repo / "blobs" / ("a" * 64)
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"data")
    links = []
    for commit in ("c1", "c2"):
        link = repo / "snapshots" / commit / "m.gguf"
        link.parent.mkdir(parents=True)
        os.symlink(os.path.relpath(blob, link.parent), link)
        links.append(link)
    return blob, links[0], links[1]


def test_remove_from_cache_keeps_a_blob_another_snapshot_links_to(tmp_path) -> None:  # type: ignore[no-untyped-def]
    blob, first, second = _hub_layout(tmp_path)
    stray = blob.with_name(blob.name + ".1234abcd.incomplete")
    stray.write_bytes(b"da")
    assert remove_from_cache(first) == [first]
    assert blob.exists() and stray.exists()
    assert remove_from_cache(second) == [second, blob, stray]
    assert not blob.exists() and not stray.exists()

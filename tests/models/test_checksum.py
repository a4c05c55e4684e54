"""A file that is not the pinned one is never used: refused before the download when the hub
already says so, removed from the cache (snapshot link and blob) when the bytes say so."""

from __future__ import annotations

import hashlib

from tests.models.fakehub import HubFile

QWEN_15B = ("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
CATALOG_15B_SHA = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


def test_the_hub_reporting_another_hash_than_the_catalog_stops_before_downloading(
    cli, hub, body
) -> None:  # type: ignore[no-untyped-def]
    served = hub.add(*QWEN_15B, HubFile(body(100_000), size=1_117_320_768))
    proc = cli.run("model", "pull", "qwen2.5-coder-1.5b", check=False)
    assert proc.returncode == 1
    assert f"the hub reports SHA-256 {served.sha256}" in proc.stderr
    assert f"not {CATALOG_15B_SHA} (repolens's catalog)" in proc.stderr
    assert "Nothing was downloaded" in proc.stderr
    assert not [r for r in hub.requests if r.server == "cdn"]
    assert not cli.record.exists()


def test_a_corrupt_transfer_is_removed_and_reported_with_both_hashes(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    good = body(200_000)
    bad = good[:100_000] + bytes(100_000)  # same size: only the hash can tell
    sha = hashlib.sha256(good).hexdigest()
    hub.add("someone/Coder-GGUF", "qwen2.5-coder-x.gguf", HubFile(bad, sha256=sha))
    proc = cli.run(
        "model", "pull", "someone/Coder-GGUF", "qwen2.5-coder-x.gguf", "--sha256", sha, check=False
    )
    assert proc.returncode == 1
    assert "SHA-256 mismatch for someone/Coder-GGUF/qwen2.5-coder-x.gguf" in proc.stderr
    assert f"expected {sha} (your --sha256)" in proc.stderr
    assert f"got      {hashlib.sha256(bad).hexdigest()}" in proc.stderr
    assert "removed from the Hugging Face cache" in proc.stderr
    assert (
        "run `repolens model pull someone/Coder-GGUF qwen2.5-coder-x.gguf --sha256" in proc.stderr
    )
    assert proc.stdout == ""
    assert cli.blobs() == []  # the blob is gone ...
    assert not [p for p in cli.hf_cache.rglob("snapshots/*/*")]  # ... and so is its link
    assert not cli.record.exists()
    assert cli.json("model", "list")["completion"]["source"] == "bundled"


def test_a_hub_pinned_file_that_does_not_match_the_hub_s_report_is_removed(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    hub.add(
        "zai-org/codegeex4-all-9b-GGUF",
        "codegeex4-all-9b-Q4_K_M.gguf",
        HubFile(body(50_000), sha256="ab" * 32),
    )
    proc = cli.run("model", "pull", "codegeex4-9b", check=False)
    assert proc.returncode == 1
    assert f"expected {'ab' * 32} (the hub's report)" in proc.stderr
    assert cli.blobs() == [] and not cli.record.exists()


def test_a_failed_pull_keeps_the_previous_completion_model(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    first = body(40_000, seed=1)
    hub.add("someone/A-GGUF", "qwen2.5-coder-a.gguf", HubFile(first))
    cli.run("model", "pull", "someone/A-GGUF", "qwen2.5-coder-a.gguf")
    hub.add("someone/B-GGUF", "qwen2.5-coder-b.gguf", HubFile(body(40_000, 2), sha256="cd" * 32))
    proc = cli.run("model", "pull", "someone/B-GGUF", "qwen2.5-coder-b.gguf", check=False)
    assert proc.returncode == 1
    listed = cli.json("model", "list")
    assert [m["name"] for m in listed["models"]] == ["qwen2.5-coder-a"]
    assert listed["completion"]["name"] == "qwen2.5-coder-a"
    assert len(cli.blobs()) == 1  # the good file stays, the bad one is gone


def test_the_hub_s_hash_at_the_first_pull_pins_the_file_from_then_on(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    key = ("zai-org/codegeex4-all-9b-GGUF", "codegeex4-all-9b-Q4_K_M.gguf")
    first = hub.add(*key, HubFile(body(30_000, seed=1)))
    cli.run("model", "pull", "codegeex4-9b")
    updated = hub.add(*key, HubFile(body(30_000, seed=2)))  # the repository moved on
    gets = len([r for r in hub.requests if r.server == "cdn"])
    proc = cli.run("model", "pull", "codegeex4-9b", check=False)
    assert proc.returncode == 1
    assert f"the hub reports SHA-256 {updated.sha256}" in proc.stderr
    assert f"not {first.sha256} (the hub's hash, recorded when you first pulled it)" in proc.stderr
    assert "`repolens model rm codegeex4-9b`, then pull it again" in proc.stderr
    assert len([r for r in hub.requests if r.server == "cdn"]) == gets  # nothing downloaded
    assert cli.json("model", "list")["models"][0]["sha256"] == first.sha256
    cli.run("model", "rm", "codegeex4-9b")
    cli.run("model", "pull", "codegeex4-9b")
    assert cli.json("model", "list")["models"][0]["sha256"] == updated.sha256

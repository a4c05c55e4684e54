"""`repolens model pull` against the fake hub: by catalog name, by repository and file, again
when it is already there; what it says about whose hash pinned the file."""

from __future__ import annotations

import hashlib
import json

from tests.models.fakehub import COMMIT, HubFile

CODEGEEX = ("zai-org/codegeex4-all-9b-GGUF", "codegeex4-all-9b-Q4_K_M.gguf")


def test_pull_a_hub_pinned_catalog_entry(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    data = body(300_000)
    hub.add(*CODEGEEX, HubFile(data))
    proc = cli.run("model", "pull", "codegeex4-9b")
    out = proc.stdout
    assert out.startswith("pulled codegeex4-9b: 300.0 KB at ")
    assert "pinned by the hub's hash, not by repolens's" in out
    assert "not a verification by repolens" in out
    assert "verified" not in out.replace("not a verification", "")
    assert "completion now uses codegeex4-9b (template codegeex4)" in out
    assert "repolens has no SHA-256 of its own" in proc.stderr
    record = json.loads(cli.record.read_text())
    model = record["models"]["codegeex4-9b"]
    assert record["roles"] == {"completion": "codegeex4-9b"}
    assert model["sha256"] == hashlib.sha256(data).hexdigest() and model["size"] == 300_000
    assert model["pinned_by"] == "hub" and model["commit"] == COMMIT
    assert model["path"].endswith(f"snapshots/{COMMIT}/codegeex4-all-9b-Q4_K_M.gguf")
    with open(model["path"], "rb") as fh:
        assert fh.read() == data


def test_json_output_is_the_only_thing_on_stdout(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    hub.add(*CODEGEEX, HubFile(body(200_000)))
    proc = cli.run("model", "pull", "codegeex4-9b", "--json")
    out = json.loads(proc.stdout)  # one JSON object, nothing else
    assert out["verified"] is False and out["roles"] == ["completion"]
    assert out["model"]["pinned_by"] == "hub"
    assert out["completion"]["source"] == "pulled" and out["completion"]["can_infill"] is True
    assert "downloading" in proc.stderr and "checking the SHA-256" in proc.stderr


def test_pull_a_repository_file_with_the_user_s_hash(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    data = body(250_000)
    sha = hashlib.sha256(data).hexdigest()
    hub.add("someone/StarCoder2-3B-GGUF", "starcoder2-3b-Q4_K_M.gguf", HubFile(data))
    out = cli.json(
        "model", "pull", "someone/StarCoder2-3B-GGUF", "starcoder2-3b-Q4_K_M.gguf", "--sha256", sha
    )
    assert out["verified"] is True
    model = out["model"]
    assert (model["name"], model["pinned_by"], model["template"]) == (
        "starcoder2-3b-Q4_K_M",
        "user",
        "starcoder2",
    )
    listed = cli.json("model", "list")
    assert [m["name"] for m in listed["models"]] == ["starcoder2-3b-Q4_K_M"]
    assert listed["models"][0]["verified"] is True and listed["models"][0]["present"] is True
    text = cli.run("model", "list").stdout
    assert "starcoder2-3b-Q4_K_M" in text and "250.0 KB" in text and "user" in text


def test_a_repository_file_that_is_in_the_catalog_is_pulled_as_that_entry(cli, hub) -> None:  # type: ignore[no-untyped-def]
    # nothing is served: the refusal must come from the catalog's pin, before any download
    proc = cli.run(
        "model",
        "pull",
        "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "--sha256",
        "0" * 64,
        check=False,
    )
    assert proc.returncode == 1
    assert "is the catalog's qwen2.5-coder-0.5b" in proc.stderr
    assert hub.requests == []


def test_pulling_again_checks_the_cached_file_without_downloading(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    hub.add(*CODEGEEX, HubFile(body(100_000)))
    cli.run("model", "pull", "codegeex4-9b")
    gets = [r for r in hub.requests if r.server == "cdn"]
    cli.run("model", "pull", "codegeex4-9b")
    assert [r for r in hub.requests if r.server == "cdn"] == gets  # no second download
    assert hub.requests[-1].method == "HEAD"  # but it asked the hub what the file should be


def test_a_non_fim_file_is_pulled_but_not_made_the_completion_model(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    data = body(50_000)
    hub.add("someone/chat-GGUF", "tinyllama-chat-q4.gguf", HubFile(data))
    out = cli.run("model", "pull", "someone/chat-GGUF", "tinyllama-chat-q4.gguf").stdout
    assert "not made the completion model" in out
    listed = cli.json("model", "list")
    assert listed["models"][0]["roles"] == [] and listed["models"][0]["can_infill"] is False
    assert listed["completion"]["source"] == "bundled"


def test_bad_arguments_are_clear(cli) -> None:  # type: ignore[no-untyped-def]
    proc = cli.run("model", "pull", "qwen9-coder", check=False)
    assert proc.returncode == 1 and "no model called 'qwen9-coder'" in proc.stderr
    assert "qwen2.5-coder-1.5b" in proc.stderr  # lists what is known
    proc = cli.run("model", "pull", "owner/repo", check=False)
    assert proc.returncode == 1 and "give the file too" in proc.stderr
    proc = cli.run("model", "pull", "owner/repo", "model.bin", check=False)
    assert proc.returncode == 1 and "not a .gguf file" in proc.stderr
    proc = cli.run("model", "pull", "owner/repo", "x.gguf", "--sha256", "abc", check=False)
    assert proc.returncode == 1 and "64 hex digits" in proc.stderr
    proc = cli.run("model", "pull", "codegeex4-9b", "--sha256", "a" * 64, check=False)
    assert proc.returncode == 1 and "are for HF_REPO FILE pulls" in proc.stderr


def test_unknown_repository_and_file_are_clear(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    proc = cli.run("model", "pull", "nobody/none-GGUF", "x-coder.gguf", check=False)
    assert proc.returncode == 1 and "there is no repository nobody/none-GGUF" in proc.stderr
    hub.add("someone/repo-GGUF", "a.gguf", HubFile(body(10)))
    proc = cli.run("model", "pull", "someone/repo-GGUF", "b.gguf", check=False)
    assert proc.returncode == 1 and "has no file 'b.gguf'" in proc.stderr


def test_list_catalog_says_what_pins_each_entry(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli.json("model", "list", "--catalog")
    pins = {e["name"]: (e["pinned_by"], e["pin_source"]) for e in out["catalog"]}
    assert pins["qwen2.5-coder-0.5b"] == ("repolens", "checked")
    assert pins["qwen2.5-coder-7b"] == ("repolens", "published")
    assert pins["codegeex4-9b"] == ("hub", "hub")
    text = cli.run("model", "list", "--catalog").stdout
    assert "codegeex4-9b" in text and "hub" in text and "repolens (checked)" in text

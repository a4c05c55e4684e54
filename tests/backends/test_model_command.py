"""``repolens model serve`` (command construction; vLLM cannot run here) and
``repolens model status`` (a down server, the embedded model, the real llama.cpp server)."""

from __future__ import annotations

import json
import shlex
import socket
from pathlib import Path

import pytest

from repolens.cli import main
from repolens.commands import model as model_command
from repolens.commands.model import (
    llama_cpp_server_command,
    vllm_serve_command,
    yarn_rope_scaling,
)

from .conftest import SERVER_N_CTX, LlamaServer


def _flag(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


# ------------------------------------------------------------------ vLLM command


def test_vllm_command_for_a_128k_qwen_coder() -> None:
    cmd = vllm_serve_command("Qwen/Qwen2.5-Coder-7B-Instruct")
    assert cmd[:3] == ["vllm", "serve", "Qwen/Qwen2.5-Coder-7B-Instruct"]
    assert _flag(cmd, "--host") == "127.0.0.1"
    assert _flag(cmd, "--port") == "8000"
    assert _flag(cmd, "--max-model-len") == "131072"
    assert "--enable-prefix-caching" in cmd
    assert "--rope-scaling" not in cmd  # removed in vLLM 0.11.1; --hf-overrides replaces it
    assert json.loads(_flag(cmd, "--hf-overrides")) == {
        "rope_scaling": {
            "rope_type": "yarn",
            "factor": 4.0,
            "original_max_position_embeddings": 32768,
        }
    }
    assert "--tensor-parallel-size" not in cmd


def test_vllm_rope_parameters_spelling_and_tensor_parallel() -> None:
    cmd = vllm_serve_command(
        "Qwen/Qwen2.5-Coder-32B-Instruct", tensor_parallel_size=4, rope_key="rope_parameters"
    )
    overrides = json.loads(_flag(cmd, "--hf-overrides"))
    assert overrides["rope_parameters"]["rope_type"] == "yarn"
    assert overrides["rope_parameters"]["rope_theta"] == 1000000.0
    assert _flag(cmd, "--tensor-parallel-size") == "4"
    with pytest.raises(ValueError):
        vllm_serve_command("x", rope_key="rope-scaling")


def test_yarn_only_where_needed() -> None:
    assert yarn_rope_scaling("Qwen/Qwen2.5-Coder-7B", 32768) is None  # native length
    assert yarn_rope_scaling("Qwen/Qwen2.5-Coder-7B", 65536) == {
        "rope_type": "yarn",
        "factor": 2.0,
        "original_max_position_embeddings": 32768,
    }
    assert yarn_rope_scaling("/models/qwen2_5-coder-1.5b", 131072) is not None
    assert yarn_rope_scaling("THUDM/codegeex4-all-9b", 131072) is None  # 128K natively
    cmd = vllm_serve_command("THUDM/codegeex4-all-9b", trust_remote_code=True)
    assert "--hf-overrides" not in cmd and "--trust-remote-code" in cmd
    assert "--hf-overrides" not in vllm_serve_command("Qwen/Qwen2.5-Coder-7B", yarn=False)


def test_cli_prints_the_vllm_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc = main(
        [
            "model",
            "serve",
            "--engine",
            "vllm",
            "--model",
            "Qwen/Qwen2.5-Coder-14B-Instruct",
            "--tensor-parallel-size",
            "2",
            "--print",
            "--repo",
            str(tmp_path),
        ]
    )
    assert rc == 0
    cmd = shlex.split(capsys.readouterr().out.strip())  # one line, safe to paste in a shell
    assert cmd == vllm_serve_command("Qwen/Qwen2.5-Coder-14B-Instruct", tensor_parallel_size=2)


def test_cli_without_vllm_says_where_to_run_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(model_command.shutil, "which", lambda _name: None)
    rc = main(["model", "serve", "--engine", "vllm", "--repo", str(tmp_path)])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "GPU" in err and "pip install 'repolens[gpu]'" in err
    assert "REPOLENS_MODEL_URL=http://127.0.0.1:8000/v1" in err
    assert shlex.split(out.strip())[:3] == ["vllm", "serve", model_command.VLLM_DEFAULT_MODEL]


# ------------------------------------------------------------------ llama.cpp command


def test_llama_cpp_command(gguf: Path) -> None:
    cmd = llama_cpp_server_command(gguf, port=8123, n_ctx=4096, python="python3")
    assert cmd == [
        "python3",
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        gguf.name,
        "--host",
        "127.0.0.1",
        "--port",
        "8123",
        "--n_ctx",
        "4096",
    ]


def test_cli_prints_the_llama_cpp_command(
    capsys: pytest.CaptureFixture[str], gguf: Path, tmp_path: Path
) -> None:
    rc = main(["model", "serve", "--print", "--repo", str(tmp_path)])
    assert rc == 0
    cmd = shlex.split(capsys.readouterr().out.strip())
    assert cmd[1:4] == ["-m", "llama_cpp.server", "--model"]
    assert _flag(cmd, "--model") == str(gguf)  # the bundled GGUF by default
    assert _flag(cmd, "--host") == "127.0.0.1"
    assert _flag(cmd, "--port") == "8080"
    assert _flag(cmd, "--n_ctx") == "8192"  # SmolLM2's training context, capped at 8192
    rc = main(["model", "serve", "--print", "--n-ctx", "2048", "--repo", str(tmp_path)])
    assert _flag(shlex.split(capsys.readouterr().out.strip()), "--n_ctx") == "2048"


def test_cli_serve_with_a_missing_gguf(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc = main(["model", "serve", "--gguf", str(tmp_path / "x.gguf"), "--repo", str(tmp_path)])
    assert rc == 1
    assert "does not exist" in capsys.readouterr().err


# ------------------------------------------------------------------ status


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_status_of_a_down_server(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    monkeypatch.setenv("REPOLENS_MODEL_BACKEND", "openai")
    monkeypatch.setenv("REPOLENS_MODEL_URL", url)
    assert main(["model", "status", "--repo", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "backend         openai" in out
    assert f"location        {url}" in out
    assert url in err and "repolens model serve" in err
    assert main(["model", "status", "--json", "--repo", str(tmp_path)]) == 1
    status = json.loads(capsys.readouterr().out)
    assert status["answers"] is False and status["location"] == url


def test_status_of_an_openai_backend_without_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REPOLENS_MODEL_BACKEND", "openai")
    assert main(["model", "status", "--repo", str(tmp_path)]) == 1
    assert "REPOLENS_MODEL_URL" in capsys.readouterr().err


@pytest.mark.model
def test_status_of_the_embedded_model(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    gguf: Path,
) -> None:
    monkeypatch.setenv("REPOLENS__MODEL__CONTEXT_WINDOW", str(SERVER_N_CTX))
    assert main(["model", "status", "--json", "--repo", str(tmp_path)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["backend"] == "embedded"
    assert status["answers"] is True
    assert status["location"] == str(gguf)
    assert status["context_window"] == SERVER_N_CTX
    assert status["template"] == "auto"
    assert status["latency_ms"] > 0


@pytest.mark.e2e
def test_status_of_a_running_server(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    llama_server: LlamaServer,
    gguf: Path,
) -> None:
    monkeypatch.setenv("REPOLENS_MODEL_BACKEND", "openai")
    monkeypatch.setenv("REPOLENS_MODEL_URL", llama_server.url)
    monkeypatch.setenv("REPOLENS_API_KEY", llama_server.api_key)
    assert main(["model", "status", "--repo", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"model           {gguf.name}" in out
    assert "tokenizer       llama-cpp-python" in out
    assert "status          answers" in out

"""The pure parts of the model process: the CPU-mode ladder, the probe record, back-off, the
wire format (on a real socket pair), and the load parameters a mode sets in llama.cpp."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from repolens.backends.cpu_modes import LADDER, MODE_NAMES, apply, ladder_from, mode_named
from repolens.backends.model_process.client import _held_failure
from repolens.backends.model_process.probe import (
    ProbeRecord,
    build_fingerprint,
    cpu_fingerprint,
    describe_signal,
    machine_key,
)
from repolens.backends.model_process.runtime import ProcessSpec
from repolens.backends.model_process.supervisor import restart_delay
from repolens.backends.model_process.wire import Channel, WireError, peer_credentials


def test_the_ladder_goes_from_fast_to_minimal() -> None:
    assert MODE_NAMES == ("fast", "safe", "minimal")
    assert [m.extra_bufts for m in LADDER] == [True, False, False]
    assert ladder_from("auto") == LADDER
    assert [m.name for m in ladder_from("safe")] == ["safe", "minimal"]
    with pytest.raises(ValueError, match="unknown CPU mode"):
        mode_named("turbo")


def test_a_mode_sets_llama_cpps_load_parameters_only_while_loading() -> None:
    defaults = SimpleNamespace(use_extra_bufts=True)
    module = SimpleNamespace(llama_model_default_params=lambda: SimpleNamespace(**vars(defaults)))
    llama_cpp = SimpleNamespace(llama_cpp=module)
    original = module.llama_model_default_params
    with apply(mode_named("safe"), llama_cpp) as kwargs:
        assert module.llama_model_default_params().use_extra_bufts is False
        assert kwargs == {"use_mmap": True}
    assert module.llama_model_default_params is original
    with apply(mode_named("minimal"), llama_cpp) as kwargs:
        assert kwargs == {"use_mmap": False, "n_batch": 64, "n_ubatch": 64}
    with apply(mode_named("fast"), llama_cpp):
        assert module.llama_model_default_params().use_extra_bufts is True


def test_back_off_after_the_first_crash() -> None:
    assert [restart_delay(n) for n in range(1, 8)] == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0]


def test_signals_are_named_with_what_they_mean() -> None:
    assert describe_signal(signal.SIGILL) == "SIGILL (illegal instruction)"
    assert describe_signal(signal.SIGSEGV) == "SIGSEGV (segmentation fault)"
    assert "out of memory" in describe_signal(signal.SIGKILL)
    assert describe_signal(200) == "signal 200"


def test_fingerprints_are_stable_and_read_without_llama_cpp() -> None:
    assert build_fingerprint() == build_fingerprint() != "no-llama-cpp"
    assert cpu_fingerprint() == cpu_fingerprint()
    assert machine_key() == f"{build_fingerprint()}-{cpu_fingerprint()}"


def test_the_probe_record_keeps_crashes_per_build_and_cpu(tmp_path: Path) -> None:
    record = ProbeRecord(tmp_path, key="build-a")
    assert record.crashed("fast") is None
    record.record("fast", ok=False, model="m.gguf", phase="warm-up", signal_text="SIGILL (x)")
    record.record("safe", ok=True, model="m.gguf", phase="warm-up")
    record.record("fast", ok=True, model="other.gguf", phase="warm-up")  # does not clear it
    crashed = record.crashed("fast")
    assert crashed is not None and crashed["signal"] == "SIGILL (x)"
    assert ProbeRecord(tmp_path, key="build-b").crashed("fast") is None  # another build or CPU
    record.forget()
    assert record.results() == {}
    (tmp_path / "model-process" / "cpu-modes.json").write_text("{not json")
    assert record.results() == {}  # a broken file is no record, not a crash
    read_only = ProbeRecord(tmp_path / "missing" / "x", key="k")
    (tmp_path / "missing").write_text("a file where a folder should be")
    read_only.record("fast", ok=True, model="m", phase="warm-up")  # best effort, no raise


def test_a_failed_record_holds_only_for_the_same_model_build_and_cpu(tmp_path: Path) -> None:
    spec = ProcessSpec(str(tmp_path / "m.gguf"), 2048, 1, "auto", 300, str(tmp_path))
    record = {"state": "failed", "key": spec.key, "machine": machine_key(), "since": time.time()}
    assert _held_failure(record, spec) is record
    assert _held_failure({**record, "machine": "another-build"}, spec) is None
    assert _held_failure({**record, "key": "another-model"}, spec) is None
    assert _held_failure({**record, "since": time.time() - 7200}, spec) is None
    assert _held_failure({**record, "state": "stopped"}, spec) is None


def test_the_key_is_the_model_file_and_the_context(tmp_path: Path) -> None:
    gguf = tmp_path / "Qwen2.5-Coder-0.5B.gguf"
    gguf.write_bytes(b"GGUF")
    a = ProcessSpec(str(gguf), 2048, 1, "auto", 300, str(tmp_path))
    assert a.key == ProcessSpec(str(gguf), 2048, 4, "safe", 0, "/x").key  # first start wins
    assert a.key != ProcessSpec(str(gguf), 4096, 1, "auto", 300, str(tmp_path)).key
    before = a.key
    assert before.startswith("qwen2-5-coder-0-5b-")
    gguf.write_bytes(b"GGUF, downloaded again")
    assert ProcessSpec(str(gguf), 2048, 1, "auto", 300, str(tmp_path)).key != before


def test_the_wire_frames_json_lines_on_a_real_socket() -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    a, b = Channel(left), Channel(right)
    a.send({"op": "tokenize", "texts": ["naïve\n", "\udcff lone surrogate"]})
    a.send({"op": "ping"})
    right.settimeout(5)
    assert b.recv() == {"op": "tokenize", "texts": ["naïve\n", "\udcff lone surrogate"]}
    assert b.recv() == {"op": "ping"}
    creds = peer_credentials(right)
    assert creds is None or creds[1] == __import__("os").getuid()
    left.sendall(b"c")
    left.sendall(json.dumps([1, 2]).encode() + b"\n")
    with pytest.raises(WireError, match="not a JSON"):
        b.recv()  # "c[1, 2]" is no JSON object line
    left.sendall(b'{"half": ')
    a.close()
    with pytest.raises(WireError, match="in the middle"):
        b.recv()
    b.close()


def test_a_runtime_dir_that_cannot_be_made_says_what_to_set(tmp_path: Path) -> None:
    from repolens.backends import ModelUnavailable
    from repolens.backends.model_process import runtime_dir

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ModelUnavailable, match=r"cannot create.*REPOLENS_RUNTIME_DIR"):
        runtime_dir({"REPOLENS_RUNTIME_DIR": str(blocker / "rt")})
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(ModelUnavailable, match="not a directory"):
        runtime_dir({"REPOLENS_RUNTIME_DIR": str(link)})
    made = runtime_dir({"REPOLENS_RUNTIME_DIR": str(tmp_path / "fresh")})
    assert oct(made.stat().st_mode & 0o777) == "0o700"

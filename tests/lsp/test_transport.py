"""Transports: stdout is reserved for the protocol (stray prints and child processes go to
stderr), and ``repolens lsp --tcp`` listens on loopback only unless told otherwise."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repolens.commands.lsp import parse_address
from repolens.errors import UsageError

from .rawclient import parse_frames

PROTECT = r"""
import os, subprocess, sys
from repolens.lsp.server import protect_stdio

protocol_in, protocol_out = protect_stdio()
print("a stray print")
os.write(1, b"a raw write to fd 1\n")
subprocess.run(["echo", "a child process"], check=True)
body = b'{"jsonrpc": "2.0", "method": "ok"}'
protocol_out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
protocol_out.flush()
print("stdin now reads:", repr(sys.stdin.read()), file=sys.stderr)
print("protocol in:", protocol_in.read(), file=sys.stderr)
"""


def test_protect_stdio_keeps_stdout_for_the_protocol(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROTECT],
        input=b"from the client",
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    assert parse_frames(proc.stdout) == [{"jsonrpc": "2.0", "method": "ok"}]
    err = proc.stderr.decode()
    for stray in ("a stray print", "a raw write to fd 1", "a child process"):
        assert stray in err
    assert "stdin now reads: ''" in err  # fd 0 is /dev/null for everyone else
    assert "protocol in: b'from the client'" in err


def test_parse_address() -> None:
    assert parse_address("9000") == ("127.0.0.1", 9000)
    assert parse_address("localhost:9001") == ("localhost", 9001)
    assert parse_address("[::1]:9002") == ("::1", 9002)
    with pytest.raises(UsageError):
        parse_address("nine")
    with pytest.raises(UsageError):
        parse_address("127.0.0.1:70000")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _frame(obj: object) -> bytes:
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


@pytest.mark.e2e
def test_tcp_on_loopback(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "repolens.cli", "lsp", "--tcp", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        with sock:
            sock.settimeout(30)
            sock.sendall(_frame({"jsonrpc": "2.0", "id": 1, "method": "shutdown"}))
            data = b""
            while b"}" not in data.partition(b"\r\n\r\n")[2]:
                data += sock.recv(4096)
            (response,) = parse_frames(data)
            assert response["error"]["code"] == -32002  # not initialized: but it answered
    finally:
        proc.kill()
        proc.wait()
    assert proc.stdout is not None and proc.stdout.read() == b""


def test_tcp_refuses_a_public_address_without_allow_remote(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "repolens.cli", "lsp", "--tcp", "0.0.0.0:9"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert b"--allow-remote" in proc.stderr

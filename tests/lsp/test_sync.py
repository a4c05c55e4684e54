"""Open buffers are the truth: unsaved edits in one tab are context in another; saves and
watched-file events re-index just those files; positions arrive in UTF-16 code units.

Context is checked through ``repolens.context`` (the same path completion takes), so these
tests need the model only for its tokenizer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from .conftest import (
    command,
    end_of,
    initialize,
    inline,
    items_of,
    open_document,
    status,
    uri,
    wait_indexed,
)
from .fake_model import FakeModelServer

pytestmark = pytest.mark.e2e

PRICING = '''"""Prices."""


def compute_discount(price: float, rate: float) -> float:
    """The price after a discount of rate (0..1)."""
    return price * (1 - rate)
'''


async def _context(client: LanguageClient, doc_uri: str, position: types.Position) -> Any:
    return await command(
        client,
        "repolens.context",
        {"uri": doc_uri, "position": {"line": position.line, "character": position.character}},
    )


def _edit(client: LanguageClient, doc_uri: str, version: int, at: types.Range, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=doc_uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(range=at, text=text)],
        )
    )


async def test_a_function_typed_in_another_unsaved_buffer_is_context(
    client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    root = make_repo("python_app")
    await initialize(client, root)
    await wait_indexed(client)
    # a new module that exists only in an editor tab (never saved)
    pricing = root / "app" / "pricing.py"
    open_document(client, pricing, PRICING)
    # main.py: typed (incrementally, unsaved) to use it
    main = root / "main.py"
    text = main.read_text()
    main_uri = open_document(client, main, text)
    end = end_of(text)
    typed = "\nfrom app.pricing import compute_discount\n\ntotal = compute_discount("
    _edit(client, main_uri, 2, types.Range(end, end), typed)
    after = end_of(text + typed)
    ctx = await _context(client, main_uri, after)
    assert ctx["prefix"].endswith("total = compute_discount(")
    shown = [s for s in ctx["snippets"] if s["path"] == "app/pricing.py"]
    assert shown, [s["path"] for s in ctx["snippets"]]
    assert any("def compute_discount(price: float, rate: float)" in s["text"] for s in shown)
    assert not pricing.exists()  # nothing was written behind the editor's back

    # closing the unsaved tab discards it: the disk (no such file) is the truth again
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri(pricing)))
    )
    await asyncio.sleep(0.3)
    ctx = await _context(client, main_uri, after)
    assert all(s["path"] != "app/pricing.py" for s in ctx["snippets"])


async def test_positions_in_utf16_code_units(
    client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    root = make_repo("python_app")
    await initialize(client, root)  # no positionEncodings offered: UTF-16
    await wait_indexed(client)
    main = root / "main.py"
    text = main.read_text() + '\nlabel = "😋 ok" + welcome(user)\n'
    main_uri = open_document(client, main, text)
    line = len(text.split("\n")) - 2
    # the character after "welcome(": 😋 counts 2 UTF-16 code units
    character = len('label = "😋 ok" + welcome(') + 1
    ctx = await _context(client, main_uri, types.Position(line, character))
    assert ctx["prefix"].endswith('label = "😋 ok" + welcome(')
    assert ctx["column"] == len('label = "😋 ok" + welcome(') + 1  # 1-based characters
    # an incremental edit after the emoji lands where the client meant it
    _edit(
        client,
        main_uri,
        2,
        types.Range(types.Position(line, character), types.Position(line, character + 4)),
        "ada",
    )
    ctx = await _context(client, main_uri, types.Position(line, character + 3))
    assert ctx["prefix"].endswith('label = "😋 ok" + welcome(ada')


async def _symbols(client: LanguageClient) -> int:
    info = await status(client)
    return int(info["folders"][0]["index"]["symbols"])


async def _wait_symbols(client: LanguageClient, expected: int) -> None:
    deadline = time.monotonic() + 30
    while (got := await _symbols(client)) != expected:
        assert time.monotonic() < deadline, f"{got} symbols, expected {expected}"
        await asyncio.sleep(0.1)


async def test_save_and_watched_files_reindex_just_those_files(
    client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    root = make_repo("python_app")
    await initialize(client, root)
    await wait_indexed(client)
    registered = [r.method for r in client.registrations]  # type: ignore[attr-defined]
    assert types.WORKSPACE_DID_CHANGE_WATCHED_FILES in registered
    before = await _symbols(client)

    extra = root / "app" / "extra.py"
    extra.write_text("def one() -> int:\n    return 1\n\n\ndef two() -> int:\n    return 2\n")
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri(extra)))
    )
    await _wait_symbols(client, before + 2)

    extra.unlink()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=uri(extra), type=types.FileChangeType.Deleted)]
        )
    )
    await _wait_symbols(client, before)


async def test_changes_outside_the_workspace_are_ignored(
    client: LanguageClient, make_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    root = make_repo("python_app")
    await initialize(client, root)
    await wait_indexed(client)
    before = await _symbols(client)
    outside = tmp_path / "elsewhere.py"
    outside.write_text("def sneaky():\n    pass\n")
    open_document(client, outside)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri(outside)))
    )
    await asyncio.sleep(0.5)
    assert await _symbols(client) == before


async def test_the_completion_prompt_carries_the_other_unsaved_buffer(
    client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    """The same through inline completion: the prompt the model receives (a scripted model
    server records it) shows the function from the unsaved tab."""
    root = make_repo("python_app")
    with FakeModelServer(tokens=2) as fake:
        options = {
            "model": {"backend": "openai", "url": fake.url},
            "completion": {"debounce_ms": 0},
        }
        await initialize(client, root, options)
        await wait_indexed(client)
        open_document(client, root / "app" / "pricing.py", PRICING)  # never saved
        main = root / "main.py"
        text = (
            main.read_text() + "\nfrom app.pricing import compute_discount\n\nx = compute_discount("
        )
        main_uri = open_document(client, main, text)
        (item,) = items_of(await inline(client, main_uri, end_of(text)))
        assert item.insert_text == "xx"
        prompt = fake.requests[-1]["prompt"]
        assert "def compute_discount(price: float, rate: float) -> float" in prompt
        assert "\nx = compute_discount(" in prompt  # the unsaved text of this buffer

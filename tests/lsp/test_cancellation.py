"""Cancellation and pacing, proved from the model server's side.

The model is a scripted OpenAI-compatible HTTP server (tests/lsp/fake_model.py) streaming one
token every 50 ms: a request it is still answering when the client gives up must show up as a
disconnect there, and debounced keystrokes must not reach it at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

from .conftest import end_of, initialize, items_of, open_document, status, wait_indexed
from .fake_model import FakeModelServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def fake() -> Iterator[FakeModelServer]:
    with FakeModelServer(delay=0.05, tokens=400) as server:
        yield server


def _options(fake: FakeModelServer, **completion: Any) -> dict[str, Any]:
    return {
        "model": {"backend": "openai", "url": fake.url},
        "completion": {"debounce_ms": 0, "max_tokens": 400, **completion},
    }


def _params(doc_uri: str, position: types.Position, invoked: bool) -> types.InlineCompletionParams:
    kind = (
        types.InlineCompletionTriggerKind.Invoked
        if invoked
        else types.InlineCompletionTriggerKind.Automatic
    )
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=doc_uri),
        position=position,
        context=types.InlineCompletionContext(trigger_kind=kind),
    )


def _send(client: LanguageClient, params: Any, msg_id: str) -> asyncio.Future[Any]:
    return asyncio.ensure_future(
        client.protocol.send_request_async(types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id)
    )


async def _until(predicate: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def _setup(
    client: LanguageClient, root: Path, fake: FakeModelServer, **completion: Any
) -> tuple[str, types.Position]:
    await initialize(client, root, _options(fake, **completion))
    await wait_indexed(client)
    main = root / "main.py"
    text = main.read_text() + "\ndef greet(user):\n    "
    return open_document(client, main, text), end_of(text)


async def test_cancel_request_closes_the_model_stream(
    client: LanguageClient, make_repo: Callable[[str], Path], fake: FakeModelServer
) -> None:
    doc_uri, position = await _setup(client, make_repo("python_app"), fake)
    pending = _send(client, _params(doc_uri, position, invoked=True), "slow-1")
    await _until(lambda: len(fake.requests) == 1)  # the model is generating (400 tokens, 20 s)
    await asyncio.sleep(0.2)
    started = time.monotonic()
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="slow-1"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(pending, 5)
    assert time.monotonic() - started < 2
    assert fake.disconnected.wait(5), "the model server kept streaming to nobody"
    assert fake.completed == 0
    # the server is free for the next request at once
    fake.tokens = 3
    result = await asyncio.wait_for(
        _send(client, _params(doc_uri, position, invoked=True), "fast-1"), 10
    )
    assert [i.insert_text for i in items_of(result)] == ["xxx"]


async def test_a_newer_request_supersedes_the_older_one(
    client: LanguageClient, make_repo: Callable[[str], Path], fake: FakeModelServer
) -> None:
    doc_uri, position = await _setup(client, make_repo("python_app"), fake)
    older = _send(client, _params(doc_uri, position, invoked=True), "older")
    await _until(lambda: len(fake.requests) == 1)
    fake.tokens = 4
    newer = _send(client, _params(doc_uri, position, invoked=True), "newer")
    assert items_of(await asyncio.wait_for(older, 5)) == []  # answered, with nothing
    assert fake.disconnected.wait(5)
    assert [i.insert_text for i in items_of(await asyncio.wait_for(newer, 10))] == ["xxxx"]
    assert fake.completed == 1 and len(fake.requests) == 2


async def test_debounce_keeps_keystrokes_from_the_model(
    client: LanguageClient, make_repo: Callable[[str], Path], fake: FakeModelServer
) -> None:
    fake.tokens = 2
    doc_uri, position = await _setup(client, make_repo("python_app"), fake, debounce_ms=400)
    typed = [_send(client, _params(doc_uri, position, invoked=False), f"key-{i}") for i in range(4)]
    for future in typed[:3]:
        assert items_of(await asyncio.wait_for(future, 5)) == []
    assert [i.insert_text for i in items_of(await asyncio.wait_for(typed[3], 10))] == ["xx"]
    assert len(fake.requests) == 1  # three keystrokes never reached the model
    info = await status(client)
    assert info["completion"]["requests"] == 1
    # an explicit request (Invoked) does not wait for the debounce
    fake.tokens = 1
    result = await asyncio.wait_for(
        _send(client, _params(doc_uri, types.Position(position.line, 0), invoked=True), "now"),
        10,
    )
    assert items_of(result)
    timings = (await status(client))["completion"]["recent"]
    assert timings[0]["debounce"] >= 400
    assert timings[-1]["debounce"] < 100

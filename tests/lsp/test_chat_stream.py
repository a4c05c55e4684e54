"""repolens.ask streams its answer as ``repolens/chatChunk`` notifications when the client
gives a ``stream_id`` (the VS Code chat panel does): the context's sources first, then the
answer's pieces, then ``done`` with the whole answer, which the command also returns."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient
from pytest_lsp.client import make_test_lsp_client

from .conftest import SERVER_COMMAND, SMALL, command, initialize, stop_client, wait_indexed

pytestmark = [pytest.mark.e2e, pytest.mark.model]

CHAT = {**SMALL, "chat": {"budget_tokens": 256, "answer_tokens": 16, "temperature": 0}}


def _has_qa() -> bool:
    try:
        return importlib.util.find_spec("repolens.chat.qa") is not None
    except ModuleNotFoundError:
        return False


def _plain(value: Any) -> Any:
    """pygls hands unknown notifications' params over as namedtuple-like objects."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@pytest_asyncio.fixture
async def streaming_client(tmp_path: Path) -> AsyncIterator[LanguageClient]:
    client = make_test_lsp_client()
    chunks: list[dict[str, Any]] = []

    @client.feature("repolens/chatChunk")
    def chat_chunk(params: Any) -> None:
        chunks.append(_plain(params))

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        pass

    client.chunks = chunks  # type: ignore[attr-defined]
    await client.start_io(*SERVER_COMMAND, cwd=str(tmp_path))
    try:
        yield client
    finally:
        await stop_client(client)


async def test_ask_streams_chunks_with_sources(
    streaming_client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    if not _has_qa():
        pytest.skip("repolens.chat.qa is not installed")
    client = streaming_client
    root = make_repo("python_app")
    await initialize(client, root, CHAT)
    await wait_indexed(client)
    question = "How is a user's welcome mail composed?"

    result = await command(client, "repolens.ask", {"question": question, "streamId": "q-1"})

    chunks: list[dict[str, Any]] = client.chunks  # type: ignore[attr-defined]
    assert chunks and all(c["id"] == "q-1" for c in chunks)
    first, *middle, last = chunks
    # the sources come first, as path:line citations of the packed context
    assert first["prompt_tokens"] > 0
    assert any(s["path"] == "app/services/mail.py" for s in first["sources"])
    assert all(s["start_line"] >= 1 and s["end_line"] >= s["start_line"] for s in first["sources"])
    # then the answer piece by piece, and done with the whole answer
    assert middle and all("text" in c for c in middle)
    assert last["done"] is True and "error" not in last
    assert last["answer"] == "".join(c["text"] for c in middle)
    # the command still returns everything at the end
    assert result["answer"] == last["answer"] and result["answer"].strip()
    assert result["sources"] == first["sources"]

    # without a stream_id nothing is streamed; a stream_id of the wrong type is refused
    chunks.clear()
    again = await command(client, "repolens.ask", {"question": question})
    assert again["answer"].strip() and chunks == []
    with pytest.raises(JsonRpcException) as info:
        await command(client, "repolens.ask", {"question": question, "stream_id": [1]})
    assert info.value.code == int(types.ErrorCodes.InvalidParams)

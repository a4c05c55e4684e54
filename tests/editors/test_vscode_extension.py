"""The VS Code extension's unit tests (vitest) and its packaging (npm ci, type check, bundle,
vsce package), plus the contract between its settings and the language server's."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from repolens.settings import Settings

from .conftest import EXTENSION, npm

#: VS Code settings that configure the extension itself, not the server.
CLIENT_ONLY = {"server.command", "server.python", "trace.server", "completion.enable"}


def _server_keys() -> dict[str, str]:
    """SERVER_KEYS from src/settings.ts: VS Code key -> the server's dotted key."""
    source = (EXTENSION / "src" / "settings.ts").read_text()
    block = source[source.index("SERVER_KEYS") : source.index("};", source.index("SERVER_KEYS"))]
    return dict(re.findall(r'"([\w.]+)":\s*"([\w.]+)"', block))


def _contributed() -> dict[str, dict]:
    manifest = json.loads((EXTENSION / "package.json").read_text())
    props: dict[str, dict] = manifest["contributes"]["configuration"]["properties"]
    return {key.removeprefix("repolens."): spec for key, spec in props.items()}


def test_every_setting_reaches_a_real_server_setting() -> None:
    keys = _server_keys()
    assert len(keys) >= 15
    for vscode_key, dotted in keys.items():
        section, name = dotted.split(".")
        assert name in type(getattr(Settings(), section)).model_fields, (vscode_key, dotted)
    assert set(_contributed()) == set(keys) | CLIENT_ONLY


def test_settings_where_code_goes_are_user_settings_only() -> None:
    # like .repolens.toml, a workspace's .vscode/settings.json must not choose the model server,
    # what loads, the resources it takes or a size limit
    contributed = _contributed()
    for key in (
        "model.backend",
        "model.url",
        "model.apiKey",
        "model.gguf",
        "model.contextWindow",
        "model.threads",
        "model.timeoutSeconds",
        "index.maxFileBytes",
    ):
        assert contributed[key]["scope"] == "machine", key


def test_unit_tests(npm_installed: Path) -> None:
    proc = npm("test")
    out = proc.stdout + proc.stderr
    assert re.search(r"Tests\s+\d+ passed", out), out[-2000:]
    assert "failed" not in out.split("Test Files")[-1]


def test_package(vsix: Path) -> None:
    with zipfile.ZipFile(vsix) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("extension/package.json"))
        bundle = zf.read("extension/dist/extension.js").decode()
    assert {
        "extension/package.json",
        "extension/readme.md",  # vsce stores the README under a lower-case name
        "extension/dist/extension.js",
        "extension/dist/chat.js",
        "extension/media/chat.css",
    } <= names
    # bundled: no sources, tests, node_modules or source maps in the package
    assert not [n for n in names if n.startswith(("extension/node_modules/", "extension/src/"))]
    assert not [n for n in names if n.endswith((".ts", ".map"))]
    assert manifest["main"] == "./dist/extension.js"
    # vscode-languageclient is bundled in, `vscode` comes from the editor
    assert "InlineCompletionItemFeature" in bundle or "inlineCompletion" in bundle
    assert 'require("vscode")' in bundle

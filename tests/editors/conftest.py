"""The VS Code extension (extension/vscode) built the way a user or CI builds it: ``npm ci``,
then ``npm run package`` (type check, esbuild bundle, ``vsce package``). Built once per session
and shared by the packaging test and the end-to-end test."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, require_tool

EXTENSION = REPO_ROOT / "extension" / "vscode"


def node_major() -> int:
    node = shutil.which("node")
    if node is None:
        return 0
    out = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    try:
        return int(out.strip().lstrip("v").split(".")[0])
    except ValueError:
        return 0


def npm(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``npm ARGS`` in extension/vscode; fails the test with npm's output when it fails."""
    proc = subprocess.run(
        ["npm", *args],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1", "CI": "true"},
    )
    if proc.returncode != 0:
        pytest.fail(f"npm {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="session")
def npm_installed() -> Path:
    """extension/vscode with its locked dependencies installed (``npm ci``)."""
    require_tool(shutil.which("npm") is not None and node_major() >= 20, "node >= 20 and npm")
    npm("ci", "--no-audit", "--no-fund")
    return EXTENSION


@pytest.fixture(scope="session")
def vsix(npm_installed: Path) -> Path:
    """The packaged extension, dist/repolens.vsix."""
    out = npm_installed / "dist" / "repolens.vsix"
    out.unlink(missing_ok=True)
    npm("run", "package")
    assert out.is_file()
    return out

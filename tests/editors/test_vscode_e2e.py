"""The extension in real VS Code: extension/vscode/scripts/e2e.sh installs Node 24 and
code-server from npm (once, into a cache), installs the packaged .vsix, opens a copy of
tests/fixtures/repos/python_app and drives Debian's headless Chromium with playwright-core
(e2e/drive.mjs): ghost text from repolens, Tab and Control+S put it into the file on disk, the
context view, the chat panel's streamed answer and its sources opening the right file and line,
Explain, and a commit message in the Source Control input box. Screenshots go to
$REPOLENS_ARTIFACTS (or the test's temporary directory)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import require_tool

from .conftest import EXTENSION

pytestmark = [pytest.mark.e2e, pytest.mark.model]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.mark.timeout(3600)  # the first run installs code-server (5-15 minutes)
def test_vscode_end_to_end(vsix: Path, tmp_path: Path) -> None:
    require_tool(Path(CHROMIUM).exists(), f"Chromium ({CHROMIUM})")
    require_tool(shutil.which("git") is not None, "git")
    artifacts = Path(os.environ.get("REPOLENS_ARTIFACTS") or tmp_path / "artifacts") / "vscode"
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "REPOLENS_ARTIFACTS": str(artifacts),
        "REPOLENS_E2E_VSIX": str(vsix),
        "CHROMIUM": CHROMIUM,
    }
    started = time.monotonic()
    proc = subprocess.run(
        ["bash", str(EXTENSION / "scripts" / "e2e.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=3500,
    )
    seconds = time.monotonic() - started
    lines = proc.stdout.strip().splitlines()
    report = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    print(f"VS Code e2e: {seconds:.0f} s; artifacts in {artifacts}")
    print(proc.stderr[-3000:])
    assert proc.returncode == 0, f"{report.get('error')}\n{proc.stderr[-6000:]}"

    assert report["status"] == "repolens: embedded"
    assert report["ghostText"].strip()
    assert report["savedTail"].rstrip().endswith(f"repo.{report['ghostText']}".rstrip()) or (
        "repo." in report["savedTail"] and report["ghostText"].strip() in report["savedTail"]
    )
    assert "register.py" in report["contextTab"]
    assert report["chatState"] == "done" and report["chunks"] > 1 and report["answer"].strip()
    assert any(s.startswith("app/services/mail.py:") for s in report["sources"])
    assert report["opened"]["tab"].startswith(
        report["opened"]["expected"].split(":")[0].split("/")[-1]
    )
    assert report["opened"]["line"] == int(report["opened"]["expected"].split(":")[1])
    assert report["explainOpened"]["line"] == 5
    assert report["commitMessage"].strip()
    for name in ("vscode-suggestion.png", "vscode-chat.png", "vscode-citation.png"):
        assert (artifacts / name).stat().st_size > 10_000, name

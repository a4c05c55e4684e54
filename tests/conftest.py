"""Shared fixtures: an isolated cache dir per test, a private runtime dir for the session's
local model processes, fixture repositories copied into temp dirs as real git repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO_ROOT = Path(__file__).parent.parent
collect_ignore_glob = ["fixtures/*"]

# The source folders (repolens/, indexer/, ...) are mapped into the installed `repolens`
# package; the bare `repolens/` folder at the root would shadow that mapping when the
# checkout is on sys.path (``python -m pytest`` puts the current directory there).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO_ROOT]
for _name in [m for m in sys.modules if m == "repolens" or m.startswith("repolens.")]:
    del sys.modules[_name]


#: The session's local model processes live here (and are stopped at its end), apart from the
#: developer's own; a short path, because Unix socket paths are limited to ~100 bytes.
RUNTIME_DIR = Path(tempfile.mkdtemp(prefix="rl-", dir="/tmp"))
os.environ["REPOLENS_RUNTIME_DIR"] = str(RUNTIME_DIR)


def repolens_cli() -> list[str]:
    """The ``repolens`` console script installed next to this interpreter: tests run what the
    user runs, whatever ``PATH`` says."""
    script = Path(sys.executable).with_name("repolens")
    if not script.is_file():
        pytest.fail(
            f"{script} is missing: install repolens into this environment (pip install -e .)"
        )
    return [str(script)]


def stop_model_processes(directory: Path) -> None:
    """Stop every model process whose record is in ``directory``."""
    from repolens.backends.model_process import list_processes, stop_process

    for record in list_processes(directory):
        stop_process(record)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    stop_model_processes(RUNTIME_DIR)
    shutil.rmtree(RUNTIME_DIR, ignore_errors=True)


@pytest.fixture
def private_model_processes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A runtime dir of this test's own: its model processes (crashed, failed, killed on
    purpose) cannot disturb the session's; they are stopped when the test ends."""
    directory = Path(tempfile.mkdtemp(prefix="rlt-", dir="/tmp"))
    monkeypatch.setenv("REPOLENS_RUNTIME_DIR", str(directory))
    try:
        yield directory
    finally:
        stop_model_processes(directory)
        shutil.rmtree(directory, ignore_errors=True)


def _e2e_required() -> bool:
    return os.environ.get("REPOLENS_REQUIRE_E2E") == "1"


def require_tool(ok: bool, what: str) -> None:
    """Skip when a system tool is missing locally; fail in CI (REPOLENS_REQUIRE_E2E=1)."""
    if ok:
        return
    if _e2e_required():
        pytest.fail(f"{what} is required in CI but missing")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(autouse=True)
def isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("REPOLENS_CACHE_DIR", str(cache))
    monkeypatch.setenv("REPOLENS_CONFIG", str(cache / "no-user-config.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(cache / "config"))
    return cache


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
    )
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return proc.stdout


def make_git_repo(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "fixture")
    return dest


@pytest.fixture
def fixture_repo(tmp_path: Path) -> Iterator[object]:
    """``fixture_repo("python_app")`` -> a git repository copied from tests/fixtures/repos."""

    def make(name: str, git_init: bool = True) -> Path:
        src = FIXTURES / "repos" / name
        dest = tmp_path / name
        if git_init:
            return make_git_repo(src, dest)
        shutil.copytree(src, dest)
        return dest

    yield make


@pytest.fixture(scope="session")
def fim_model() -> Path:
    """The real FIM code model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M) that tests complete with:
    ``$REPOLENS_FIM_MODEL`` or where ``tests/tools/fim_model.py`` caches it (``.ci/run`` makes
    it first). Missing: a skip here, a failure in CI."""
    from tests.tools.fim_model import SIZE, default_path

    path = Path(os.environ.get("REPOLENS_FIM_MODEL") or default_path())
    ok = path.is_file() and path.stat().st_size == SIZE
    require_tool(ok, f"the FIM test model {path} (python tests/tools/fim_model.py makes it)")
    return path

"""Engine behaviour: errors for bad positions, a prompt prefix that survives keystrokes, the
completion cache."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from repolens.completion.cache import CompletionCache
from repolens.errors import UsageError
from tests.completion.conftest import make_engine


def _common(a: str, b: str) -> int:
    """Length of the common prefix of two prompts (characters)."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@pytest.fixture
def engine(fixture_repo):  # type: ignore[no-untyped-def]
    return make_engine(fixture_repo("python_app"))


def test_bad_positions_give_clear_errors(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=r"line 99 is past the end of the file \(18 lines\)"):
        engine.context("main.py", 99, 1)
    with pytest.raises(
        UsageError, match=r"column 80 is past the end of line 1 .*last position is 23"
    ):
        engine.context("main.py", 1, 80)
    with pytest.raises(UsageError, match="not a language repolens completes"):
        engine.context("README.md", 1, 1)
    with pytest.raises(UsageError, match="no such file"):
        engine.context("missing.py", 1, 1)
    (engine.index.root / "blob.py").write_bytes(b"\0\1\2")
    with pytest.raises(UsageError, match="binary file"):
        engine.context("blob.py", 1, 1)


def test_files_outside_the_repository_are_refused(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from repolens.completion.engine import resolve_position

    root = engine.index.root
    outside = tmp_path / "outside.py"
    outside.write_text("x = 1\n")
    with pytest.raises(UsageError, match="outside the repository"):
        resolve_position(root, str(outside))
    with pytest.raises(UsageError, match="outside the repository"):
        resolve_position(root, "../outside.py")
    os.symlink(outside, root / "link.py")
    with pytest.raises(UsageError, match="outside the repository"):
        resolve_position(root, "link.py")
    assert resolve_position(root, str(root / "app" / "util.py")) == "app/util.py"


def test_consecutive_keystrokes_share_the_prompt_prefix(engine) -> None:  # type: ignore[no-untyped-def]
    lines = (engine.index.text("main.py") or "").split("\n")
    typed = "    other = repo_mod.UserRepository()"
    prompts = []
    for i in range(len("    other = "), len(typed) + 1):
        lines[12] = typed[:i]
        prompts.append(engine.context("main.py", 13, i + 1, text="\n".join(lines)).prompt)
    shared = [_common(a, b) / len(b) for a, b in itertools.pairwise(prompts)]
    assert sum(shared) / len(shared) >= 0.9, shared


def test_prefix_window_starts_on_a_stable_line(fixture_repo) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(fixture_repo("python_app"), prefix_tokens=64)
    body = "\n".join(f"value_{i} = {i}" for i in range(200))
    (engine.index.root / "long.py").write_text(body + "\n")
    engine.index.update()
    firsts = set()
    for line in range(150, 158):
        ctx = engine.context("long.py", line, 1)
        firsts.add(ctx.prefix.split("\n", 1)[0])
    assert len(firsts) <= 2  # the window start moves in steps, not on every line


def test_cache_serves_typing_through_a_suggestion() -> None:
    cache = CompletionCache()
    cache.put("a.py", "x = repo.", "\n", "add(user)")
    assert cache.get("a.py", "x = repo.", "\n") == "add(user)"
    assert cache.get("a.py", "x = repo.ad", "\n") == "d(user)"
    assert cache.get("a.py", "x = repo.ax", "\n") is None
    assert cache.get("b.py", "x = repo.", "\n") is None

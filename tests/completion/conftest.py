"""Completion tests run the real engine on real fixture repositories; token counts use a
deterministic estimate so expectations do not depend on a model being loaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from repolens.completion.engine import CompletionEngine, ContextResult
from repolens.completion.templates import TEMPLATES
from repolens.indexer import RepoIndex
from repolens.settings import CompletionSettings


class EstimateTokenizer:
    """~3 characters per token: deterministic, no model needed."""

    def count(self, text: str) -> int:
        return len(text) // 3 + 1 if text else 0

    def count_many(self, texts: list[str]) -> list[int]:
        return [self.count(t) for t in texts]


def write_repo(root: Path, files: dict[str, str]) -> None:
    """``files`` (relative path -> text) written under ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def make_engine(repo: Path, template: str = "qwen2.5-coder", **settings: int) -> CompletionEngine:
    index = RepoIndex(repo)
    index.update()
    return CompletionEngine(
        index, CompletionSettings(**settings), EstimateTokenizer(), TEMPLATES[template]
    )


Typing = Callable[[str, int, str], ContextResult]


def typing_at(engine: CompletionEngine) -> Typing:
    """``at(path, line, text)``: line ``line`` of ``path`` replaced by ``text``, the cursor at
    its end — as if the user had just typed it."""

    def at(path: str, line: int, text: str) -> ContextResult:
        lines = (engine.index.text(path) or "").split("\n")
        lines[line - 1] = text
        return engine.context(path, line, len(text) + 1, text="\n".join(lines))

    return at


def covers(ctx: ContextResult, path: str, line: int) -> bool:
    return any(s.path == path and s.start_line <= line <= s.end_line for s in ctx.snippets)


@pytest.fixture
def engine_for(fixture_repo) -> Callable[..., CompletionEngine]:  # type: ignore[no-untyped-def]
    def make(name: str, template: str = "qwen2.5-coder", **settings: int) -> CompletionEngine:
        return make_engine(fixture_repo(name), template, **settings)

    return make

"""Golden files for the pure stages of context assembly: fixed fixture code in, the stage's
output rendered to text, compared byte for byte with ``tests/golden/data/<stage>/*.txt``.

Regenerate with ``REPOLENS_UPDATE_GOLDEN=1 python -m pytest tests/golden`` (the same switch as
``tests/completion/test_templates.py``) and review the diff before committing it: a golden
changes only when a prompt is meant to change.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from repolens.backends.base import Model, ModelInfo, Tokenizer
from repolens.chat.prompts import CHAT_TEMPLATE_RESERVE
from repolens.chat.qa import QAContext, QAEngine
from repolens.indexer import RepoIndex
from repolens.settings import Settings
from tests.completion import conftest as completion_conftest
from tests.conftest import FIXTURES

DATA = Path(__file__).parent / "data"
UPDATE = os.environ.get("REPOLENS_UPDATE_GOLDEN") == "1"

Golden = Callable[[str, str], None]
IndexedRepo = Callable[..., RepoIndex]
QAEngineFor = Callable[[str], QAEngine]


@pytest.fixture
def golden() -> Golden:
    """``golden("render/python.txt", text)``: ``text`` is the checked-in file, exactly."""

    def check(name: str, text: str) -> None:
        path = DATA / name
        if UPDATE:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
        if not path.is_file():
            pytest.fail(f"{path} is missing: run with REPOLENS_UPDATE_GOLDEN=1 and review it")
        expected = path.read_bytes().decode("utf-8")
        assert text == expected, f"{name} changed (REPOLENS_UPDATE_GOLDEN=1 rewrites it)"

    return check


class EstimateTokenizer(completion_conftest.EstimateTokenizer):
    """The completion tests' ~3 characters per token (deterministic, no model loaded), with
    ``count_many`` taking any sequence as the ``Tokenizer`` protocol says."""

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [self.count(t) for t in texts]


@pytest.fixture(scope="session")
def tokenizer() -> EstimateTokenizer:
    return EstimateTokenizer()


@pytest.fixture(scope="session")
def indexed_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexedRepo]:
    """``indexed_repo("python_app")`` -> a real tree-sitter index of a copy of the fixture
    (``indexed_repo("name", files)``: of a repository written from ``{path: text}``), built
    once per session: the golden tests only read it."""
    built: dict[str, RepoIndex] = {}
    cache = tmp_path_factory.mktemp("golden-cache")

    def make(name: str, files: dict[str, str] | None = None) -> RepoIndex:
        if name not in built:
            root = tmp_path_factory.mktemp("golden-repos") / name
            if files is None:
                shutil.copytree(FIXTURES / "repos" / name, root)
            else:
                completion_conftest.write_repo(root, files)
            index = RepoIndex(root, cache_dir=cache)
            index.update(workers=1)
            built[name] = index
        return built[name]

    yield make
    for index in built.values():
        index.close()


@dataclass
class FixtureRepository:
    """What Q&A needs of an opened repository (``repolens.chat.qa.Repository``), without a
    model: asking for one fails the test."""

    root: Path
    settings: Settings
    index: RepoIndex

    @property
    def model(self) -> Model:
        raise AssertionError("the golden tests must not load a model")

    @property
    def model_info(self) -> ModelInfo:
        raise AssertionError("the golden tests must not load a model")

    @property
    def tokenizer(self) -> Tokenizer:
        raise AssertionError("the golden tests must not load a model")


@pytest.fixture
def qa_engine(indexed_repo: IndexedRepo, tokenizer: EstimateTokenizer) -> QAEngineFor:
    """``qa_engine("python_app")`` -> Q&A on the indexed fixture, no embedder, no model."""

    def make(name: str) -> QAEngine:
        index = indexed_repo(name)
        repo = FixtureRepository(index.root, Settings(), index)
        return QAEngine(repo, tokenizer=tokenizer, background_vectors=False)

    return make


def prompt_report(ctx: QAContext, tokenizer: EstimateTokenizer) -> str:
    """The blocks chosen, then the prompt as the model gets it (its messages); the prompt's
    exact count must be what ``retrieve`` reports, within the budget."""
    exact = sum(tokenizer.count(m.content) for m in ctx.messages) + CHAT_TEMPLATE_RESERVE
    assert ctx.prompt_tokens == exact <= ctx.budget
    head = [f"##### {ctx.prompt_tokens} of {ctx.budget} prompt tokens"]
    head += [
        f"{s.source:12} {s.path}:{s.start_line}-{s.end_line} {s.score:g} {s.symbol}".rstrip()
        for s in ctx.snippets
    ]
    return "\n".join(head) + "\n\n" + ctx.prompt + "\n"

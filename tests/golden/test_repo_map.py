"""Golden repository maps (``repolens.chat.overview``): every source file's top-level
definitions and members with their lines, most imported files first and tests last, packed
into a budget as ``repolens ask --overview`` does; and the whole overview prompt (README,
manifests, map, entry points) for the Python fixture.

No model is loaded: counts are the deterministic estimate of ``tests/completion/conftest.py``.
Regenerate with ``REPOLENS_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import pytest

from repolens.chat.overview import repo_map_items
from repolens.chat.packing import pack, render_block

from .conftest import EstimateTokenizer, Golden, IndexedRepo, QAEngineFor, prompt_report


@pytest.mark.parametrize(
    ("fixture", "budget"), [("python_app", 2000), ("go_app", 2000), ("ts_app", 260)]
)
def test_the_map_of_a_repository(
    fixture: str,
    budget: int,
    indexed_repo: IndexedRepo,
    tokenizer: EstimateTokenizer,
    golden: Golden,
) -> None:
    index = indexed_repo(fixture)
    result = pack(repo_map_items(index), budget, tokenizer.count, cut_top=4)
    assert result.tokens <= budget
    text = f"##### budget {budget}: {len(result.snippets)} files, {result.tokens} tokens\n"
    text += "".join(
        render_block(s, result.languages[(s.path, s.start_line, s.end_line)])
        for s in result.snippets
    )
    golden(f"repo_map/{fixture}.txt", text)


def test_the_overview_prompt(
    qa_engine: QAEngineFor, tokenizer: EstimateTokenizer, golden: Golden
) -> None:
    engine = qa_engine("python_app")
    ctx = engine.retrieve("", budget=1200)
    assert ctx.overview
    golden("repo_map/python_app-overview.txt", prompt_report(ctx, tokenizer))

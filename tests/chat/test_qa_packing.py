"""Packing whole units into a budget, and dependency order (pure: a character counter stands
in for a tokenizer where exact counts do not matter), then the real budget guarantee at 8K
and 128K tokens with the bundled model's tokenizer on a repository larger than 128K."""

from __future__ import annotations

from pathlib import Path

import pytest

from repolens.backends.base import Tokenizer
from repolens.chat.packing import (
    BOUNDARY_SLACK,
    PackItem,
    block_parts,
    dependency_order,
    pack,
    render_block,
)
from repolens.chat.prompts import CHAT_TEMPLATE_RESERVE
from repolens.chat.qa import QAEngine
from repolens.settings import Settings
from repolens.types import Snippet
from repolens.workspace import Workspace


def chars(text: str) -> int:
    return len(text)


def item(path: str, start: int, n_lines: int, score: float, head: int = 0) -> PackItem:
    lines = [f"line {i} of {path}" for i in range(start, start + n_lines)]
    return PackItem(path, start, start + n_lines - 1, lines, score, "search", head_lines=head)


def block_cost(it: PackItem, end: int | None = None, text: str | None = None) -> int:
    header, footer = block_parts(it.path, it.start_line, end or it.end_line, it.symbol, "")
    body = text if text is not None else "\n".join(it.lines)
    return len(header) + len(body) + len(footer) + BOUNDARY_SLACK


def test_takes_whole_units_in_score_order_and_skips_what_does_not_fit() -> None:
    a, big, c = item("a.py", 1, 3, 1.0), item("big.py", 1, 200, 0.9), item("c.py", 10, 2, 0.8)
    budget = block_cost(a) + block_cost(c) + 5
    result = pack([a, big, c], budget, chars)
    assert [(s.path, s.start_line, s.end_line) for s in result.snippets] == [
        ("a.py", 1, 3),
        ("c.py", 10, 11),
    ]
    assert result.tokens == block_cost(a) + block_cost(c) <= budget
    assert result.snippets[0].text == "\n".join(a.lines)
    assert result.snippets[0].tokens == len(result.snippets[0].text)


def test_cuts_a_top_unit_after_its_head_instead_of_losing_it() -> None:
    big = item("big.py", 5, 100, 1.0, head=3)
    budget = block_cost(big, end=12, text="x" * 200)  # room for a few lines only
    result = pack([big], budget, chars)
    (s,) = result.snippets
    assert s.start_line == 5 and 8 <= s.end_line < 104
    assert s.text.split("\n")[:3] == big.lines[:3]
    assert s.text.endswith(f"lines {s.end_line + 1}-104 not shown")
    assert result.cut == 1 and result.tokens <= budget


def test_a_unit_below_the_top_is_never_cut_and_overlaps_are_skipped() -> None:
    top = [item(f"t{i}.py", 1, 1, 1.0 - i / 10) for i in range(3)]
    low = item("low.py", 1, 100, 0.5, head=2)
    inner = item("t0.py", 1, 1, 0.4)  # same span as t0.py: already shown
    result = pack([*top, low, inner], sum(block_cost(t) for t in top) + 200, chars)
    assert [s.path for s in result.snippets] == ["t0.py", "t1.py", "t2.py"]


@pytest.mark.parametrize("budget", [0, 10, 23])
def test_tiny_budgets_give_nothing(budget: int) -> None:
    assert pack([item("a.py", 1, 1, 1.0)], budget, chars).snippets == []


def snippet(path: str, start: int, score: float) -> Snippet:
    return Snippet(path, start, start + 1, "x", 1, "search", score)


def test_dependency_order_puts_what_a_file_uses_first() -> None:
    snippets = [
        snippet("app/service.py", 10, 1.0),
        snippet("app/models.py", 30, 0.5),
        snippet("app/service.py", 2, 0.9),
        snippet("app/util.py", 1, 0.2),
        snippet("README.md", 1, 0.1),
    ]
    deps = {"app/service.py": {"app/models.py", "app/util.py"}, "app/models.py": {"app/util.py"}}
    ordered = dependency_order(snippets, deps)
    assert [(s.path, s.start_line) for s in ordered] == [
        ("README.md", 1),  # independent and least relevant: first, far from the question
        ("app/util.py", 1),
        ("app/models.py", 30),
        ("app/service.py", 2),  # the best file last, its snippets in line order
        ("app/service.py", 10),
    ]


def test_dependency_cycles_are_broken_at_the_least_relevant_file() -> None:
    snippets = [snippet("a.py", 1, 0.9), snippet("b.py", 1, 0.3), snippet("c.py", 1, 0.5)]
    deps = {"a.py": {"b.py"}, "b.py": {"c.py"}, "c.py": {"a.py"}}
    assert [s.path for s in dependency_order(snippets, deps)] == ["b.py", "a.py", "c.py"]


def test_block_text_is_what_the_prompt_gets() -> None:
    s = Snippet("pkg/a.py", 3, 4, "def f():\n    pass", 5, "search", symbol="f")
    assert render_block(s, "python") == "pkg/a.py:3-4 (f)\n```python\ndef f():\n    pass\n```\n"


# -- the budget with real tokens -------------------------------------------------------------


def exact_prompt_tokens(ctx_messages: list, tokenizer: Tokenizer) -> int:  # type: ignore[type-arg]
    return sum(tokenizer.count(m.content) for m in ctx_messages) + CHAT_TEMPLATE_RESERVE


@pytest.fixture(scope="module")
def synthetic_engine(synthetic_repo: Path, tokenizer: Tokenizer) -> QAEngine:
    ws = Workspace(synthetic_repo, Settings())
    ws.index.update(workers=1)
    return QAEngine(ws, tokenizer=tokenizer, background_vectors=False)


@pytest.mark.parametrize("budget", [8192, 131072])
def test_packing_never_exceeds_the_budget_and_fills_it(
    synthetic_engine: QAEngine, tokenizer: Tokenizer, budget: int
) -> None:
    question = "How is the ledger balance of a batch updated and returned?"
    ctx = synthetic_engine.retrieve(question, budget)
    exact = exact_prompt_tokens(ctx.messages, tokenizer)
    assert exact <= ctx.prompt_tokens <= budget
    assert exact >= budget * 0.95  # the repository has far more than the budget: it fills up
    assert sum(s.tokens for s in ctx.snippets) < budget
    for s in ctx.snippets[:50]:
        assert s.tokens == tokenizer.count(s.text)
        assert s.text == synthetic_engine.index.lines(s.path, s.start_line, s.end_line)
    # whole functions: every snippet starts at a def line (or is the module head)
    starts = {
        (s.path, s.start_line)
        for s in ctx.snippets
        if s.text.startswith("def ") or s.start_line == 1
    }
    assert len(starts) == len(ctx.snippets)
    user = ctx.messages[-1].content
    assert user.rstrip().endswith(question)
    assert all(f"{s.path}:{s.start_line}-{s.end_line}" in user for s in ctx.snippets)


def test_an_explicit_budget_below_the_minimum_is_refused(synthetic_engine: QAEngine) -> None:
    from repolens.errors import UsageError

    with pytest.raises(UsageError, match="too small"):
        synthetic_engine.retrieve("ledger", 100)

"""The pure stages of a completion prompt (completion/plan.py), on their own."""

from __future__ import annotations

from repolens.completion.plan import SnippetOrder, budgets
from repolens.completion.templates import TEMPLATES
from repolens.settings import CompletionSettings
from repolens.types import Snippet


def _snippet(path: str, line: int, source: str) -> Snippet:
    return Snippet(path, line, line + 2, f"# {path}:{line}", 5, source)


def test_budgets_give_way_context_first_then_suffix_then_prefix() -> None:
    settings = CompletionSettings(
        budget_tokens=1000, prefix_tokens=800, suffix_tokens=300, max_tokens=64
    )
    fim = TEMPLATES["qwen2.5-coder"]
    roomy = budgets(settings, fim, context_window=32_768)
    assert (roomy.context, roomy.prefix, roomy.suffix) == (1000, 800, 300)
    assert budgets(settings, fim, None, budget=50).context == 50
    # 2048 - 64 (answer) - 64 (slack) = 1920 for all three: the context shrinks to 820
    tight = budgets(settings, fim, context_window=2048)
    assert (tight.context, tight.prefix, tight.suffix) == (820, 800, 300)
    # 872 tokens of room: no context, and the suffix gives way (300 -> 72)
    small = budgets(settings, fim, context_window=1000)
    assert (small.context, small.prefix, small.suffix) == (0, 800, 72)
    # 572 tokens of room: no suffix either, and the prefix gives the rest (800 -> 572)
    tiny = budgets(settings, fim, context_window=700)
    assert (tiny.context, tiny.prefix, tiny.suffix) == (0, 572, 0)
    prefix_only = budgets(settings, TEMPLATES["prefix-only"], context_window=32_768)
    assert prefix_only.suffix == 0


def test_snippet_order_keeps_what_was_shown_in_place() -> None:
    order = SnippetOrder(files=2)
    a, b, c = (
        _snippet("a.py", 1, "definition"),
        _snippet("b.py", 1, "import"),
        _snippet("c.py", 1, "repo_map"),
    )
    first = order.arrange("main.py", [a, b])
    assert [s.path for s in first] == ["b.py", "a.py"]  # imports before definitions
    # a new repo-map snippet would sort first, but what was shown keeps its place: new last
    second = order.arrange("main.py", [c, a, b])
    assert [s.path for s in second] == ["b.py", "a.py", "c.py"]
    # another file has its own order; a third evicts the oldest (files=2)
    order.arrange("other.py", [a])
    order.arrange("third.py", [a])
    assert [s.path for s in order.arrange("main.py", [c, a, b])] == ["c.py", "b.py", "a.py"]

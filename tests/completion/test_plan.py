"""The pure stages of a completion prompt (completion/plan.py), on their own."""

from __future__ import annotations

from repolens.completion.budget import Choice
from repolens.completion.plan import SnippetOrder, budgets, fit
from repolens.completion.render import Rendered
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


class _GenerousCounter:
    """Exact counts of one token per four characters; an estimate that errs twice as high
    (the calibrated estimate errs high on purpose)."""

    def __call__(self, text: str) -> int:
        return len(text) // 4 + 1

    def estimate(self, text: str) -> int:
        return 2 * (len(text) // 4 + 1)


def _fixed(path: str, text: str, score: float, source: str, lines: int = 3) -> Choice:
    rendered = Rendered(text, "full", 1, lines)
    return Choice(
        key=(path, 1, source),
        path=path,
        score=score,
        source=source,
        symbol="",
        levels=("full",),
        render=lambda level: rendered,
    )


def test_fit_gives_fillers_the_room_an_estimate_that_errs_high_held_back() -> None:
    definition = _fixed("a.py", "def fetch(table: str) -> list[dict]: ...  " * 4, 3.0, "definition")
    window = _fixed("tests/t.py", "rows = fetch('orders')\nassert rows == []\n" * 2, 0.5, "similar")
    repo_map = _fixed("b.py", "# def other()\n" * 40, 0.1, "repo_map")
    counter = _GenerousCounter()
    big, small = definition.render("full").text, window.render("full").text
    # by the estimate, the window does not fit after the definition; by exact counts it does
    budget = counter.estimate(big) + 4
    assert counter.estimate(big) + counter.estimate(small) > budget >= counter(big) + counter(small)
    chosen = fit([definition, window, repo_map], budget, counter)
    assert [s.source for s in chosen] == ["definition", "similar"]
    assert sum(s.tokens for s in chosen) <= budget  # and the budget holds, exactly
    # a window over lines already shown is not added twice
    again = _fixed("a.py", "def fetch(table: str) -> list[dict]: ...", 0.5, "similar")
    assert [s.source for s in fit([definition, again], budget, counter)] == ["definition"]

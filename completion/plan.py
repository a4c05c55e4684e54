"""The pure stages of a completion prompt: budgets, the current file's windows, the choice of
snippets within the budget, their stable order. Nothing here reads the index or the disk
(:mod:`repolens.completion.reader` does); each stage is a function of its arguments, and the
one piece of state, the order snippets were shown in last time, is an object the engine is
given (:class:`SnippetOrder`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ..indexer import Definition
from ..settings import CompletionSettings
from ..types import Snippet
from .budget import Choice, select, top_up
from .cursor import Cursor
from .templates import FimTemplate

__all__ = [
    "PREFIX_STEP",
    "Budgets",
    "Counter",
    "SnippetOrder",
    "budgets",
    "fit",
    "prefix_window",
    "suffix_window",
    "top_members",
]

#: The prefix window starts on a multiple of this many lines (a stable prompt prefix).
PREFIX_STEP = 16

#: Sources in prompt order: stable material first, what the cursor needs last.
SOURCE_ORDER = {
    "repo_map": 0,
    "import": 1,
    "base": 2,
    "similar": 3,
    "definition": 4,
    "type": 5,
    "usage": 6,
}


class Counter(Protocol):
    """Exact token counts, and a cheap estimate that errs high."""

    def __call__(self, text: str) -> int: ...

    def estimate(self, text: str) -> int: ...


@dataclass(frozen=True, slots=True)
class Budgets:
    """Tokens for cross-file context, the prefix window and the suffix window."""

    context: int
    prefix: int
    suffix: int


def budgets(
    settings: CompletionSettings,
    template: FimTemplate,
    context_window: int | None,
    budget: int | None = None,
) -> Budgets:
    """The three budgets; all fit the model's context window with room for the answer (the
    cross-file context gives way first, then the suffix, then the prefix)."""
    ctx = settings.budget_tokens if budget is None else budget
    prefix = settings.prefix_tokens
    suffix = settings.suffix_tokens if template.supports_suffix else 0
    if context_window:
        room = context_window - settings.max_tokens - 64
        over = ctx + prefix + suffix - room
        if over > 0:
            cut = min(over, ctx)
            ctx -= cut
            over -= cut
            if over > 0:
                suffix = max(0, suffix - over)
                prefix = max(64, prefix - max(0, over - settings.suffix_tokens))
    return Budgets(ctx, prefix, suffix)


def prefix_window(cur: Cursor, budget: int, estimate: Callable[[str], int]) -> tuple[int, str]:
    """(0-based first line, prefix text): as many lines as fit, starting on a stable line.

    Lines are sized with the calibrated estimate, which errs high: the windows only need to
    leave the model's context window room, and an exact count of a 1.5K-token window costs
    milliseconds per keystroke. (Cross-file snippets are counted exactly against --budget.)
    """
    total = estimate(cur.line_before)
    first = cur.line
    while first > 0:
        t = estimate(cur.lines[first - 1]) + 1
        if total + t > budget:
            break
        total += t
        first -= 1
    while True:
        if first > 0:
            first = min(cur.line, ((first + PREFIX_STEP - 1) // PREFIX_STEP) * PREFIX_STEP)
        text = "\n".join([*cur.lines[first : cur.line], cur.line_before])
        if first >= cur.line or estimate(text) <= budget:
            return first, text
        first += PREFIX_STEP


def suffix_window(cur: Cursor, budget: int, estimate: Callable[[str], int]) -> tuple[int, str]:
    """(0-based last line, suffix text)."""
    if budget <= 0:
        return cur.line, ""
    total = estimate(cur.line_after)
    last = cur.line
    while last + 1 < len(cur.lines):
        t = estimate(cur.lines[last + 1]) + 1
        if total + t > budget:
            break
        total += t
        last += 1
    while True:
        text = "\n".join([cur.line_after, *cur.lines[cur.line + 1 : last + 1]])
        if last <= cur.line or estimate(text) <= budget:
            return last, text
        last = max(cur.line, last - 4)


def fit(
    choices: list[Choice],
    budget: int,
    count: Counter,
    clean: Callable[[str, str], str] | None = None,
) -> list[Snippet]:
    """Choose with estimated counts, then make the budget hold in exact tokens (file headers
    included). ``clean(text, path)`` (the secret filter) rewrites each chosen snippet before
    it is counted: only what goes into the prompt pays for it, and the count is of what goes."""
    if budget <= 0:
        return []
    chosen = select(choices, budget, count.estimate)
    headers = {c.path: c.header_tokens for c in choices}
    for s in chosen:
        if clean is not None:
            s.text = clean(s.text, s.path)
        s.tokens = count(s.text)
    total = sum(s.tokens + headers.get(s.path, 0) for s in chosen)
    while chosen and total > budget:  # the estimate was low: drop the least useful
        worst = min(range(len(chosen)), key=lambda i: chosen[i].score)
        dropped = chosen.pop(worst)
        total -= dropped.tokens + headers.get(dropped.path, 0)
    if total < budget:  # the estimate was high: what it held back is room for fillers
        chosen = top_up(chosen, choices, budget - total, count, clean)
    return chosen


def _key(s: Snippet) -> tuple[str, int, int]:
    return (s.path, s.start_line, s.end_line)


class SnippetOrder:
    """The order snippets were last shown in, per file: stable material first, and snippets
    shown last time keep their relative order (consecutive prompts share a long prefix)."""

    def __init__(self, files: int = 64) -> None:
        self._order: OrderedDict[str, list[tuple[str, int, int]]] = OrderedDict()
        self._files = files
        self._lock = threading.Lock()

    def arrange(self, path: str, snippets: list[Snippet]) -> list[Snippet]:
        fresh = sorted(
            snippets, key=lambda s: (SOURCE_ORDER.get(s.source, 9), s.path, s.start_line)
        )
        with self._lock:
            previous = self._order.get(path, [])
            position = {k: i for i, k in enumerate(previous)}
            kept = sorted(
                (s for s in fresh if _key(s) in position), key=lambda s: position[_key(s)]
            )
            new = [s for s in fresh if _key(s) not in position]
            ordered = kept + new
            self._order[path] = [_key(s) for s in ordered]
            self._order.move_to_end(path)
            while len(self._order) > self._files:
                self._order.popitem(last=False)
        return ordered


def top_members(
    own: list[Definition],
    inherited: list[tuple[str, Definition]],
    limit: int,
    partial: str,
    uses: Mapping[str, int] | None = None,
) -> tuple[list[Definition], list[tuple[str, Definition]]]:
    """The ``limit`` members most worth showing, in source order: those matching what is being
    typed, then public before private, then the ones the repository uses most (``uses``: name
    -> how many chunks use it), own before inherited, in source order.

    A big class's outline cannot list every member; the ones its callers reach for are the
    likeliest next (``response.status_code``, not ``response.charset_encoding``)."""
    uses = uses or {}
    entries: list[tuple[int, int, Definition, Definition | tuple[str, Definition]]] = [
        (0, i, m, m) for i, m in enumerate(own)
    ]
    entries += [(1, i, m, (base, m)) for i, (base, m) in enumerate(inherited)]

    def rank(entry: tuple[int, int, Definition, object]) -> tuple[int, int, int, int, int]:
        inherited_, i, m, _ = entry
        typed = 0 if partial and m.name.startswith(partial) else 1
        return (typed, int(m.name.startswith("_")), -uses.get(m.name, 0), inherited_, i)

    keep = sorted(sorted(entries, key=rank)[:limit], key=lambda e: (e[0], e[1]))
    keep_own = [x for *_, x in keep if isinstance(x, Definition)]
    keep_inh = [x for *_, x in keep if isinstance(x, tuple)]
    return keep_own, keep_inh

"""Choosing and rendering context snippets within a token budget (pure: no index, no model).

Greedy by score. Each candidate gets the richest rendering that fits while leaving room for a
one-line stub of the next few candidates, so ten imported helpers are all visible as
signatures rather than one of them shown whole. Near-duplicates and snippets already covered
by a chosen one are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from ..types import Snippet
from .render import CONTAINER_KINDS, Rendered

__all__ = ["Choice", "estimate_tokens", "levels_for", "select", "top_up"]

_DUPLICATE_RATIO = 92.0


def estimate_tokens(text: str) -> int:
    """A quick, deliberately generous estimate (code averages ~3.2 characters per token)."""
    return len(text) // 3 + 1


@dataclass(frozen=True)
class Choice:
    """One candidate as the budget sees it: how to render it at each level."""

    key: tuple[str, int, str]
    path: str
    score: float
    source: str
    symbol: str
    levels: Sequence[str]  # richest first
    render: Callable[[str], Rendered]
    header_tokens: int = 0  # what the template adds around it (path header)


def _share_cap(score: float, budget: int) -> int:
    """The most one snippet may take: what the cursor is about to use may take most."""
    if score >= 5:
        return int(budget * 0.6)
    if score >= 1:
        return int(budget * 0.3)
    return int(budget * 0.12)


@dataclass
class _Entry:
    choice: Choice
    level: str
    rendered: Rendered
    tokens: int  # header included


def select(
    choices: Sequence[Choice],
    budget: int,
    count: Callable[[str], int],
) -> list[Snippet]:
    """Snippets for ``choices`` (best first) whose tokens, headers included, fit ``budget``.

    Two passes: first every candidate's cheapest rendering (a signature) in score order, so
    many definitions are visible; then, in score order, upgrades to richer renderings (whole
    bodies, class outlines) while the budget lasts, each capped to a share of the budget;
    last, the fillers (look-alike code, repo maps) in what is left.
    """
    remaining = budget
    entries: list[_Entry] = []
    spans: list[tuple[str, int, int, str]] = []
    # Fillers (one rendering only, low score: look-alike windows, repo maps) come after the
    # upgrades: a 300-token window must not leave the class the cursor is typing a member of
    # as a bare `class Response:` line.
    deferred = [c for c in choices if _filler(c)]

    def take(choice: Choice, filler: bool = False) -> None:
        nonlocal remaining
        level = choice.levels[-1]
        rendered = choice.render(level)
        tokens = count(rendered.text) + choice.header_tokens
        if tokens > remaining:
            return
        if _covered(rendered, choice.path, level, spans):
            return
        if (filler or choice.source == "similar") and any(
            e.choice.path == choice.path
            and e.rendered.start_line <= rendered.end_line
            and rendered.start_line <= e.rendered.end_line
            for e in entries
        ):
            return  # a window over code already shown
        entries.append(_Entry(choice, level, rendered, tokens))
        spans.append((choice.path, rendered.start_line, rendered.end_line, level))
        remaining -= tokens

    for choice in choices:
        if not _filler(choice):
            take(choice)
    for _ in range(2):
        for entry in entries:
            choice = entry.choice
            cap = _share_cap(choice.score, budget)
            # climb from the current level towards the richest; renderings grow, so the first
            # that does not fit ends the climb
            current = list(choice.levels).index(entry.level)
            for level in reversed(choice.levels[:current]):
                rendered = choice.render(level)
                tokens = count(rendered.text) + choice.header_tokens
                extra = tokens - entry.tokens
                if extra > remaining or tokens > max(cap, entry.tokens):
                    break
                entry.level, entry.rendered, entry.tokens = level, rendered, tokens
                remaining -= extra
        # drop what a whole rendering of something else already shows; retry upgrades
        fulls = [
            (e.choice.path, e.rendered.start_line, e.rendered.end_line, e.level, id(e))
            for e in entries
            if e.level == "full"
        ]
        kept: list[_Entry] = []
        for entry in entries:
            others = [f[:4] for f in fulls if f[4] != id(entry) and f[0] == entry.choice.path]
            if others and _covered(entry.rendered, entry.choice.path, "", others):
                remaining += entry.tokens
                continue
            kept.append(entry)
        if len(kept) == len(entries):
            break
        entries = kept
    for choice in deferred:
        take(choice, filler=True)
    chosen: list[Snippet] = []
    seen_texts: set[str] = set()
    long_texts: list[tuple[str, str]] = []  # (path, text) of the longer snippets
    for entry in entries:
        text = entry.rendered.text
        if text in seen_texts:
            continue
        if len(text) >= 200:
            # near-duplicates (copied code in two files): only long texts are worth comparing
            if any(
                p != entry.choice.path
                and 0.8 < len(t) / len(text) < 1.25
                and fuzz.ratio(t, text) >= _DUPLICATE_RATIO
                for p, t in long_texts
            ):
                continue
            long_texts.append((entry.choice.path, text))
        seen_texts.add(text)
        chosen.append(
            Snippet(
                path=entry.choice.path,
                start_line=entry.rendered.start_line,
                end_line=entry.rendered.end_line,
                text=text,
                tokens=entry.tokens - entry.choice.header_tokens,
                source=entry.choice.source,
                score=entry.choice.score,
                symbol=entry.choice.symbol,
            )
        )
    return chosen


def top_up(
    chosen: list[Snippet],
    choices: Sequence[Choice],
    room: int,
    count: Callable[[str], int],
    clean: Callable[[str, str], str] | None = None,
) -> list[Snippet]:
    """``chosen`` plus the fillers of ``choices`` (look-alike windows, repo maps; best first)
    that fit ``room`` exact tokens, headers included.

    :func:`select` sizes with an estimate that errs high, so it leaves fillers out of room
    that exact counts then show is free: often the look-alike window whose lines the cursor
    is about to repeat. Nothing already chosen moves or changes."""
    out = list(chosen)
    texts = {s.text for s in out}
    for choice in choices:
        if room <= 0:
            break
        if not _filler(choice):
            continue
        rendered = choice.render(choice.levels[0])
        if any(
            s.path == choice.path
            and s.start_line <= rendered.end_line
            and rendered.start_line <= s.end_line
            for s in out
        ):
            continue  # code already shown, or a window over it
        text = clean(rendered.text, choice.path) if clean is not None else rendered.text
        if text in texts:
            continue
        tokens = count(text)
        if tokens + choice.header_tokens > room:
            continue
        texts.add(text)
        room -= tokens + choice.header_tokens
        out.append(
            Snippet(
                path=choice.path,
                start_line=rendered.start_line,
                end_line=rendered.end_line,
                text=text,
                tokens=tokens,
                source=choice.source,
                score=choice.score,
                symbol=choice.symbol,
            )
        )
    return out


def _filler(choice: Choice) -> bool:
    return choice.score < 1.0 and len(choice.levels) == 1 and choice.levels[0] != "stub"


def _covered(r: Rendered, path: str, level: str, spans: list[tuple[str, int, int, str]]) -> bool:
    """Already shown: inside a chosen full rendering, or the same span at the same level."""
    for p, start, end, chosen_level in spans:
        if p != path:
            continue
        inside = start <= r.start_line and r.end_line <= end
        same = (start, end) == (r.start_line, r.end_line)
        if chosen_level == "full" and inside and (not same or level != "full"):
            return True
        if (start, end) == (r.start_line, r.end_line) and chosen_level == level:
            return True
    return False


_OUTLINES = ("outline", "outline-24", "outline-12", "outline-6")


def levels_for(
    kind: str, prefer_outline: bool, small: bool, important: bool = True
) -> tuple[str, ...]:
    """Renderings to try, richest first, for a definition kind.

    ``important`` candidates (what the cursor uses) may be shown whole; the rest (a file's
    other imports) at most as signatures with their first doc line.
    """
    if kind in CONTAINER_KINDS:
        if not important:
            return ("outline-12", "outline-6", "stub")
        if prefer_outline or not small:
            return (*_OUTLINES, "stub")
        return ("full", *_OUTLINES, "stub")
    if kind in ("function", "method"):
        return ("full", "compact", "stub") if small and important else ("compact", "stub")
    return ("full", "stub") if small else ("stub",)

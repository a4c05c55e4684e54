"""Packing whole units into a token budget, and ordering them by dependency (pure: no index,
no model; the caller supplies texts, a token counter and the dependency edges).

Every block in the context is ``header + text + footer`` (see :func:`block_parts`); its cost is
the exact token count of each part plus one token of slack for the boundary, so a packed
context never exceeds its budget even where a tokenizer merges across a boundary. Units are
taken whole in score order; a unit that does not fit is skipped for smaller ones after it,
except the very best few, which may be cut after their head (signature and docstring) rather
than lost.

Nothing secret is packed: an item of a file that is a secret as a whole (``.env``, a private
key, a credentials file: :func:`repolens.secret_filter.secret_file`) is left out and named in
:attr:`PackResult.withheld`, and secret-looking values in the others are redacted before they
are counted (:func:`repolens.secret_filter.redact`, line numbers unchanged). Q&A, the project
overview and the code actions' context all pack here, so this is their one filter.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from ..secret_filter import redact_lines, secret_file
from ..tokens import TokenCounter  # re-exported: Q&A and code actions count with it
from ..types import Snippet, Withheld

__all__ = [
    "BOUNDARY_SLACK",
    "PackItem",
    "PackResult",
    "TokenCounter",
    "block_parts",
    "dependency_order",
    "pack",
    "render_block",
]

BOUNDARY_SLACK = 1  # tokens per block boundary
_MIN_BLOCK = 24  # below this many tokens left, stop looking
_MAX_MISSES = 400  # consecutive units that did not fit: the rest will not either


@dataclass(slots=True)
class PackItem:
    """One unit offered to the packer, best first."""

    path: str
    start_line: int
    end_line: int
    lines: Sequence[str]  # the unit's lines, start_line..end_line
    score: float
    source: str
    symbol: str = ""
    language: str = ""  # the code fence's info string
    comment: str = "#"  # line comment of the language, for the "lines not shown" note
    head_lines: int = 0  # lines that must survive a cut (0: never cut this unit)

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.path, self.start_line, self.end_line)


def block_parts(
    path: str, start_line: int, end_line: int, symbol: str, language: str
) -> tuple[str, str]:
    """Header and footer around a snippet's text: path and lines first, for citations."""
    what = f" ({symbol})" if symbol else ""
    return f"{path}:{start_line}-{end_line}{what}\n```{language}\n", "\n```\n"


def render_block(snippet: Snippet, language: str = "") -> str:
    header, footer = block_parts(
        snippet.path, snippet.start_line, snippet.end_line, snippet.symbol, language
    )
    return header + snippet.text + footer


@dataclass
class PackResult:
    snippets: list[Snippet]  # in score order
    languages: dict[tuple[str, int, int], str]
    tokens: int  # cost of all blocks, slack included
    considered: int
    cut: int  # units shown only up to a point
    withheld: list[Withheld] = field(default_factory=list)  # secret files left out


def pack(
    items: Iterable[PackItem],
    budget: int,
    count: Callable[[str], int],
    *,
    cut_top: int = 3,
) -> PackResult:
    """Choose whole units (best first) whose blocks fit ``budget`` tokens."""
    remaining = budget
    chosen: list[Snippet] = []
    languages: dict[tuple[str, int, int], str] = {}
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    footer_cost: dict[str, int] = {}
    chars_per_token = 0.0
    counted_chars = counted_tokens = 0
    misses = considered = cut = 0
    prefetch = getattr(count, "count_many", None)
    withheld: dict[str, str] = {}

    def plan() -> tuple[int, float]:
        return remaining, chars_per_token

    for rank, item in enumerate(_prefetched(_without_secrets(items, withheld), prefetch, plan)):
        if remaining < _MIN_BLOCK or misses >= _MAX_MISSES:
            break
        considered += 1
        if any(s <= item.end_line and item.start_line <= e for s, e in spans[item.path]):
            continue  # overlaps a unit already chosen
        text = "\n".join(item.lines)
        # Skip what clearly cannot fit without paying for an exact count (the estimate is
        # only used to skip, never to admit).
        may_cut = rank < cut_top and item.head_lines > 0
        if not may_cut and chars_per_token and len(text) / (chars_per_token * 1.6) > remaining:
            misses += 1
            continue
        header, footer = block_parts(
            item.path, item.start_line, item.end_line, item.symbol, item.language
        )
        if footer not in footer_cost:
            footer_cost[footer] = count(footer)
        fixed = count(header) + footer_cost[footer] + BOUNDARY_SLACK
        text_tokens = count(text)
        counted_chars += len(text)
        counted_tokens += text_tokens
        chars_per_token = counted_chars / max(counted_tokens, 1)
        end_line = item.end_line
        if fixed + text_tokens > remaining:
            if not may_cut:
                misses += 1
                continue
            fitted = _cut(item, remaining, count, footer_cost[footer])
            if fitted is None:
                misses += 1
                continue
            text, text_tokens, end_line, fixed = fitted
            cut += 1
        misses = 0
        snippet = Snippet(
            path=item.path,
            start_line=item.start_line,
            end_line=end_line,
            text=text,
            tokens=text_tokens,
            source=item.source,
            score=item.score,
            symbol=item.symbol,
        )
        chosen.append(snippet)
        languages[(item.path, item.start_line, end_line)] = item.language
        spans[item.path].append((item.start_line, item.end_line))
        remaining -= fixed + text_tokens
    secret = [Withheld(p, r) for p, r in withheld.items()]
    return PackResult(chosen, languages, budget - remaining, considered, cut, secret)


def _without_secrets(items: Iterable[PackItem], withheld: dict[str, str]) -> Iterator[PackItem]:
    """The items of files that are not secrets, with secret values redacted; ``withheld``
    gets path -> reason for the files left out."""
    verdicts: dict[str, str | None] = {}
    for item in items:
        path = item.path
        if path not in verdicts or (verdicts[path] is None and item.start_line == 1):
            # a file's content is judged by its head: the item that starts at line 1
            head = "\n".join(item.lines[:200]) if item.start_line == 1 else None
            verdicts[path] = secret_file(path, head)
        reason = verdicts[path]
        if reason is not None:
            withheld.setdefault(path, reason)
            continue
        lines, redacted = redact_lines(item.lines, path)
        yield replace(item, lines=lines) if redacted else item


def _prefetched(
    items: Iterable[PackItem],
    count_many: Callable[[list[str]], list[int]] | None,
    plan: Callable[[], tuple[int, float]],
) -> Iterable[PackItem]:
    """The items, with the texts and headers of each next batch counted ahead (in parallel
    when the counter can), so the greedy loop finds its counts remembered.

    ``plan()`` tells the tokens left and the characters per token seen so far: a batch holds
    about what still fits, and texts that clearly cannot fit are not counted ahead.
    """
    if count_many is None:
        yield from items
        return
    it = iter(items)
    while True:
        remaining, chars_per_token = plan()
        size = 8
        if chars_per_token:
            size = max(4, min(64, int(remaining * chars_per_token / 600)))
        batch = list(itertools.islice(it, size))
        if not batch:
            return
        texts: list[str] = []
        for item in batch:
            text = "\n".join(item.lines)
            if chars_per_token and len(text) / (chars_per_token * 1.6) > remaining:
                continue
            texts.append(text)
            texts.append(
                block_parts(item.path, item.start_line, item.end_line, item.symbol, item.language)[
                    0
                ]
            )
        count_many(texts)
        yield from batch


def _cut(
    item: PackItem, remaining: int, count: Callable[[str], int], footer_tokens: int
) -> tuple[str, int, int, int] | None:
    """The longest head of ``item`` (at least ``head_lines``) that fits, with a note."""

    def attempt(n: int) -> tuple[str, int, int, int]:
        end = item.start_line + n - 1
        note = f"{item.comment} ... lines {end + 1}-{item.end_line} not shown".strip()
        text = "\n".join([*item.lines[:n], note])
        header, _ = block_parts(item.path, item.start_line, end, item.symbol, item.language)
        return text, count(text), end, count(header) + footer_tokens + BOUNDARY_SLACK

    lo, hi = item.head_lines, len(item.lines) - 1
    if lo > hi:
        return None
    best = None
    first = attempt(lo)
    if first[1] + first[3] > remaining:
        return None
    best = first
    while lo < hi:
        mid = (lo + hi + 1) // 2
        trial = attempt(mid)
        if trial[1] + trial[3] <= remaining:
            best, lo = trial, mid
        else:
            hi = mid - 1
    return best


def dependency_order(snippets: Sequence[Snippet], file_deps: dict[str, set[str]]) -> list[Snippet]:
    """Snippets grouped by file, files in dependency order (what a file uses comes first).

    ``file_deps[a]`` holds the files ``a`` depends on. Among files free to go next, the least
    relevant goes first, so the most relevant material sits right before the question; a cycle
    is broken at its least relevant file. Within a file, snippets are in line order.
    """
    by_file: dict[str, list[Snippet]] = defaultdict(list)
    for s in snippets:
        by_file[s.path].append(s)
    best = {p: max(s.score for s in group) for p, group in by_file.items()}
    files = set(by_file)
    deps = {p: {d for d in file_deps.get(p, set()) if d in files and d != p} for p in files}
    users: dict[str, set[str]] = defaultdict(set)
    for p, ds in deps.items():
        for d in ds:
            users[d].add(p)
    pending = {p: len(ds) for p, ds in deps.items()}
    ready = [(best[p], p) for p, n in pending.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(files):
        if not ready:  # a cycle: release its least relevant file
            p = min((p for p in files if p not in done), key=lambda p: (best[p], p))
            ready.append((best[p], p))
        _, p = heapq.heappop(ready)
        if p in done:
            continue
        done.add(p)
        order.append(p)
        for u in sorted(users[p]):
            pending[u] -= 1
            if pending[u] == 0 and u not in done:
                heapq.heappush(ready, (best[u], u))
    out: list[Snippet] = []
    for p in order:
        out.extend(sorted(by_file[p], key=lambda s: s.start_line))
    return out

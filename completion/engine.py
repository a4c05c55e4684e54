"""The completion engine: the prompt a code model sees when the user pauses typing.

``CompletionEngine.context`` is the whole retrieval and prompt-building path (the same the
editor's completion and ``repolens context`` use); ``complete``/``acomplete`` add the model
call, post-processing and the cache. It is two halves: *collect* reads what the cursor needs
(the buffer, definitions resolved through the index, look-alike windows, neighbours: all
through :class:`~repolens.completion.reader.RepoReader`) and turns it into choices; *build*
is :mod:`repolens.completion.plan`'s pure stages (budgets, windows, fitting, a stable order)
and the template. What the engine keeps across requests (recently used files, the order
snippets were shown in, answers already given) is handed in by its owner.

Prompt layout, for prefix caching: stable material first (repo map, the file's imported
definitions), then look-alike code, then what the cursor specifically needs, then the current
file. The current file's prefix window starts on a line that only moves every
``plan.PREFIX_STEP`` lines, and snippets keep their previous order across keystrokes, so
consecutive requests share a long prompt prefix that llama.cpp and vLLM reuse.

No secret enters the prompt, whatever the model URL: files that are secrets as a whole
(:func:`repolens.secret_filter.secret_file`) are never candidates, and every rendered snippet,
and the current buffer's prefix and suffix, go through :func:`repolens.secret_filter.redact`
before they are counted (a secret typed in the file being edited is redacted too). Both are
cached, so a keystroke pays for the new text only (see ``benchmarks/secret_filter.py``).
"""

from __future__ import annotations

import gc
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends.base import CancelToken, GenerationParams, Model, Tokenizer
from ..errors import UsageError
from ..indexer import Definition, LanguageSpec, RepoIndex, language_for_path
from ..secret_filter import count_redactions, preload, redact, secret_file
from ..settings import CompletionSettings
from ..tokens import TokenCounter, counts_file
from ..types import Snippet, Withheld
from .attributes import as_attribute, init_attributes
from .budget import Choice, levels_for
from .cache import CompletionCache
from .cursor import Cursor, analyze
from .plan import SnippetOrder, budgets, fit, prefix_window, suffix_window, top_members
from .postprocess import decide_mode, postprocess
from .reader import RepoReader
from .render import Rendered, full_fits, render
from .retrieval import Candidate, gather
from .similar import identifiers, similar_windows
from .templates import FimTemplate
from .usages import Usage, find_usages

__all__ = ["CompletionEngine", "CompletionResult", "ContextResult", "resolve_position"]

log = logging.getLogger(__name__)

_COUNT_CACHE = 20_000
_LOOKALIKE_FILES = 6  # files found repository-wide for look-alike windows
_LOOKALIKE_TERMS = 24  # identifiers nearest the cursor the search picks its rarest from
_PARTIAL_WORD = re.compile(r"\w+$")
_CLOSE_LOOKALIKE = 0.3  # Jaccard of a look-alike window that competes with definitions
_FILLER_ROOM = 48  # tokens left that are worth a look-alike search
_MEMBERS = 120  # of a class, own and inherited each, ranked for its outline
_OUTLINE_WHOLE = 70  # members in a class's outline at its richest


@dataclass
class ContextResult:
    """The JSON contract of ``repolens context`` (one per position)."""

    file: str
    line: int  # 1-based
    column: int  # 1-based
    template: str
    prompt: str
    prefix: str
    suffix: str
    snippets: list[Snippet]
    context_tokens: int
    timings_ms: dict[str, float]
    multiline: bool = False
    trigger: str = ""
    target: str = ""
    line_before: str = ""
    line_after: str = ""
    withheld: list[Withheld] = field(default_factory=list)  # secret files left out
    redactions: int = 0  # secret values replaced by <redacted:kind> in the prompt

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "template": self.template,
            "prompt": self.prompt,
            "prefix": self.prefix,
            "suffix": self.suffix,
            "snippets": [s.as_json() for s in self.snippets],
            "context_tokens": self.context_tokens,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        if self.withheld or self.redactions:  # present when the filter did something
            out["withheld"] = [w.as_json() for w in self.withheld]
            out["redactions"] = self.redactions
        return out


@dataclass
class CompletionResult:
    text: str
    context: ContextResult
    raw: str = ""
    cached: bool = False
    timings_ms: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out = self.context.as_json()
        out["completion"] = self.text
        out["cached"] = self.cached
        out["timings_ms"] = {
            **out["timings_ms"],
            **{k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        return out


def resolve_position(root: Path, file: str) -> str:
    """A repository-relative path (``/`` separators) for FILE, which may be absolute.

    Raises UsageError for files outside the repository (symlinks included)."""
    candidate = Path(file)
    full = candidate if candidate.is_absolute() else root / candidate
    try:
        real = full.resolve()
    except OSError as exc:
        raise UsageError(f"{file}: {exc.strerror or exc}") from None
    if not real.is_relative_to(root.resolve()):
        raise UsageError(f"{file}: outside the repository {root}; only its own files can be used")
    rel = os.path.relpath(full if not full.is_symlink() else real, root)
    return rel.replace(os.sep, "/")


def _counts_path(index: RepoIndex, tokenizer: Tokenizer, model: Model | None) -> Path | None:
    """Where the counts of the model's own tokenizer are kept between processes (beside the
    index, per model, as Q&A keeps its own); none for any other tokenizer."""
    if model is None or tokenizer is not model.tokenizer:
        return None
    return counts_file(index.store.path, model.info, "completion")


class CompletionEngine:
    """Context retrieval + prompt building + (optionally) the model call, for one repository."""

    def __init__(
        self,
        index: RepoIndex,
        settings: CompletionSettings,
        tokenizer: Tokenizer,
        template: FimTemplate,
        model: Model | None = None,
        context_window: int | None = None,
        repo_name: str | None = None,
        *,
        recent_files: list[str] | None = None,
        order: SnippetOrder | None = None,
        cache: CompletionCache | None = None,
    ) -> None:
        self.index = index
        self.settings = settings
        self.template = template
        self.model = model
        self.context_window = context_window
        self.repo_name = repo_name or index.root.name
        self.count = TokenCounter(
            tokenizer, size=_COUNT_CACHE, path=_counts_path(index, tokenizer, model)
        )
        self.reader = RepoReader(index)
        # state kept across requests, given by whoever owns it (the completion service)
        self.recent_files = recent_files if recent_files is not None else []  # most recent last
        self.order = order or SnippetOrder()
        self.cache = cache or CompletionCache()
        preload()  # the secret filter's detector, imported off the first keystroke's path

    # -- choices ---------------------------------------------------------------------------

    def _choice(
        self, cand: Candidate, spec_of: Callable[[str], LanguageSpec | None], partial: str = ""
    ) -> Choice | None:
        d = cand.definition
        spec = spec_of(d.path)
        if spec is None:
            return None
        index = self.index
        lines_memo: list[list[str]] = []

        def lines() -> list[str]:
            if not lines_memo:
                lines_memo.append(self.reader.lines_of(d.path))
            return lines_memo[0]

        members_cache: dict[str, tuple[list[Definition], list[tuple[str, Definition]]]] = {}

        def members() -> tuple[list[Definition], list[tuple[str, Definition]]]:
            if "m" not in members_cache:
                if d.kind == "module":
                    own = [x for x in index.file_definitions(d.path) if not x.scope][:40]
                    members_cache["m"] = (own, [])
                elif cand.score < 1.0:
                    # a file's other imports: its own members are enough (no base lookups)
                    members_cache["m"] = self._as_data(spec, index.members(d)[:_MEMBERS], [])
                    return members_cache["m"]
                else:
                    allm = index.all_members(d)
                    own = [
                        m
                        for m in allm
                        if m.scope == d.qualified_name or (m.path == d.path and m.scope == d.name)
                    ]
                    own_keys = {(m.path, m.start_line) for m in own}
                    inherited = [
                        (m.scope.split(".")[-1], m)
                        for m in allm
                        if (m.path, m.start_line) not in own_keys
                    ]
                    members_cache["m"] = self._as_data(spec, own[:_MEMBERS], inherited[:_MEMBERS])
            return members_cache["m"]

        rendered_cache: dict[str, Rendered] = {}

        def do_render(level: str) -> Rendered:
            hit = rendered_cache.get(level)
            if hit is None:
                hit = rendered_cache[level] = render_level(level)
            return hit

        def render_level(level: str) -> Rendered:
            if level.startswith("outline"):
                own, inherited = members()
                limit = int(level.split("-", 1)[1]) if "-" in level else _OUTLINE_WHOLE
                if len(own) + len(inherited) > limit:
                    names = tuple(dict.fromkeys(m.name for m in [*own, *(x for _, x in inherited)]))
                    uses = self.reader.name_uses(names)
                    own, inherited = top_members(own, inherited, limit, partial, uses)
                return render(
                    d, spec, "outline", file_lines=lines(), members=own, inherited=inherited
                )
            file_lines = lines() if level == "full" else ()
            return render(d, spec, level, file_lines=file_lines, container=cand.container)

        levels = levels_for(d.kind, cand.prefer_outline, full_fits(d), important=cand.score >= 1.0)
        return Choice(
            key=cand.key,
            path=d.path,
            score=cand.score,
            source=cand.reason,
            symbol=d.qualified_name,
            levels=levels,
            render=do_render,
            header_tokens=self.count(self._header_text(d.path)),
        )

    def _as_data(
        self,
        spec: LanguageSpec,
        own: list[Definition],
        inherited: list[tuple[str, Definition]],
    ) -> tuple[list[Definition], list[tuple[str, Definition]]]:
        """A Python class's members as its outline shows them: the attributes ``__init__``
        assigns first, properties as attributes, setters folded into their getters."""
        if spec.name != "python":
            return own, inherited
        lines_of = self.reader.lines_of
        shown = [x for m in own if (x := as_attribute(m, lines_of(m.path))) is not None]
        init = next((m for m in own if m.name == "__init__"), None)
        if init is not None:
            shown = init_attributes(init, lines_of(init.path), {m.name for m in own}) + shown
        kept = [
            (b, x) for b, m in inherited if (x := as_attribute(m, lines_of(m.path))) is not None
        ]
        return shown, kept

    def _header_text(self, path: str) -> str:
        if self.template.file_header:
            return self.template.file_header.format(path=path)
        return f"# Path: {path} (lines 1-1)\n\n"

    def _lookalike_files(self, cur: Cursor, allowed: Callable[[str], bool]) -> list[str]:
        """Files of the current one's language holding the chunks most like the lines before
        the cursor, repository-wide, best first (at most ``_LOOKALIKE_FILES``).

        The search takes the identifiers nearest the cursor (a word still being typed aside),
        so the keystrokes of one word ask the index once (:meth:`RepoReader.ranked_chunks`
        keeps the answer)."""
        stop = cur.language.stop_words
        before = _PARTIAL_WORD.sub("", cur.line_before)
        words = identifiers("\n".join([*cur.lines[max(0, cur.line - 10) : cur.line], before]))
        terms = list(dict.fromkeys(w.lower().strip("_") for w in reversed(words) if w not in stop))
        terms = [t for t in terms if len(t) > 1][:_LOOKALIKE_TERMS]
        out: list[str] = []
        for hit in self.reader.ranked_chunks(tuple(terms), 4 * _LOOKALIKE_FILES):
            if hit.path in out or hit.path == cur.path:
                continue
            spec = language_for_path(hit.path)
            if spec is None or spec.name != cur.language.name or not allowed(hit.path):
                continue
            out.append(hit.path)
            if len(out) >= _LOOKALIKE_FILES:
                break
        return out

    def _similar_choices(
        self, cur: Cursor, neighbours: Sequence[str], allowed: Callable[[str], bool]
    ) -> list[Choice]:
        query = "\n".join([*cur.lines[max(0, cur.line - 12) : cur.line], cur.line_before])
        # open/recent files first (their windows are warm), then a few import neighbours, then
        # the files anywhere in the repository whose chunks best match these lines (FTS5's
        # BM25): near-duplicates live in sibling tests and examples, not in the imports
        recent = [p for p in neighbours if p in self.recent_files][:6]
        others = [p for p in neighbours if p not in self.recent_files][:3]
        paths = list(dict.fromkeys([*recent, *others, *self._lookalike_files(cur, allowed)]))
        files = [
            (p, self.reader.windows_of(p, cur.language.stop_words)) for p in paths if p != cur.path
        ]
        windows = similar_windows(query, files, stop=cur.language.stop_words, top=3)
        out = []
        for rank, w in enumerate(windows):
            text = "\n".join(self.reader.lines_of(w.path)[w.start_line - 1 : w.end_line])
            rendered = Rendered(text, "full", w.start_line, w.end_line)
            out.append(
                Choice(
                    key=(w.path, w.start_line, "similar"),
                    path=w.path,
                    # the closest window, when close, ranks with the definitions; the rest
                    # fill what they leave
                    score=(1.0 if rank == 0 and w.score >= _CLOSE_LOOKALIKE else 0.3) + w.score,
                    source="similar",
                    symbol="",
                    levels=("full",),
                    render=_constant(rendered),
                    header_tokens=self.count(self._header_text(w.path)),
                )
            )
        return out

    def _usage_choices(
        self, cur: Cursor, targets: Sequence[Definition], allowed: Callable[[str], bool]
    ) -> list[Choice]:
        """Call sites of the trigger's target in other files (how the repository uses it),
        ranked just below the definitions the cursor needs."""
        if not targets or cur.trigger not in ("call", "member"):
            return []
        query = "\n".join([*cur.lines[max(0, cur.line - 12) : cur.line], cur.line_before])
        member = cur.trigger == "member"  # only a receiver's name is looked for nearby
        usages = find_usages(
            targets,
            current_path=cur.path,
            query=query,
            stop=cur.language.stop_words,
            references=self.index.references,
            lines_of=self.reader.lines_of,
            text_of=self.reader.text_of,
            allowed=lambda p: allowed(p) and _same_language(p, cur.language),
            receiver=cur.target if member else None,
            nearby=self.reader.neighbours(cur.path, self.recent_files) if member else (),
        )
        return [
            Choice(
                key=(u.path, u.start_line, "usage"),
                path=u.path,
                score=3.0 + u.score,
                source="usage",
                symbol=u.symbol,
                # the using lines first, the lines around them when the budget lasts (after
                # the definitions they illustrate have had their richer renderings)
                levels=("full", "usage"),
                render=_usage_render(u),
                header_tokens=self.count(self._header_text(u.path)),
            )
            for u in usages
        ]

    def _repo_map_choices(self, neighbours: Sequence[str]) -> list[Choice]:
        out = []
        for rank, p in enumerate(neighbours[:8]):
            spec = language_for_path(p)
            if spec is None:
                continue
            # what the file offers to call: test entry points are called by no code
            defs = [
                d
                for d in self.index.file_definitions(p)
                if not d.scope and not spec.is_test_name(d.name)
            ][:14]
            if not defs:
                continue
            text = "\n".join(f"{spec.line_comment} {(d.signature or d.name).strip()}" for d in defs)
            # "map", not "full": a list of signatures shows no definition whole
            rendered = Rendered(text, "map", defs[0].start_line, defs[-1].end_line)
            out.append(
                Choice(
                    key=(p, 0, "repo_map"),
                    path=p,
                    score=0.1 - rank * 0.005,
                    source="repo_map",
                    symbol="",
                    levels=("map",),
                    render=_constant(rendered),
                    header_tokens=self.count(self._header_text(p)),
                )
            )
        return out

    # -- the public path -------------------------------------------------------------------

    def context(
        self,
        path: str,
        line: int,
        column: int,
        *,
        text: str | None = None,
        budget: int | None = None,
    ) -> ContextResult:
        """Retrieval and the prompt for a cursor at 1-based ``line``/``column`` of ``path``."""
        # The cyclic GC would pause this latency-critical path for 10+ ms once the index caches
        # are big; what we allocate here is freed by reference counting, and a deferred
        # collection runs after the request, between keystrokes.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._context(path, line, column, text=text, budget=budget)
        finally:
            if was_enabled:
                gc.enable()

    def _context(
        self,
        path: str,
        line: int,
        column: int,
        *,
        text: str | None = None,
        budget: int | None = None,
    ) -> ContextResult:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        reason = secret_file(path)
        if reason is not None:
            raise UsageError(
                f"{path} is a secret file ({reason}): repolens does not complete in it"
            )
        buffer, spec = self.reader.file_text(path, text)
        lines = buffer.split("\n")
        if line < 1 or line > len(lines):
            raise UsageError(
                f"{path}:{line}:{column}: line {line} is past the end of the file "
                f"({len(lines)} lines)"
            )
        if column < 1 or column > len(lines[line - 1]) + 1:
            width = len(lines[line - 1])
            raise UsageError(
                f"{path}:{line}:{column}: column {column} is past the end of line {line} "
                f"({width} characters; the last position is {width + 1})"
            )
        cur = analyze(path, spec, buffer, line - 1, column - 1)
        room = budgets(self.settings, self.template, self.context_window, budget)
        ctx_budget = room.context
        first, prefix = prefix_window(cur, room.prefix, self.count.estimate)
        last, suffix = suffix_window(cur, room.suffix, self.count.estimate)
        prefix, suffix = redact(prefix, path).text, redact(suffix, path).text
        visible = (first + 1, last + 1)
        t = time.perf_counter()
        timings["window"] = (t - started) * 1000

        defs = self.reader.current_definitions(path, buffer, spec, line - 1)
        retrieval = gather(self.index, cur, defs, visible)
        t2 = time.perf_counter()
        timings["resolve"] = (t2 - t) * 1000

        spec_cache: dict[str, LanguageSpec | None] = {}

        def spec_of(p: str) -> LanguageSpec | None:
            if p not in spec_cache:
                spec_cache[p] = language_for_path(p)
            return spec_cache[p]

        withheld: dict[str, str] = {}

        def allowed(p: str) -> bool:
            reason = secret_file(p)
            if reason is not None:
                withheld.setdefault(p, reason)
            return reason is None

        partial = cur.partial if cur.trigger == "member" else ""
        candidates = [c for c in retrieval.candidates if allowed(c.definition.path)]
        choices = [c for c in (self._choice(cand, spec_of, partial) for cand in candidates) if c]
        choices += self._usage_choices(cur, retrieval.target, allowed)
        neighbours: list[str] = []
        if ctx_budget > 0:
            # look-alike code competes from the start: the closest window is often the line
            # the cursor is about to write, in a sibling test or example
            neighbours = [p for p in self.reader.neighbours(path, self.recent_files) if allowed(p)]
            choices += self._similar_choices(cur, neighbours, allowed)
        choices.sort(key=lambda c: -c.score)
        t3 = time.perf_counter()
        timings["collect"] = (t3 - t2) * 1000

        snippets = fit(choices, ctx_budget, self.count, clean=_clean)
        if ctx_budget - sum(s.tokens for s in snippets) >= _FILLER_ROOM:
            # room left: top up with a map of the neighbourhood
            fillers = self._repo_map_choices(neighbours)
            if fillers:
                choices = sorted(choices + fillers, key=lambda c: -c.score)
                snippets = fit(choices, ctx_budget, self.count, clean=_clean)
        snippets = self.order.arrange(path, snippets)
        t4 = time.perf_counter()
        timings["select"] = (t4 - t3) * 1000

        decision = decide_mode(cur.line_before, cur.line_after)
        prompt = self.template.render(
            repo_name=self.repo_name,
            path=path,
            language=spec.name,
            comment=spec.line_comment,
            snippets=snippets,
            prefix=prefix,
            suffix=suffix,
            multiline=decision.multiline,
        )
        end = time.perf_counter()
        timings["render"] = (end - t4) * 1000
        timings["total"] = (end - started) * 1000
        return ContextResult(
            file=path,
            line=line,
            column=column,
            template=self.template.name,
            prompt=prompt,
            prefix=prefix,
            suffix=suffix,
            snippets=snippets,
            context_tokens=sum(s.tokens for s in snippets),
            timings_ms=timings,
            multiline=decision.multiline,
            trigger=cur.trigger,
            target=cur.target,
            line_before=cur.line_before,
            line_after=cur.line_after,
            withheld=[Withheld(p, r) for p, r in withheld.items()],
            redactions=sum(count_redactions(s.text) for s in snippets)
            + count_redactions(prefix)
            + count_redactions(suffix),
        )

    # -- with the model --------------------------------------------------------------------

    def _params(self, ctx: ContextResult, max_tokens: int | None = None) -> GenerationParams:
        stop = list(self.template.stop)
        if not ctx.multiline:
            stop.append("\n")
        elif not self.template.supports_suffix:
            stop.append("\n\n\n")
        limit = max_tokens or self.settings.max_tokens
        return GenerationParams(
            max_tokens=limit if ctx.multiline else min(limit, 48),
            temperature=self.settings.temperature,
            stop=tuple(stop),
        )

    def _finish(
        self, ctx: ContextResult, raw: str, started: float, model_ms: float
    ) -> CompletionResult:
        text = postprocess(raw, ctx.line_before, ctx.line_after, ctx.suffix, ctx.multiline)
        full_prefix = ctx.prefix
        self.cache.put(ctx.file, full_prefix, ctx.suffix, text)
        return CompletionResult(
            text=text,
            context=ctx,
            raw=raw,
            timings_ms={
                "model": model_ms,
                "completion_total": (time.perf_counter() - started) * 1000,
            },
        )

    def complete(
        self,
        path: str,
        line: int,
        column: int,
        *,
        text: str | None = None,
        budget: int | None = None,
        cancel: CancelToken | None = None,
    ) -> CompletionResult:
        if self.model is None:
            raise UsageError("no model is configured for completion")
        started = time.perf_counter()
        ctx = self.context(path, line, column, text=text, budget=budget)
        hit = self.cache.get(path, ctx.prefix, ctx.suffix)
        if hit is not None:
            return CompletionResult(hit, ctx, cached=True, timings_ms={"model": 0.0})
        t = time.perf_counter()
        raw = "".join(self.model.complete(ctx.prompt, self._params(ctx), cancel))
        return self._finish(ctx, raw, started, (time.perf_counter() - t) * 1000)

    async def acomplete(
        self,
        path: str,
        line: int,
        column: int,
        *,
        text: str | None = None,
        budget: int | None = None,
        cancel: CancelToken | None = None,
        context: ContextResult | None = None,
        max_tokens: int | None = None,
    ) -> CompletionResult:
        """Async completion: cancelling the awaiting task closes the model's stream.

        ``context``: the result of :meth:`context` for these arguments, computed beforehand
        (the language server builds it in a worker thread, off its event loop).
        ``max_tokens``: the longest answer (default ``completion.max_tokens``)."""
        if self.model is None:
            raise UsageError("no model is configured for completion")
        started = time.perf_counter()
        ctx = context or self.context(path, line, column, text=text, budget=budget)
        hit = self.cache.get(path, ctx.prefix, ctx.suffix)
        if hit is not None:
            return CompletionResult(hit, ctx, cached=True, timings_ms={"model": 0.0})
        t = time.perf_counter()
        pieces: list[str] = []
        stream: AsyncIterator[str] = self.model.acomplete(
            ctx.prompt, self._params(ctx, max_tokens), cancel
        )
        try:
            async for piece in stream:
                pieces.append(piece)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        return self._finish(ctx, "".join(pieces), started, (time.perf_counter() - t) * 1000)


def _clean(text: str, path: str) -> str:
    """``text`` of ``path`` with secret values redacted (the same lines, so its span holds)."""
    return redact(text, path).text


def _constant(rendered: Rendered) -> Callable[[str], Rendered]:
    """A render function that gives the same text at every level (fillers have one)."""

    def render_any(level: str) -> Rendered:
        return rendered

    return render_any


def _same_language(path: str, spec: LanguageSpec) -> bool:
    other = language_for_path(path)
    return other is not None and other.name == spec.name


def _usage_render(u: Usage) -> Callable[[str], Rendered]:
    full = Rendered(u.text, "full", u.start_line, u.end_line)
    core = Rendered(u.core, "usage", u.start_line, u.end_line)
    return lambda level: full if level == "full" else core

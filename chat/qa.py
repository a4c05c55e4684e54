"""Repository question answering: retrieve, pack up to the model's window, stream the answer.

:class:`QAEngine` is what ``repolens ask``, the language server and the HTTP server call.
``retrieve`` is the whole context path without a model call (``repolens ask --context-only
--json`` prints its :meth:`QAContext.as_json`); ``answer``/``aanswer`` stream the model's
answer to the same prompt.

The budget is the whole prompt's: system prompt, context blocks, question and the chat
template's markers together stay within it. By default it is the model's context window
minus ``chat.answer_tokens`` (room for the answer), so a 128K model gets a prompt of up to
128K tokens, and ``chat.budget_tokens`` can lower it.

No secret enters the context: packing (:func:`repolens.chat.packing.pack`) leaves out files
that are secrets as a whole and redacts secret values in the rest; the context names what was
withheld and counts the values redacted (``withheld`` and ``redactions`` in its JSON, present
when there are any).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..backends.base import (
    CancelToken,
    ChatMessage,
    GenerationParams,
    Model,
    ModelInfo,
    Tokenizer,
)
from ..errors import UsageError
from ..indexer import RepoIndex, language_for_path
from ..search.embeddings import Embedder, EmbedderUnavailable, open_embedder
from ..search.retrieval import Candidate, FusionWeights, Retriever
from ..search.units import FUNCTION_KINDS, Unit
from ..search.vectors import VectorIndex
from ..secret_filter import count_redactions
from ..settings import Settings
from ..tokens import counts_file
from ..types import Snippet, Withheld
from .overview import (
    entry_point_items,
    fence_language,
    manifest_items,
    readme_items,
    repo_map_items,
)
from .packing import PackItem, PackResult, TokenCounter, dependency_order, pack, render_block
from .prompts import (
    CHAT_TEMPLATE_RESERVE,
    OVERVIEW_QUESTION,
    context_prefix,
    qa_messages,
    qa_system,
    question_suffix,
)

__all__ = ["QAContext", "QAEngine", "Repository"]

log = logging.getLogger(__name__)

#: below this budget the packed prompt is re-counted whole (cheap), as a final guarantee
_VERIFY_BELOW = 16_384
_MIN_BUDGET = 256


class Repository(Protocol):
    """What Q&A needs of an opened repository (a :class:`repolens.workspace.Workspace` is one):
    its root, settings and index, and the model handles, opened on first use."""

    @property
    def root(self) -> Path: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def index(self) -> RepoIndex: ...

    @property
    def model(self) -> Model: ...

    @property
    def model_info(self) -> ModelInfo: ...

    @property
    def tokenizer(self) -> Tokenizer: ...


@dataclass
class QAContext:
    """The context of one question: what ``repolens ask --context-only --json`` prints."""

    question: str
    snippets: list[Snippet]
    prompt_tokens: int
    timings_ms: dict[str, float]
    budget: int = 0
    messages: list[ChatMessage] = field(default_factory=list)
    overview: bool = False
    withheld: list[Withheld] = field(default_factory=list)  # secret files left out
    redactions: int = 0  # secret values replaced by <redacted:kind> in the snippets

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "question": self.question,
            "snippets": [s.as_json() for s in self.snippets],
            "prompt_tokens": self.prompt_tokens,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        if self.withheld or self.redactions:
            out["withheld"] = [w.as_json() for w in self.withheld]
            out["redactions"] = self.redactions
        return out

    @property
    def prompt(self) -> str:
        """The messages as plain text (for display; the model gets them through its template)."""
        return "\n\n".join(f"[{m.role}]\n{m.content}" for m in self.messages)


class QAEngine:
    """Questions about one repository."""

    def __init__(
        self,
        workspace: Repository,
        *,
        tokenizer: Tokenizer | None = None,
        embedder: Embedder | None = None,
        background_vectors: bool = True,
        weights: FusionWeights | None = None,
    ) -> None:
        self.ws = workspace
        self._tokenizer = tokenizer
        self._counter: TokenCounter | None = None
        self._counts_path: Path | None = None
        self._lock = threading.Lock()
        self._retrieving = threading.Lock()  # one question at a time through the caches
        self.vectors: VectorIndex | None = None
        self.vector_error: str | None = None
        self._open_vectors(embedder, background_vectors)
        self.retriever = Retriever(self.index, self.vectors, weights)

    # -- parts -----------------------------------------------------------------------------

    @property
    def index(self) -> RepoIndex:
        return self.ws.index

    @property
    def count(self) -> TokenCounter:
        with self._lock:
            if self._counter is None:
                if self._tokenizer is not None:
                    self._counter = TokenCounter(self._tokenizer)
                else:
                    # the model's own tokenizer: its counts are kept between processes
                    path = counts_file(self.index.store.path, self.ws.model_info, "qa")
                    self._counter = TokenCounter(self.ws.tokenizer, path=path)
                    self._counts_path = path
            return self._counter

    def _open_vectors(self, embedder: Embedder | None, background: bool) -> None:
        if embedder is None:
            try:
                embedder = open_embedder(self.ws.settings.embeddings, threads=1)
            except EmbedderUnavailable as exc:
                self.vector_error = str(exc)
                log.warning("semantic search is off: %s", exc)
                return
        if embedder is None:
            return
        self.vectors = VectorIndex(self.index, embedder)
        if background:
            self.vectors.start_background()

    def default_budget(self) -> int:
        """The model's window minus room for the answer (or ``chat.budget_tokens``, if lower)."""
        chat = self.ws.settings.chat
        window = self.ws.model_info.context_window
        budget = window - chat.answer_tokens
        if chat.budget_tokens is not None:
            budget = min(budget, chat.budget_tokens)
        return max(budget, _MIN_BUDGET)

    def close(self, wait_s: float = 5.0) -> None:
        """Stop building vectors (waiting ``wait_s`` for the batch in progress) and save."""
        if self.vectors is not None:
            self.vectors.stop(wait_s)
        if self._counter is not None and self._counts_path is not None:
            self._counter.save(self._counts_path)

    # -- context ---------------------------------------------------------------------------

    def retrieve(self, question: str, budget: int | None = None) -> QAContext:
        """The packed context for ``question`` within ``budget`` prompt tokens (no model call)."""
        if not question.strip():
            return self.overview(budget)
        with self._retrieving:
            return self._retrieve(question, budget)

    def _retrieve(self, question: str, budget: int | None) -> QAContext:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        budget = self._budget(budget)
        candidates = self.retriever.retrieve(
            question, depth=_depth(budget), limit=_limit(budget), timings=timings
        )
        if not candidates:  # nothing matches: tell the model what the project is, at least
            ctx = self._overview(budget, question)
            ctx.timings_ms = {**timings, **ctx.timings_ms}
            return ctx
        t1 = time.perf_counter()
        fixed = self._fixed_tokens(question)
        result = pack(self._items(candidates), budget - fixed, self.count)
        t2 = time.perf_counter()
        timings["pack"] = (t2 - t1) * 1000
        ordered = dependency_order(result.snippets, self._file_deps(result.snippets, candidates))
        ctx = self._finish(question, ordered, result, budget, fixed, timings, started)
        return ctx

    def overview(self, budget: int | None = None) -> QAContext:
        """What the project is: README, manifests, a repository map and its entry points."""
        with self._retrieving:
            return self._overview(budget)

    def _overview(self, budget: int | None, question: str = OVERVIEW_QUESTION) -> QAContext:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        budget = self._budget(budget)
        fixed = self._fixed_tokens(question)
        room = budget - fixed
        units = self.retriever.units
        units.refresh()
        sections: list[tuple[str, Callable[[], list[PackItem]], float]] = [
            ("readme", lambda: readme_items(self.index), 0.35),
            ("manifest", lambda: manifest_items(self.index), 0.10),
            ("entry_point", lambda: entry_point_items(self.index, units), 0.25),
            ("repo_map", lambda: repo_map_items(self.index), 1.0),
        ]
        snippets: list[Snippet] = []
        languages: dict[tuple[str, int, int], str] = {}
        withheld: dict[str, Withheld] = {}
        used = 0
        for name, make, share in sections:
            t = time.perf_counter()
            part_budget = int(min(room - used, max(room * share, 0)))
            if part_budget < 32:
                continue
            part = pack(make(), part_budget, self.count, cut_top=4)
            snippets += part.snippets
            languages.update(part.languages)
            withheld.update((w.path, w) for w in part.withheld)
            used += part.tokens
            timings[name] = (time.perf_counter() - t) * 1000
        # README and manifests first, then the map, then entry points (closest to the question)
        order = {"readme": 0, "manifest": 1, "repo_map": 2, "entry_point": 3}
        snippets.sort(key=lambda s: (order.get(s.source, 4), -s.score))
        result = PackResult(snippets, languages, used, len(snippets), 0, list(withheld.values()))
        ctx = self._finish(question, snippets, result, budget, fixed, timings, started)
        ctx.overview = True
        return ctx

    def _budget(self, budget: int | None) -> int:
        if budget is None:
            return self.default_budget()
        if budget < _MIN_BUDGET:
            raise UsageError(f"a budget of {budget} tokens is too small (at least {_MIN_BUDGET})")
        return budget

    def _fixed_tokens(self, question: str) -> int:
        """Tokens of everything in the prompt but the context blocks (boundaries included)."""
        repo = self.ws.root.name
        return (
            self.count(qa_system(repo))
            + self.count(context_prefix())
            + self.count(question_suffix(question))
            + CHAT_TEMPLATE_RESERVE
            + 2
        )

    def _items(self, candidates: Sequence[Candidate]) -> Iterator[PackItem]:
        """Pack items for candidates, reading each file's text once, lazily."""
        texts: dict[str, list[str] | None] = {}
        specs: dict[str, tuple[str, str]] = {}
        for rank, cand in enumerate(candidates):
            unit = cand.unit
            if unit.path not in texts:
                text = self.index.text(unit.path)
                texts[unit.path] = text.split("\n") if text is not None else None
            lines = texts[unit.path]
            if lines is None or unit.start_line > len(lines):
                continue
            end = min(unit.end_line, len(lines))
            while end > unit.start_line and not lines[end - 1].strip():
                end -= 1  # a file's trailing blank lines say nothing
            if unit.path not in specs:
                spec = language_for_path(unit.path)
                specs[unit.path] = (fence_language(unit.path), spec.line_comment if spec else "")
            language, comment = specs[unit.path]
            yield PackItem(
                path=unit.path,
                start_line=unit.start_line,
                end_line=end,
                lines=lines[unit.start_line - 1 : end],
                score=round(cand.score, 4),
                source=cand.source,
                symbol=unit.symbol,
                language=language,
                comment=comment,
                # only the best few may be cut (see pack); the rest need no head
                head_lines=self._head_lines(unit) if rank < 8 else 0,
            )

    def _head_lines(self, unit: Unit) -> int:
        """Lines a cut must keep: up to the end of the signature and docstring."""
        if unit.kind not in FUNCTION_KINDS | {"class", "struct", "interface", "file"}:
            return min(unit.lines, 6)
        for d in self.index.file_definitions(unit.path):
            if unit.start_line <= d.name_line <= unit.end_line:
                doc_lines = d.doc.count("\n") + 3 if d.doc else 1
                return min(unit.lines, d.name_line - unit.start_line + doc_lines)
        return min(unit.lines, 6)

    def _file_deps(
        self, snippets: Sequence[Snippet], candidates: Sequence[Candidate]
    ) -> dict[str, set[str]]:
        """File -> files it depends on: resolved imports and the graph edges retrieval used."""
        paths = {s.path for s in snippets}
        deps: dict[str, set[str]] = defaultdict(set)
        by_dir: dict[str, set[str]] = defaultdict(set)
        for p in paths:
            by_dir[p.rsplit("/", 1)[0] + "/" if "/" in p else ""].add(p)
        for p in paths:
            for imp in self.index.imports(p):
                target = imp.target
                if not target:
                    continue
                if target.endswith("/"):
                    deps[p].update(by_dir.get(target, set()))
                elif target in paths:
                    deps[p].add(target)
        for cand in candidates:
            via = cand.via
            if via is None or via.path not in paths or cand.unit.path not in paths:
                continue
            if cand.source == "definition":
                deps[via.path].add(cand.unit.path)
            elif cand.source == "caller":
                deps[cand.unit.path].add(via.path)
        return deps

    def _finish(
        self,
        question: str,
        snippets: list[Snippet],
        result: PackResult,
        budget: int,
        fixed: int,
        timings: dict[str, float],
        started: float,
    ) -> QAContext:
        t = time.perf_counter()
        repo = self.ws.root.name
        prompt_tokens = fixed + result.tokens
        while True:
            context = "".join(render_block(s, result.languages.get(_key(s), "")) for s in snippets)
            messages = qa_messages(repo, context, question)
            if budget > _VERIFY_BELOW:
                break
            exact = sum(self.count(m.content) for m in messages) + CHAT_TEMPLATE_RESERVE
            if exact <= budget or not snippets:
                prompt_tokens = exact
                break
            # a tokenizer merged across a boundary after all: drop the least relevant block
            worst = min(range(len(snippets)), key=lambda i: snippets[i].score)
            snippets = snippets[:worst] + snippets[worst + 1 :]
        timings["render"] = (time.perf_counter() - t) * 1000
        timings["total"] = (time.perf_counter() - started) * 1000
        return QAContext(
            question=question,
            snippets=snippets,
            prompt_tokens=prompt_tokens,
            timings_ms=timings,
            budget=budget,
            messages=messages,
            withheld=result.withheld,
            redactions=sum(count_redactions(s.text) for s in snippets),
        )

    # -- answers ---------------------------------------------------------------------------

    def _params(self, max_tokens: int | None) -> GenerationParams:
        chat = self.ws.settings.chat
        return GenerationParams(
            max_tokens=max_tokens or chat.answer_tokens, temperature=chat.temperature, seed=0
        )

    def answer_budget(self, budget: int | None) -> int:
        """The prompt budget for a real answer: never more than the window leaves."""
        limit = self.default_budget()
        if budget is None:
            return limit
        if budget > limit:
            log.warning(
                "budget %d is more than the model's window leaves for the prompt; using %d",
                budget,
                limit,
            )
            return limit
        return budget

    def astream(
        self, ctx: QAContext, cancel: CancelToken | None = None, max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        """Stream the model's answer to a context from :meth:`retrieve` (closing the iterator
        stops the model); :class:`repolens.app.QuestionService` runs the whole question."""
        return self.ws.model.achat(ctx.messages, self._params(max_tokens), cancel)


def _key(s: Snippet) -> tuple[str, int, int]:
    return (s.path, s.start_line, s.end_line)


def _limit(budget: int) -> int:
    """How many lexical hits to fuse: enough units to fill the budget several times over."""
    return max(300, budget // 40)


def _depth(budget: int) -> int:
    """How many of the best units to expand along the symbol graph, by budget."""
    return max(4, min(16, budget // 4000))

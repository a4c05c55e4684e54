"""Complete every task under every context mode with the configured model, and score it.

Modes (the same template, prefix, suffix and generation settings; only the cross-file context
differs):

- ``none``: the current file only;
- ``bm25``: CrossCodeEval's retrieval baseline: 10-line chunks of the other files of the same
  language, ranked by BM25 against the last 10 lines before the cursor, as many as fit in the
  same number of characters as repolens's context at that task;
- ``repolens``: what ``repolens context`` puts there (the editor's own code path);
- ``definitions``: only the resolved definitions of that context (``definition``, ``type``,
  ``base`` snippets), without imports, look-alike code or the repo map: an instrument that
  shows whether the rest of the context helps the model or distracts it;
- ``hybrid``: those definitions, then BM25 chunks in the rest of repolens's characters (look-alike
  uses of the same API, nearest the cursor): an experiment, for what repolens's fillers could be.

Generation is greedy with a fixed seed and stops at the end of the line (every task hides the
rest of one line), so a run is the same for the same tasks and model.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..backends.base import GenerationParams
from ..completion.postprocess import postprocess
from ..indexer import language_for_path
from ..secret_filter import redact, secret_file
from ..tokens import TokenCounter
from ..types import Snippet
from .bm25 import BM25
from .metrics import Score, Summary, score, summarize
from .tasks import EvalTask

if TYPE_CHECKING:
    from ..completion.engine import CompletionEngine

__all__ = ["MODES", "EvalResult", "Evaluation", "Report"]

MODES = ("none", "bm25", "repolens", "definitions", "hybrid")
_DEFINITIONS = frozenset({"definition", "type", "base"})
_WORD = re.compile(r"[A-Za-z_]\w*")
_CHUNK_LINES = 10


class _Chunks:
    """BM25 over the 10-line chunks of one language's files. The chunks come from the index,
    not from repolens's context, so they pass the secret filter here: secret files are left
    out and secret-looking values redacted, as in every other prompt."""

    def __init__(self, files: dict[str, str]) -> None:
        self.meta: list[tuple[str, int, int, str]] = []
        docs: list[list[str]] = []
        for path in sorted(files):
            if secret_file(path, files[path]) is not None:
                continue
            lines = files[path].split("\n")
            for start in range(0, len(lines), _CHUNK_LINES):
                body = redact("\n".join(lines[start : start + _CHUNK_LINES]), path).text
                if body.strip():
                    self.meta.append((path, start + 1, min(start + _CHUNK_LINES, len(lines)), body))
                    docs.append(_WORD.findall(body))
        self.bm25 = BM25(docs)

    def snippets(self, path: str, prefix: str, chars: int) -> list[Snippet]:
        query = _WORD.findall("\n".join(prefix.split("\n")[-_CHUNK_LINES:]))
        out: list[Snippet] = []
        used = 0
        for i in self.bm25.top(query):
            p, start, end, body = self.meta[i]
            if p == path:
                continue
            if used + len(body) > chars:
                break
            out.append(Snippet(p, start, end, body, 0, "bm25"))
            used += len(body)
        return out


@dataclass(frozen=True, slots=True)
class EvalResult:
    task: EvalTask
    mode: str
    completion: str
    score: Score
    latency_ms: float
    prompt_tokens: int
    prefix_reuse: float
    context_chars: int

    def as_json(self) -> dict[str, Any]:
        return {
            "task": self.task.id,
            "mode": self.mode,
            "completion": self.completion,
            "exact": self.score.exact,
            "first_identifier": self.score.first_identifier,
            "edit_similarity": round(self.score.edit_similarity, 4),
            "latency_ms": round(self.latency_ms, 1),
            "prompt_tokens": self.prompt_tokens,
            "prefix_reuse": round(self.prefix_reuse, 3),
            "context_chars": self.context_chars,
        }


@dataclass
class Report:
    """Every result, and the figures per group of tasks and mode."""

    modes: Sequence[str]
    tasks: list[EvalTask]
    results: list[EvalResult] = field(default_factory=list)
    seconds: float = 0.0

    def groups(self) -> dict[str, Callable[[EvalTask], bool]]:
        groups: dict[str, Callable[[EvalTask], bool]] = {
            "all": lambda t: True,
            "deciding, answer not in the file": lambda t: t.deciding and not t.in_file,
            "deciding": lambda t: t.deciding,
        }
        for kind in sorted({t.kind for t in self.tasks}):
            groups[kind] = lambda t, k=kind: t.kind == k  # type: ignore[misc]
        return groups

    def summary(self) -> dict[str, dict[str, Summary]]:
        out: dict[str, dict[str, Summary]] = {}
        for name, member in self.groups().items():
            per_mode: dict[str, list[EvalResult]] = defaultdict(list)
            for r in self.results:
                if member(r.task):
                    per_mode[r.mode].append(r)
            if not per_mode:
                continue
            out[name] = {
                mode: summarize(
                    [r.score for r in rs],
                    [r.latency_ms for r in rs],
                    [r.prompt_tokens for r in rs],
                    [r.prefix_reuse for r in rs],
                )
                for mode, rs in ((m, per_mode[m]) for m in self.modes)
                if rs
            }
        return out


def _shared_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class Evaluation:
    """Runs tasks through one completion engine (its index, template, tokenizer and model)."""

    def __init__(
        self,
        engine: CompletionEngine,
        *,
        budget: int,
        modes: Sequence[str] = MODES[:3],
        max_tokens: int = 32,
        seed: int = 0,
    ) -> None:
        unknown = [m for m in modes if m not in MODES]
        if unknown:
            raise ValueError(
                f"unknown mode(s) {', '.join(unknown)}: choose from {', '.join(MODES)}"
            )
        if engine.model is None:
            raise ValueError("no model is configured for completion")
        # Token counts the engine saved in an earlier run calibrate its estimates and so move
        # the windows: an evaluation starts from none, so a seed gives the same prompts every time
        engine.count = TokenCounter(engine.count.tokenizer, size=20_000)
        self.engine = engine
        self.model = engine.model
        self.budget = budget
        self.modes = tuple(modes)
        self.params = GenerationParams(
            max_tokens=max_tokens,
            temperature=0.0,
            stop=(*engine.template.stop, "\n"),
            seed=seed,
        )
        self._chunks: dict[str, _Chunks] = {}
        self._last_prompt = ""

    def _bm25(self, task: EvalTask) -> _Chunks:
        spec = language_for_path(task.path)
        key = spec.name if spec else ""
        if key not in self._chunks:
            index = self.engine.index
            files = {}
            for p in index.files():
                other = language_for_path(p)
                if (other.name if other else "") == key:
                    files[p] = index.text(p) or ""
            self._chunks[key] = _Chunks(files)
        return self._chunks[key]

    def prompts(self, task: EvalTask) -> dict[str, tuple[str, int, Any]]:
        """mode -> (prompt, characters of cross-file context, the context result)."""
        engine = self.engine
        ctx = engine.context(task.path, task.line, task.column, text=task.text, budget=self.budget)
        spec = language_for_path(task.path)
        chars = sum(len(s.text) for s in ctx.snippets)

        def render(snippets: Sequence[Snippet]) -> str:
            return engine.template.render(
                repo_name=engine.repo_name,
                path=task.path,
                language=spec.name if spec else "",
                comment=spec.line_comment if spec else "#",
                snippets=snippets,
                prefix=ctx.prefix,
                suffix=ctx.suffix,
                multiline=False,
            )

        out: dict[str, tuple[str, int, Any]] = {}
        for mode in self.modes:
            if mode == "none":
                out[mode] = (render([]), 0, ctx)
            elif mode == "bm25":
                found = self._bm25(task).snippets(task.path, ctx.prefix, chars)
                out[mode] = (render(found), sum(len(s.text) for s in found), ctx)
            elif mode in ("definitions", "hybrid"):
                found = [s for s in ctx.snippets if s.source in _DEFINITIONS]
                if mode == "hybrid":
                    room = chars - sum(len(s.text) for s in found)
                    found += self._bm25(task).snippets(task.path, ctx.prefix, room)
                out[mode] = (render(found), sum(len(s.text) for s in found), ctx)
            else:
                out[mode] = (render(ctx.snippets), chars, ctx)
        return out

    def complete(self, prompt: str) -> tuple[str, float]:
        started = time.perf_counter()
        raw = "".join(self.model.complete(prompt, self.params))
        return raw, (time.perf_counter() - started) * 1000

    def run_task(self, task: EvalTask) -> list[EvalResult]:
        results = []
        for mode, (prompt, chars, ctx) in self.prompts(task).items():
            raw, ms = self.complete(prompt)
            text = postprocess(raw, ctx.line_before, ctx.line_after, ctx.suffix, False)
            reuse = _shared_prefix(prompt, self._last_prompt) / max(len(prompt), 1)
            self._last_prompt = prompt
            results.append(
                EvalResult(
                    task=task,
                    mode=mode,
                    completion=text,
                    score=score(text, task.expected),
                    latency_ms=ms,
                    prompt_tokens=self.engine.count(prompt),
                    prefix_reuse=reuse,
                    context_chars=chars,
                )
            )
        return results

    def rate(self) -> tuple[float, float]:
        """(prompt tokens per second, seconds per generated token) of the model, measured on
        two short calls after a first one that loads it."""
        probe = "def add(a, b):\n    return a + b\n\n\n" * 12
        "".join(self.model.complete("x = 1\n", GenerationParams(max_tokens=1)))  # load, warm
        tokens = self.engine.count(probe)
        started = time.perf_counter()
        "".join(self.model.complete(probe, GenerationParams(max_tokens=1)))
        one = time.perf_counter() - started
        started = time.perf_counter()
        "".join(self.model.complete(probe + "#", GenerationParams(max_tokens=9, temperature=0)))
        nine = time.perf_counter() - started
        return tokens / max(one, 1e-3), max((nine - one) / 8, 0.02)

    def estimate_s(self, tasks: Sequence[EvalTask], prefill: float, decode: float) -> float:
        """Seconds the run will take: the prompts' estimated tokens at the measured rate plus a
        line of generation per completion (no prefix is assumed reused)."""
        per_task = 0.0
        sample = tasks[: min(len(tasks), 5)]
        for task in sample:
            for prompt, _, _ in self.prompts(task).values():
                per_task += self.engine.count.estimate(prompt) / prefill + 12 * decode
        return per_task / max(len(sample), 1) * len(tasks)

    def run(
        self, tasks: Sequence[EvalTask], progress: Callable[[int, EvalTask], None] | None = None
    ) -> Report:
        report = Report(self.modes, list(tasks))
        started = time.perf_counter()
        for i, task in enumerate(tasks):
            report.results.extend(self.run_task(task))
            if progress is not None:
                progress(i + 1, task)
        report.seconds = time.perf_counter() - started
        return report

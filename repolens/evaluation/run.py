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
from .metrics import Difference, Score, Summary, difference, score, summarize
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
            "deciding, answer not in view": lambda t: t.deciding and not t.in_view,
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

    def differences(self, ours: str = "repolens") -> dict[str, dict[str, Difference]]:
        """group -> other mode -> ``ours`` minus that mode on the same tasks (paired)."""
        if ours not in self.modes:
            return {}
        by_task: dict[str, dict[str, Score]] = defaultdict(dict)
        for r in self.results:
            by_task[r.task.id][r.mode] = r.score
        out: dict[str, dict[str, Difference]] = {}
        for name, member in self.groups().items():
            ids = [t.id for t in self.tasks if member(t) and ours in by_task.get(t.id, {})]
            row = {}
            for other in (m for m in self.modes if m != ours):
                paired = [i for i in ids if other in by_task[i]]
                if paired:
                    row[other] = difference(
                        [by_task[i][ours] for i in paired], [by_task[i][other] for i in paired]
                    )
            if row:
                out[name] = row
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
        self._prepared: dict[str, dict[str, tuple[str, int, Any]]] = {}
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

    def _run_group(self, tasks: Sequence[EvalTask]) -> list[list[EvalResult]]:
        """The results of tasks of one file, in task order. The model runs mode by mode
        across them (consecutive prompts of one mode in one file share the repository header,
        their context's stable start and the file's aligned prefix window, which llama.cpp's
        prompt cache then skips), and a prompt identical to another mode's for the same task
        (no context found, say) is completed once: greedy decoding gives the same answer."""
        prompts = [self.prepared(task) for task in tasks]
        done: list[dict[str, EvalResult]] = [{} for _ in tasks]
        for mode in self.modes:
            for i, task in enumerate(tasks):
                done[i][mode] = self._result(task, mode, prompts[i], done[i])
        return [[d[m] for m in self.modes] for d in done]

    def _result(
        self,
        task: EvalTask,
        mode: str,
        prompts: dict[str, tuple[str, int, Any]],
        earlier: dict[str, EvalResult],
    ) -> EvalResult:
        prompt, chars, ctx = prompts[mode]
        for other, result in earlier.items():
            if prompts[other][0] == prompt:
                return EvalResult(
                    task=task,
                    mode=mode,
                    completion=result.completion,
                    score=result.score,
                    latency_ms=result.latency_ms,
                    prompt_tokens=result.prompt_tokens,
                    prefix_reuse=result.prefix_reuse,
                    context_chars=chars,
                )
        raw, ms = self.complete(prompt)
        text = postprocess(raw, ctx.line_before, ctx.line_after, ctx.suffix, False)
        reuse = _shared_prefix(prompt, self._last_prompt) / max(len(prompt), 1)
        self._last_prompt = prompt
        return EvalResult(
            task=task,
            mode=mode,
            completion=text,
            score=score(text, task.expected),
            latency_ms=ms,
            prompt_tokens=self.engine.count(prompt),
            prefix_reuse=reuse,
            context_chars=chars,
        )

    def rate(self, sample: EvalTask | None = None) -> tuple[float, float]:
        """(prompt tokens per second, seconds per generated token) of the model: a first call
        loads it; then one real prompt (``sample``'s repolens prompt, the size a run sends) is
        evaluated for one token, and the same prompt again for nine (its prefix cached, so
        that call is all generation)."""
        probe = "def add(a, b):\n    return a + b\n\n\n" * 40
        if sample is not None:
            prompts = self.prepared(sample)
            probe = prompts[self.modes[-1]][0]
        "".join(self.model.complete("x = 1\n", GenerationParams(max_tokens=1)))  # load, warm
        tokens = self.engine.count(probe)
        started = time.perf_counter()
        "".join(self.model.complete(probe, GenerationParams(max_tokens=1)))
        one = time.perf_counter() - started
        started = time.perf_counter()
        params = GenerationParams(max_tokens=9, temperature=0, stop=())
        "".join(self.model.complete(probe, params))
        nine = time.perf_counter() - started
        return tokens / max(one, 1e-3), max(nine / 9, 0.005)

    def prepared(self, task: EvalTask) -> dict[str, tuple[str, int, Any]]:
        """:meth:`prompts`, built once per task (the estimate and the run send the same)."""
        hit = self._prepared.get(task.id)
        if hit is None:
            hit = self._prepared[task.id] = self.prompts(task)
        return hit

    def schedule(self, tasks: Sequence[EvalTask]) -> list[list[int]]:
        """The order the run takes: the tasks of one file together, in line order."""
        by_file: dict[str, list[int]] = defaultdict(list)
        for i, task in enumerate(tasks):
            by_file[task.path].append(i)
        return [
            sorted(by_file[p], key=lambda i: (tasks[i].line, tasks[i].column))
            for p in sorted(by_file)
        ]

    def estimate_s(self, tasks: Sequence[EvalTask], prefill: float, decode: float) -> float:
        """Seconds the run will take: every prompt built in the run's order, and for each the
        tokens past what it shares with the prompt before it (llama.cpp's cache skips those)
        at the measured rate, plus a line of generation; a prompt another mode of the same
        task already sent costs nothing."""
        total = 0.0
        last = ""
        for group in self.schedule(tasks):
            prompts = [self.prepared(tasks[i]) for i in group]
            for mode in self.modes:
                for p in prompts:
                    prompt = p[mode][0]
                    if any(p[m][0] == prompt for m in self.modes[: self.modes.index(mode)]):
                        continue
                    new = prompt[_shared_prefix(prompt, last) :]
                    total += self.engine.count.estimate(new) / prefill + 12 * decode
                    last = prompt
        return total

    def run(
        self, tasks: Sequence[EvalTask], progress: Callable[[int, EvalTask], None] | None = None
    ) -> Report:
        report = Report(self.modes, list(tasks))
        started = time.perf_counter()
        results: list[list[EvalResult]] = [[] for _ in tasks]
        finished = 0
        for group in self.schedule(tasks):  # one file's tasks together: see _run_group
            for i, got in zip(group, self._run_group([tasks[i] for i in group]), strict=True):
                results[i] = got
                finished += 1
                if progress is not None:
                    progress(finished, tasks[i])
        for got in results:
            report.results.extend(got)
        report.seconds = time.perf_counter() - started
        return report

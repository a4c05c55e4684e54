"""Commit messages from the staged change or a revision range.

:func:`commit_message` is what ``repolens commit-msg``, the ``prepare-commit-msg`` hook, the
language server and the HTTP server call::

    msg = commit_message(Path("."))                       # the staged change
    msg = commit_message(root, rev_range="origin/main...HEAD")  # a pull request
    print(msg.text)          # subject, blank line, body
    msg.as_json()            # {"subject", "body", "text", "files", "style", "timings_ms", ...}

Steps: read the change with git (:mod:`.git`); find the definitions it adds, removes or
edits, with signatures before and after, by parsing the old and new blobs with the indexer's
tree-sitter extraction (:mod:`.symbols`); read the style of the recent subjects
(:mod:`.style`); fit the prompt into the model's window minus the answer with exact
token counts (:mod:`.prompt`); ask the model; enforce the shape (:mod:`.text`).

The result is always a message. When the model cannot be reached, fails, is cancelled or says
nothing usable, the message is built from the change summary alone and
:attr:`CommitMessage.fallback` is true with the reason in :attr:`CommitMessage.fallback_reason`
(callers such as the CLI say so; the git hook does not write such messages). An empty change
raises :class:`NothingToDescribe` ("nothing staged"), a bad range :class:`GitError`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends.base import CancelToken, GenerationParams, Model, ModelError, Tokenizer
from ..settings import Settings, load_settings
from .git import (
    ChangeSet,
    FileChange,
    GitError,
    NothingToDescribe,
    commit_subjects,
    open_repo,
    read_blob,
    read_changes,
)
from .prompt import ECHO_MARKERS, CommitPrompt, build_prompt
from .style import CommitStyle, detect_style
from .symbols import SymbolChange, changed_symbols
from .text import clean_message, fallback_message, is_trivial, looping, summary_body

__all__ = [
    "MAX_ANSWER_TOKENS",
    "MAX_SYMBOLS",
    "CommitMessage",
    "GitError",
    "NothingToDescribe",
    "commit_message",
]

log = logging.getLogger(__name__)

#: Tokens the model may write: a subject and a short body (``chat.answer_tokens`` if lower).
MAX_ANSWER_TOKENS = 200
#: Files whose definitions are compared (the largest changes of a huge diff are listed only).
MAX_SYMBOL_FILES = 200
#: Changed definitions collected at most (the prompt lists far fewer).
MAX_SYMBOLS = 500
_SYMBOL_SECONDS = 3.0


@dataclass(slots=True)
class CommitMessage:
    """A commit message and how it was made."""

    subject: str
    body: str
    files: list[FileChange]
    symbols: list[SymbolChange]
    style: CommitStyle
    source: str  # "staged" or the revision range
    fallback: bool = False  # built from the change summary, not by the model
    #: why: "unavailable" (cannot reach or load the model), "failed" (an error or timeout
    #: while generating), "cancelled", "unusable" (it answered, but with no message in it)
    fallback_kind: str | None = None
    fallback_reason: str | None = None  # one line for people
    body_from_summary: bool = False  # the model wrote no body; the file summary stands in
    model: str | None = None
    prompt_tokens: int = 0
    budget_tokens: int = 0
    summarized: bool = False  # the diff was shortened to fit the budget
    raw: str = ""  # the model's answer before post-processing
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Subject, blank line, body (just the subject when there is no body)."""
        return f"{self.subject}\n\n{self.body}" if self.body else self.subject

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "body": self.body,
            "text": self.text,
            "files": [f.as_json() for f in self.files],
            "symbols": [s.as_json() for s in self.symbols],
            "style": self.style.as_json(),
            "source": self.source,
            "fallback": self.fallback,
            "fallback_kind": self.fallback_kind,
            "fallback_reason": self.fallback_reason,
            "body_from_summary": self.body_from_summary,
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "budget_tokens": self.budget_tokens,
            "summarized": self.summarized,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


class _SafeCounter:
    """Exact counts from the model's tokenizer; estimates once it fails or we are cancelled."""

    def __init__(self, tokenizer: Tokenizer | None, cancel: CancelToken | None) -> None:
        self._tokenizer = tokenizer
        self._cancel = cancel
        self.exact = tokenizer is not None

    def __call__(self, text: str) -> int:
        if not text:
            return 0
        if self._tokenizer is not None and not (self._cancel and self._cancel.cancelled):
            try:
                return self._tokenizer.count(text)
            except Exception as exc:  # a server that went away mid-way: estimate the rest
                log.warning("token counting failed (%s); estimating", exc)
                self._tokenizer = None
                self.exact = False
        from ..backends.openai_http import estimate_tokens

        return estimate_tokens(text)


def _symbols(repo: Any, changes: ChangeSet) -> list[SymbolChange]:
    out: list[SymbolChange] = []
    started = time.perf_counter()
    candidates = [f for f in changes.files if f.is_regular_file and not f.binary]
    candidates.sort(key=lambda f: f.changed_lines)
    for f in candidates[:MAX_SYMBOL_FILES]:
        if time.perf_counter() - started > _SYMBOL_SECONDS or len(out) >= MAX_SYMBOLS:
            log.info("enough definitions compared; the rest of the files are only listed")
            break
        old = read_blob(repo, f.old_blob) if f.status not in ("added",) else None
        new = read_blob(repo, f.new_blob) if f.status != "deleted" else None
        if (f.old_blob and old is None and f.status != "added") or (
            f.new_blob and new is None and f.status != "deleted"
        ):
            continue  # a side too large or unreadable: a partial comparison would mislead
        out.extend(changed_symbols(f.path, old, new, old_path=f.old_path))
    order = {id(f): i for i, f in enumerate(changes.files)}
    index = {f.path: order[id(f)] for f in changes.files}
    out.sort(key=lambda s: index.get(s.path, 0))
    return out


def _generate(
    model: Model, prompt: CommitPrompt, params: GenerationParams, cancel: CancelToken | None
) -> tuple[str, bool]:
    """The model's answer, stopped early when it starts looping; (text, stopped early)."""
    pieces = model.chat(prompt.messages, params, cancel)
    parts: list[str] = []
    looped = False
    try:
        for piece in pieces:
            parts.append(piece)
            if ("\n" in piece or len(parts) % 8 == 0) and looping("".join(parts)):
                looped = True
                break
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()  # ends the generation: frees the embedded model, closes the HTTP stream
    return "".join(parts), looped


def _style(repo: Any, changes: ChangeSet) -> CommitStyle:
    # history before the change: a range's own subjects must not teach its message
    return detect_style(commit_subjects(repo, changes.base, limit=30))


def commit_message(
    root: Path,
    *,
    staged: bool = True,
    rev_range: str | None = None,
    settings: Settings | None = None,
    model: Model | None = None,
    cancel: CancelToken | None = None,
) -> CommitMessage:
    """A commit message for the staged change of the repository at ``root``, or for
    ``rev_range`` (``A..B``, ``A...B`` from the merge base, or one commit ``C``).

    ``model`` defaults to the one ``settings.model`` describes (``settings`` default to the
    repository's). The prompt budget is the model's context window minus the answer, capped by
    ``chat.budget_tokens`` when set. Never raises for model problems: see
    :attr:`CommitMessage.fallback`.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = (now - since) * 1000
        return now

    if settings is None:
        settings, warnings = load_settings(Path(root).resolve(), lenient=True)
        for warning in warnings:
            log.warning("%s", warning)
    repo = open_repo(Path(root))
    changes = read_changes(repo, staged=staged, rev_range=rev_range)
    t = lap("git", started)
    symbols = _symbols(repo, changes)
    t = lap("symbols", t)
    style = _style(repo, changes)
    t = lap("style", t)
    paths = [f.path for f in changes.files]
    adds = any(f.status == "added" for f in changes.files) or any(
        s.change == "added" for s in symbols
    )

    def fallback(kind: str, reason: str, **extra: Any) -> CommitMessage:
        subject, body = fallback_message(changes.files, symbols, style)
        timings["total"] = (time.perf_counter() - started) * 1000
        log.info("commit message from the change summary: %s", reason)
        return CommitMessage(
            subject=subject,
            body=body,
            files=changes.files,
            symbols=symbols,
            style=style,
            source=changes.source,
            fallback=True,
            fallback_kind=kind,
            fallback_reason=reason,
            timings_ms=timings,
            **extra,
        )

    if cancel is not None and cancel.cancelled:
        return fallback("cancelled", "cancelled")
    try:
        if model is None:
            from ..backends import open_model

            model = open_model(settings.model)
        info = model.info
    except ModelError as exc:
        return fallback("unavailable", f"model unavailable: {exc}")
    t = lap("model_load", t)
    answer_tokens = max(16, min(MAX_ANSWER_TOKENS, settings.chat.answer_tokens))
    budget = info.context_window - answer_tokens
    if settings.chat.budget_tokens:
        budget = min(budget, settings.chat.budget_tokens)
    counter = _SafeCounter(model.tokenizer, cancel)
    prompt = build_prompt(changes, symbols, style, budget=budget, count=counter)
    t = lap("prompt", t)
    extra: dict[str, Any] = {
        "model": info.name,
        "prompt_tokens": prompt.tokens,
        "budget_tokens": budget,
        "summarized": prompt.summarized,
    }
    params = GenerationParams(
        max_tokens=answer_tokens,
        temperature=min(settings.chat.temperature, 0.3),
        stop=("\ndiff --git", "```\n\n"),
        seed=0,
    )
    try:
        raw, looped = _generate(model, prompt, params, cancel)
    except ModelError as exc:
        lap("model", t)
        return fallback("failed", f"the model failed: {exc}", **extra)
    t = lap("model", t)
    if cancel is not None and cancel.cancelled:
        return fallback("cancelled", "cancelled", raw=raw, **extra)
    truncated = looped or counter(raw) >= answer_tokens - 2
    subject, body = clean_message(
        raw,
        style,
        paths=paths,
        adds=adds,
        truncated=truncated,
        echo_headings=ECHO_MARKERS,
        echo_lines=prompt.listed,
    )
    if not subject:
        reason = "the model's answer held no usable commit message"
        return fallback("unusable", reason, raw=raw, **extra)
    body_from_summary = False
    if not body and not is_trivial(changes.files):
        body = summary_body(changes.files, symbols)
        body_from_summary = True
    lap("postprocess", t)
    timings["total"] = (time.perf_counter() - started) * 1000
    return CommitMessage(
        subject=subject,
        body=body,
        files=changes.files,
        symbols=symbols,
        style=style,
        source=changes.source,
        body_from_summary=body_from_summary,
        raw=raw,
        timings_ms=timings,
        **extra,
    )

"""Repository Q&A as one event stream, the same for every front door.

:meth:`QuestionService.ask` retrieves the context (off the event loop), streams the model's
answer and ends with the answer's ``path:line`` citations checked against the index. The
language server (``repolens.ask``, ``repolens/chatChunk``), ``repolens serve`` (``/v1/ask``,
``/v1/chat``) and ``repolens ask`` translate these events; the JSON shapes below are the one
shape of a Q&A source and of a citation everywhere:

- a *source* (a snippet the model was shown): ``{"path", "start_line", "end_line", "source",
  "score"}``;
- a *citation* (a ``path:line`` or ``path:start-end`` the answer names): ``{"path",
  "start_line", "end_line", "indexed"}``, where ``indexed`` says the file is in the index and
  the lines exist in it (false: the model made it up, or cites a file repolens does not index).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ..backends.base import CancelToken

if TYPE_CHECKING:
    from ..chat.qa import QAContext, QAEngine
    from ..indexer import RepoIndex
    from ..types import Snippet

__all__ = [
    "Answered",
    "Citation",
    "Piece",
    "QuestionEvent",
    "QuestionService",
    "Retrieved",
    "Source",
    "cite",
]

T = TypeVar("T")

#: ``path/to/file.ext:12`` or ``file.ext:12-30``, not inside a longer path or word.
_CITATION = re.compile(r"(?<![\w/.:-])((?:\./)?[\w./-]+\.\w+):(\d+)(?:-(\d+))?")


@dataclass(frozen=True, slots=True)
class Source:
    """A snippet of the context, as links (no text: a client opens the file itself)."""

    path: str
    start_line: int
    end_line: int
    source: str
    score: float

    @classmethod
    def of(cls, snippet: Snippet) -> Source:
        return cls(
            snippet.path, snippet.start_line, snippet.end_line, snippet.source, snippet.score
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "source": self.source,
            "score": round(float(self.score), 4),
        }


@dataclass(frozen=True, slots=True)
class Citation:
    """A ``path:line`` the answer names, checked against the index."""

    path: str
    start_line: int
    end_line: int
    indexed: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "indexed": self.indexed,
        }


@dataclass(frozen=True, slots=True)
class Retrieved:
    """First event: the context the model gets."""

    context: QAContext

    @property
    def sources(self) -> list[Source]:
        return [Source.of(s) for s in self.context.snippets]

    def as_json(self) -> dict[str, Any]:
        """The context (``repolens ask --context-only --json``) plus its ``sources``."""
        out = self.context.as_json()
        out["sources"] = [s.as_json() for s in self.sources]
        return out


@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of the answer, as the model streams it."""

    text: str


@dataclass(frozen=True, slots=True)
class Answered:
    """Last event: the whole answer and its citations (``cancelled``: it stopped early)."""

    answer: str
    citations: list[Citation]
    cancelled: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "citations": [c.as_json() for c in self.citations],
            "cancelled": self.cancelled,
        }


QuestionEvent = Retrieved | Piece | Answered

#: Runs blocking work (retrieval, loading the engine) off the event loop.
Runner = Callable[[Callable[[], T]], Awaitable[T]]


async def _to_thread(fn: Callable[[], T]) -> T:
    return await asyncio.to_thread(fn)


def cite(answer: str, index: RepoIndex | None) -> list[Citation]:
    """The ``path:line`` citations of ``answer``, each checked against ``index``."""
    out: list[Citation] = []
    seen: set[tuple[str, int, int]] = set()
    lines_of: dict[str, int | None] = {}
    for m in _CITATION.finditer(answer):
        path = m.group(1).removeprefix("./")
        start = int(m.group(2))
        end = int(m.group(3)) if m.group(3) else start
        if (path, start, end) in seen:
            continue
        seen.add((path, start, end))
        if path not in lines_of:
            text = index.text(path) if index is not None else None
            lines_of[path] = None if text is None else text.count("\n") + 1
        n = lines_of[path]
        ok = n is not None and 1 <= start <= end <= n
        out.append(Citation(path, start, end, ok))
    return out


class QuestionService:
    """Questions about one repository: retrieve, answer, cite."""

    def __init__(self, engine: Callable[[], QAEngine], index: Callable[[], RepoIndex]) -> None:
        self._engine = engine  # blocking the first time (builds the search state)
        self._index = index

    def context(self, question: str, budget: int | None = None) -> QAContext:
        """The context the model would get, at exactly ``budget`` tokens (``--context-only``)."""
        return self._engine().retrieve(question, budget)

    async def ask(
        self,
        question: str,
        *,
        budget: int | None = None,
        max_tokens: int | None = None,
        cancel: CancelToken | None = None,
        run: Runner[Any] = _to_thread,
    ) -> AsyncIterator[QuestionEvent]:
        """Answer ``question`` (an empty one: what the project does) as events.

        Closing the iterator, cancelling its task or ``cancel`` stops the model. Errors
        (:class:`~repolens.backends.ModelError`, :class:`~repolens.errors.RepolensError`)
        are raised from the iterator; each front door maps them once.
        """
        cancel = cancel or CancelToken()
        engine: QAEngine = await run(self._engine)
        ctx: QAContext = await run(lambda: engine.retrieve(question, engine.answer_budget(budget)))
        yield Retrieved(ctx)
        parts: list[str] = []
        stream = engine.astream(ctx, cancel, max_tokens=max_tokens)
        try:
            async for piece in stream:
                if cancel.cancelled:
                    break
                parts.append(piece)
                yield Piece(piece)
        except asyncio.CancelledError:
            cancel.cancel()
            raise
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        answer = "".join(parts)
        citations: list[Citation] = await run(lambda: cite(answer, self._index()))
        yield Answered(answer, citations, cancelled=cancel.cancelled)

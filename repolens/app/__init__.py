"""The application layer: each use case once, under the three front doors.

The language server (:mod:`repolens.lsp`), the HTTP server (:mod:`repolens.http`) and the CLI
(:mod:`repolens.commands`) translate their protocol to these services and back:

- :class:`CompletionService` (``suggest``): gating, model health, pacing, context off the
  event loop, the model call, timings;
- :class:`QuestionService` (``ask``): one event stream, retrieval, answer, checked citations;
- :class:`Indexing` (``run``): the one index driver, with progress events;
- :class:`Services`: the three for one opened repository, with the engines they share.
"""

from __future__ import annotations

from .completions import (
    CompletionOutcome,
    CompletionRequest,
    CompletionService,
    ModelHealth,
)
from .indexing import Indexing, IndexProgress, IndexState
from .questions import (
    Answered,
    Citation,
    Piece,
    QuestionEvent,
    QuestionService,
    Retrieved,
    Source,
    cite,
)
from .services import Services

__all__ = [
    "Answered",
    "Citation",
    "CompletionOutcome",
    "CompletionRequest",
    "CompletionService",
    "IndexProgress",
    "IndexState",
    "Indexing",
    "ModelHealth",
    "Piece",
    "QuestionEvent",
    "QuestionService",
    "Retrieved",
    "Services",
    "Source",
    "cite",
]

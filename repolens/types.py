"""Value types shared by completion, chat and the servers (the public JSON shapes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Position", "Snippet", "Withheld"]


@dataclass(slots=True)
class Snippet:
    """A piece of repository text that goes into a prompt.

    ``path`` is relative to the repository root with ``/``; lines are 1-based inclusive;
    ``text`` is exactly what the prompt contains; ``tokens`` its count with the model's
    tokenizer; ``source`` why it was chosen (definition, import, similar, recent, repo_map,
    search, ...).
    """

    path: str
    start_line: int
    end_line: int
    text: str
    tokens: int
    source: str
    score: float = 0.0
    symbol: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "text": self.text,
            "tokens": self.tokens,
            "source": self.source,
            "score": round(float(self.score), 4),
        }


@dataclass(frozen=True, slots=True)
class Position:
    """A cursor: repository-relative path, 1-based line, 1-based column (characters)."""

    path: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Withheld:
    """A file kept out of a prompt whole, because it is a secret by name or content (see
    :func:`repolens.secret_filter.secret_file`): ``reason`` says which kind."""

    path: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "reason": self.reason}

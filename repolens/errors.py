"""Errors the CLI and servers turn into clear messages (never a traceback)."""

from __future__ import annotations

__all__ = ["RepolensError", "UsageError"]


class RepolensError(Exception):
    """Something the user can fix; ``str(exc)`` says what and how."""


class UsageError(RepolensError):
    """Bad arguments: a position outside the file, a file outside the repository, ..."""

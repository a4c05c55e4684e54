"""Commit messages: a feature package (git I/O, message style, prompt, text, symbols, hook).

``commit_message(root, staged=..., rev_range=..., settings=..., model=...)`` is the whole use
case (see :mod:`.message`); :mod:`.hook` is the ``prepare-commit-msg`` hook git runs.
"""

from .message import CommitMessage, GitError, NothingToDescribe, commit_message

__all__ = ["CommitMessage", "GitError", "NothingToDescribe", "commit_message"]

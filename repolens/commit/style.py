"""A repository's commit-message style, read from its recent subjects.

Pure functions. :func:`detect_style` decides whether the repository follows Conventional
Commits (``type(scope): description``) — when at least half of the recent subjects do — which
types and scopes it uses, and whether descriptions start in lower case. :func:`infer_type`
and :func:`infer_scope` pick a type and scope for a change whose message lacks them.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONVENTIONAL_TYPES",
    "CommitStyle",
    "common_dir",
    "detect_style",
    "infer_scope",
    "infer_type",
    "is_doc_path",
    "is_test_path",
    "split_conventional",
]

#: The types of the Conventional Commits spec and of the Angular convention it came from.
CONVENTIONAL_TYPES = frozenset(
    {
        "feat",
        "fix",
        "docs",
        "style",
        "refactor",
        "perf",
        "test",
        "tests",
        "build",
        "ci",
        "chore",
        "revert",
        "deps",
        "release",
        "security",
    }
)
_CONVENTIONAL = re.compile(
    r"^(?P<type>[a-z][a-z0-9]*)(?:\((?P<scope>[^()\s][^()]{0,40})\))?(?P<bang>!)?:\s+(?P<desc>\S.*)$",
    re.IGNORECASE,
)
_MIN_SUBJECTS = 3
_EXAMPLES = 8


@dataclass(frozen=True, slots=True)
class CommitStyle:
    """How this repository writes commit subjects."""

    conventional: bool = False
    types: tuple[str, ...] = ()  # seen in history, most common first
    scopes: tuple[str, ...] = ()  # seen in history, most common first
    uses_scopes: bool = False  # most conventional subjects carry a scope
    lowercase: bool = False  # descriptions start with a lower-case letter
    examples: tuple[str, ...] = ()  # recent subjects, newest first, for the prompt

    @property
    def name(self) -> str:
        return "conventional" if self.conventional else "plain"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "conventional": self.conventional,
            "types": list(self.types),
            "scopes": list(self.scopes),
            "uses_scopes": self.uses_scopes,
            "lowercase": self.lowercase,
            "examples": list(self.examples),
        }


def split_conventional(subject: str) -> tuple[str, str | None, bool, str] | None:
    """``feat(api)!: add x`` -> ("feat", "api", True, "add x"); None when not conventional."""
    match = _CONVENTIONAL.match(subject.strip())
    if not match:
        return None
    kind = match.group("type").lower()
    if kind not in CONVENTIONAL_TYPES:
        return None
    return kind, match.group("scope"), bool(match.group("bang")), match.group("desc")


def _is_noise(subject: str) -> bool:
    """Subjects tools write, which say nothing about the people's style."""
    return subject.startswith(
        ("Merge ", 'Revert "', "Bump ", "[pre-commit.ci]", "fixup!", "squash!")
    )


def detect_style(subjects: Sequence[str]) -> CommitStyle:
    """The style of ``subjects`` (newest first)."""
    subjects = [s.strip() for s in subjects if s.strip()]
    considered = [s for s in subjects if not _is_noise(s)] or subjects
    examples = tuple(s for s in subjects if not _is_noise(s))[:_EXAMPLES]
    if not considered:
        return CommitStyle(examples=examples)
    parsed = [split_conventional(s) for s in considered]
    hits = [p for p in parsed if p is not None]
    conventional = len(considered) >= _MIN_SUBJECTS and len(hits) * 2 >= len(considered)
    types = tuple(t for t, _ in Counter(p[0] for p in hits).most_common())
    scope_counts = Counter(p[1] for p in hits if p[1])
    scopes = tuple(s for s, _ in scope_counts.most_common())
    uses_scopes = bool(hits) and sum(scope_counts.values()) * 2 >= len(hits)
    descriptions = [p[3] for p in hits] if conventional else considered
    letters = [d[0] for d in descriptions if d and d[0].isalpha()]
    lowercase = (
        len(letters) >= _MIN_SUBJECTS and sum(c.islower() for c in letters) * 5 >= len(letters) * 3
    )
    return CommitStyle(
        conventional=conventional,
        types=types if conventional else (),
        scopes=scopes if conventional else (),
        uses_scopes=conventional and uses_scopes,
        lowercase=lowercase,
        examples=examples,
    )


_DOC_SUFFIXES = (".md", ".rst", ".txt", ".adoc")
_BUILD_FILES = frozenset(
    {
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "requirements.txt",
        "package.json",
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "uv.lock",
        "cargo.toml",
        "cargo.lock",
        "go.mod",
        "go.sum",
        "makefile",
        "cmakelists.txt",
        "dockerfile",
        "pom.xml",
        "build.gradle",
        "tox.ini",
        "manifest.in",
    }
)


def is_test_path(path: str) -> bool:
    parts = path.lower().split("/")
    name = parts[-1]
    return (
        any(p in ("test", "tests", "__tests__", "spec", "testing") for p in parts[:-1])
        or name.startswith("test_")
        or re.search(r"(_test|\.test|\.spec|_spec)\.[a-z]+$", name) is not None
    )


def is_doc_path(path: str) -> bool:
    lower = path.lower()
    return lower.endswith(_DOC_SUFFIXES) or lower.startswith(("docs/", "doc/"))


def _is_ci(path: str) -> bool:
    lower = path.lower()
    return lower.startswith((".github/workflows/", ".circleci/", ".ci/", ".gitlab/")) or lower in (
        ".gitlab-ci.yml",
        ".travis.yml",
        "azure-pipelines.yml",
        ".pre-commit-config.yaml",
    )


def _is_build(path: str) -> bool:
    name = posixpath.basename(path).lower()
    return name in _BUILD_FILES or (name.startswith("requirements") and name.endswith(".txt"))


def infer_type(
    paths: Sequence[str],
    *,
    adds: bool,
    summary: str = "",
    known: Sequence[str] = (),
) -> str:
    """A Conventional Commits type for a change to ``paths``.

    Docs-, test-, CI- or build-only changes get ``docs``/``test``/``ci``/``build`` (``tests``
    when the repository writes it that way); a summary that says "fix" gets ``fix``; a change
    that adds files or definitions ``feat``; anything else ``refactor``, or ``chore`` when the
    repository uses that and not ``refactor``.
    """
    paths = [p for p in paths if p]
    if paths and all(is_doc_path(p) for p in paths):
        return "docs"
    if paths and all(is_test_path(p) for p in paths):
        return "tests" if "tests" in known and "test" not in known else "test"
    if paths and all(_is_ci(p) for p in paths):
        return "ci"
    if paths and all(_is_build(p) for p in paths):
        return "build"
    if re.match(r"\s*(fix|correct|repair|resolve|handle)", summary, re.IGNORECASE) or re.search(
        r"\b(bug|crash|error|regression|typo)\b", summary, re.IGNORECASE
    ):
        return "fix"
    if adds or re.match(r"\s*(add|introduce|implement|support|allow)", summary, re.IGNORECASE):
        return "feat"
    if "chore" in known and "refactor" not in known:
        return "chore"
    return "refactor"


def infer_scope(paths: Sequence[str], style: CommitStyle) -> str | None:
    """A scope for ``paths`` when the repository writes scopes, else None.

    A scope the history already uses that names a folder or file stem of every changed path
    wins; otherwise the folder all changed paths share (skipping ``src``-like roots).
    """
    if not style.uses_scopes or not paths:
        return None
    components = [
        {c.lower() for c in p.split("/")[:-1]}
        | {posixpath.splitext(posixpath.basename(p))[0].lower()}
        for p in paths
    ]
    for scope in style.scopes:
        if all(scope.lower() in parts for parts in components):
            return scope
    common = [c for c in common_dir(paths).split("/") if c]
    meaningful = [c for c in common if c.lower() not in ("src", "lib", "pkg", "internal", "app")]
    return meaningful[-1] if meaningful else None


def common_dir(paths: Sequence[str]) -> str:
    """The folder all ``paths`` share ("" when none)."""
    dirs = [p.split("/")[:-1] for p in paths]
    common: list[str] = []
    for level in zip(*dirs, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return "/".join(common)

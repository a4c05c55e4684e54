"""Post-processing of model answers into the commit-message shape (pure functions, no model).

Several inputs are real answers of the bundled SmolLM2-135M to commit prompts.
"""

from __future__ import annotations

import pytest

from repolens.commit.git import FileChange
from repolens.commit.style import CommitStyle, infer_scope, infer_type, split_conventional
from repolens.commit.symbols import SymbolChange
from repolens.commit.text import (
    apply_style,
    clean_message,
    fallback_message,
    imperative,
    is_trivial,
    looping,
    shorten_subject,
    wrap_body,
)

PLAIN = CommitStyle()
CONVENTIONAL = CommitStyle(
    conventional=True, types=("fix", "feat", "docs"), scopes=("parser",), lowercase=True
)


@pytest.mark.parametrize(
    ("raw", "subject", "body"),
    [
        (
            "Here is the commit message:\n\n```\nFix crash when the config file is empty\n\n"
            "The loader now returns defaults.\n```\nLet me know if you need changes.",
            "Fix crash when the config file is empty",
            "The loader now returns defaults.",
        ),
        (
            '**Subject:** "Add token refresh"\n\n**Body:**\nrefresh_token() issues a new token. '
            "refresh_token() issues a new token.\nrefresh_token() issues a new token.",
            "Add token refresh",
            "refresh_token() issues a new token.",
        ),
        ("Subject: Added support for YAML.", "Add support for YAML", ""),
        ("`Remove the legacy cache`", "Remove the legacy cache", ""),
        (
            "## Summary\nUpdate the parser\n\n### Changes\n- handles nested brackets\n"
            "- keeps comments",
            "Update the parser",
            "- handles nested brackets\n- keeps comments",
        ),
        (  # SmolLM2: a heading, numbered bullets, an unfinished last bullet
            "Changes:\n\n- 1. Remove function def a()\n- 2. Add b()\n- 7.",
            "Remove function def a()",
            "- Add b()",
        ),
        (  # SmolLM2: chatter, "-text" bullets, a code line, a loop, cut by the token limit
            "Here's a summary of the change:\n\n-calc.py: added the `+` operator to `add`.\n"
            "-def add(a, b, c=0):\n-calc.py: added the `+` operator to `add`.\n-class Calc: added",
            "calc.py: added the `+` operator to `add`",
            "",
        ),
        ("diff --git a/x b/x\n@@ -1 +1 @@\n-a\n+b\n", "", ""),  # an echoed diff only
        ("A:\n\n#\n\n#\n\n#", "", ""),  # SmolLM2: nothing usable
        (
            "Enable testing mode. Exceptions are propagated rather than handled by the app's "
            "error handlers.",
            "Enable testing mode",
            "Exceptions are propagated rather than handled by the app's error\nhandlers.",
        ),
    ],
)
def test_clean_message(raw: str, subject: str, body: str) -> None:
    # every answer here may have been cut by the token limit except the complete ones
    truncated = raw.endswith(("- 7.", "added", "#"))
    assert clean_message(raw, PLAIN, truncated=truncated) == (subject, body)


def test_long_first_line_is_cut_and_kept_whole_in_the_body() -> None:
    raw = (
        "Update the parser so that it handles nested brackets in every position of the "
        "expression grammar and in strings\n\nMore detail."
    )
    subject, body = clean_message(raw, PLAIN)
    assert subject == "Update the parser so that it handles nested brackets in every position"
    assert body.split("\n\n") == [
        "Update the parser so that it handles nested brackets in every position\n"
        "of the expression grammar and in strings.",
        "More detail.",
    ]


def test_prompt_echoes_and_known_subjects_are_dropped() -> None:
    style = CommitStyle(examples=("reduce venv size", "update dev dependencies"))
    raw = (
        "Tidy the workflow files\n\nRecent subjects in this repository:\n- reduce venv size\n"
        "- update dev dependencies\n\nChanged files (2, +3 -3):\na.yaml\n\nPins the actions."
    )
    subject, body = clean_message(
        raw, style, echo_headings=("Recent subjects in this repository", "Changed files")
    )
    assert (subject, body) == ("Tidy the workflow files", "Pins the actions.")


def test_copied_lists_meta_talk_links_and_stray_quotes() -> None:
    listed = ["pyproject.toml (modified, +0 -3)", "src/a.py: added function def f(x):"]
    raw = (  # SmolLM2 answers from the benchmark, stitched together
        "pyproject.toml (modified, +0 -3)\n+ :version: 2.0.52\n"
        '"The addition of the "Add X" commit message is\n'
        "[GitHub](https://github.com/cle-b/httpdbg) lists third party packages\n\n"
        "requests` exception hierarchy differs from httpx\n"
        "- src/a.py: added function def f(x):"
    )
    subject, body = clean_message(raw, PLAIN, echo_lines=listed)
    assert subject == "GitHub lists third party packages"
    assert body == "requests` exception hierarchy differs from httpx"
    assert clean_message("`requests` raises differently`", PLAIN)[0] == (
        "`requests` raises differently"
    )
    assert clean_message("The code is already clean.\nUse the cache", PLAIN)[0] == "Use the cache"


def test_git_comment_lines_never_reach_the_message() -> None:
    subject, body = clean_message("# Fix the thing\n\n; a note\nreal line", PLAIN, comment_char=";")
    assert subject == "Fix the thing" and body == "real line"


def test_conventional_style_is_enforced() -> None:
    assert (
        clean_message("Add token refresh\n\nok", CONVENTIONAL, paths=["src/auth/x.py"], adds=True)
    ) == ("feat: add token refresh", "ok")
    assert (
        clean_message("Fix: Crash on empty input", CONVENTIONAL)[0] == "fix: crash on empty input"
    )
    assert apply_style("feat(api)!: Drop v1", CONVENTIONAL) == "feat(api)!: drop v1"
    assert apply_style("docs: Fixed typos", PLAIN) == "Fix typos"  # a repo without prefixes
    long = apply_style("x" * 10 + " word" * 30, CONVENTIONAL, paths=["parser/a.py"])
    assert long.startswith("refactor: ") and len(long) <= 72
    scoped = CommitStyle(conventional=True, scopes=("parser",), uses_scopes=True)
    assert apply_style("Keep comments", scoped, paths=["parser/core.py"]) == (
        "refactor(parser): Keep comments"
    )
    assert split_conventional("feat(api)!: add x") == ("feat", "api", True, "add x")
    assert split_conventional("pre-commit: add codespell") is None
    assert split_conventional("Merge: a") is None


def test_type_and_scope_inference() -> None:
    assert infer_type(["docs/a.rst", "README.md"], adds=False) == "docs"
    assert infer_type(["tests/test_a.py", "src/a_test.go"], adds=False) == "test"
    assert infer_type(["tests/test_a.py"], adds=False, known=["tests"]) == "tests"
    assert infer_type([".github/workflows/ci.yml"], adds=False) == "ci"
    assert infer_type(["pyproject.toml", "requirements-dev.txt"], adds=False) == "build"
    assert infer_type(["a.py"], adds=False, summary="handle empty input") == "fix"
    assert infer_type(["a.py"], adds=True) == "feat"
    assert infer_type(["a.py"], adds=False, known=["chore", "feat"]) == "chore"
    style = CommitStyle(conventional=True, scopes=("cli", "parser"), uses_scopes=True)
    assert infer_scope(["src/parser/a.py", "src/parser/b.py"], style) == "parser"
    assert infer_scope(["src/lexer/a.py", "src/lexer/b.py"], style) == "lexer"
    assert infer_scope(["a.py", "b/c.py"], style) is None


def test_subject_helpers() -> None:
    assert shorten_subject("short") == ("short", False)
    text = "Rework the cache, which now evicts entries by size and by age instead of count only"
    assert shorten_subject(text) == ("Rework the cache", True)
    assert len(shorten_subject("word " * 40)[0]) <= 72
    assert imperative("Added x") == "Add x" and imperative("fixes y") == "fix y"
    assert imperative("Adder z") == "Adder z"
    assert looping("A:\n\n#\n\n#\n\n#\n") and looping("the " * 12)
    assert not looping("Fix x\n\nBody.\n") and not looping("Title\n==========")


def test_wrap_body() -> None:
    body = wrap_body(
        "A paragraph that is long enough to need wrapping because it goes on and on past the "
        "limit.\n\n* a bullet that is also quite long and has to wrap onto a second line to fit\n"
        "    indented_code(kept=True)"
    )
    assert body == (
        "A paragraph that is long enough to need wrapping because it goes on and\n"
        "on past the limit.\n\n"
        "- a bullet that is also quite long and has to wrap onto a second line to\n"
        "  fit\n"
        "    indented_code(kept=True)"
    )
    assert all(len(line) <= 72 for line in body.split("\n"))


def change(path: str, status: str = "modified", added: int = 3, deleted: int = 1,
           **kw: object) -> FileChange:  # fmt: skip
    return FileChange(path=path, status=status, added=added, deleted=deleted, **kw)  # type: ignore[arg-type]


def test_fallback_messages() -> None:
    sig = SymbolChange(
        "a.py", "load", "function", "signature", "def load(p):", "def load(p, *, strict):"
    )
    assert fallback_message([change("a.py")], [sig], PLAIN) == (
        "Change the signature of load() in a.py",
        "",
    )
    assert fallback_message([change("a.py", added=30)], [], PLAIN) == (
        "Update a.py",
        "- a.py: modified, +30 -1",
    )
    assert fallback_message([change("new.py", "added", 5, 0)], [], PLAIN)[0] == "Add new.py"
    assert fallback_message([change("old.py", "deleted", 0, 9)], [], PLAIN)[0] == "Remove old.py"
    renamed = change("b/x.py", "renamed", 0, 0, old_path="a/x.py")
    assert fallback_message([renamed], [], PLAIN) == ("Rename a/x.py to b/x.py", "")
    many = [change(f"src/pkg/m{i}.py") for i in range(15)]
    subject, body = fallback_message(many, [], CONVENTIONAL)
    assert subject == "refactor: update 15 files in src/pkg"
    assert body.endswith("- and 3 more files (+9 -3)") and body.count("\n- ") == 12
    mixed = [
        change("tests/test_core.py", added=80),
        change("src/pkg/core.py", added=20, deleted=5),
        change("docs/core.md", added=3),
    ]
    parse = SymbolChange("src/pkg/core.py", "parse", "function", "modified", "def parse(s):",
                         "def parse(s):", 10)  # fmt: skip
    assert fallback_message(mixed, [parse], PLAIN)[0] == (
        "Update parse() in src/pkg/core.py and 2 more files"
    )  # the biggest change to code, not to tests or docs
    binary = change("logo.png", binary=True, added=0, deleted=0)
    assert is_trivial([binary]) is False and is_trivial([change("a.py", added=2, deleted=2)])

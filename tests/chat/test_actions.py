"""Code actions: the "code unchanged" check and fence parsing (pure), the repository context a
range gets (real index), and explain / add comments / translate with the real embedded model.

A fake model appears in one place only: :class:`ScriptedModel` answers with a fixed text, to
test how :func:`add_comments` parses and checks an answer that a real model gives only by
chance (a mangled one, an unindented one). Everything else uses the bundled SmolLM2."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest

from repolens.backends.base import (
    CancelToken,
    ChatMessage,
    GenerationParams,
    Model,
    ModelInfo,
    Tokenizer,
)
from repolens.chat.actions import (
    MangledCodeError,
    add_comments,
    check_only_comments,
    explain,
    load_range,
    range_context,
    translate,
)
from repolens.chat.prompts import extract_code
from repolens.errors import UsageError
from repolens.settings import Settings
from repolens.workspace import Workspace

from .conftest import WorkspaceFactory

# -- the check ------------------------------------------------------------------------------

ORIGINAL = """\
    def add(self, user: User) -> None:
        self._users[user.email] = user"""


@pytest.mark.parametrize(
    "proposed",
    [
        ORIGINAL,
        '''\
    def add(self, user: User) -> None:
        """Store the user under its email address."""
        # one entry per address: a later add replaces an earlier one
        self._users[user.email] = user  # keyed by email''',
    ],
)
def test_comments_and_docstrings_are_allowed(proposed: str) -> None:
    assert check_only_comments(ORIGINAL, proposed, "python") is None


@pytest.mark.parametrize(
    ("proposed", "problem"),
    [
        (ORIGINAL.replace("user.email", "user.name"), "'name' where the code has 'email'"),
        (ORIGINAL.replace("        self", "    self"), "where the code has"),  # dedented body
        (ORIGINAL.split("\n")[0], "the answer may be cut off"),
        (ORIGINAL + "\n        return None", "has a return_statement where"),
        ("", "no code"),
    ],
)
def test_code_changes_are_caught(proposed: str, problem: str) -> None:
    found = check_only_comments(ORIGINAL, proposed, "python")
    assert found is not None and problem in found


def test_other_languages_compare_their_trees() -> None:
    go = "func keys(m map[string]int) []string {\n\treturn nil\n}"
    assert check_only_comments(go, "// keys lists m's keys.\n" + go, "go") is None
    assert check_only_comments(go, go.replace("nil", "[]string{}"), "go") is not None
    ts = "export function f(x: number): number {\n  return x * 2;\n}"
    doc = "/** Twice x. */\n" + ts.replace("x * 2;", "x * 2; // double")
    assert check_only_comments(ts, doc, "typescript") is None
    assert check_only_comments(ts, ts.replace("*", "+"), "typescript") is not None


def test_a_fragment_that_does_not_parse_is_compared_by_tokens() -> None:
    fragment = "        if user.is_admin():\n            return True"  # no enclosing def
    commented = "        # admins always pass\n        if user.is_admin():\n            return True"
    assert check_only_comments(fragment, commented, "python") is None
    assert check_only_comments(fragment, fragment.replace("True", "False"), "python")


def test_text_files_keep_every_line() -> None:
    assert check_only_comments("a = 1\nb = 2", "# settings\na = 1\nb = 2", "text") is None
    assert check_only_comments("a = 1\nb = 2", "a = 1\nb = 3", "text") is not None


def test_extract_code_takes_the_first_fence() -> None:
    assert extract_code("Here:\n```python\nx = 1\n```\nMore:\n```\ny\n```") == "x = 1"
    assert extract_code("```go\nfunc f() {}\n") == "func f() {}"  # cut off before the fence
    assert extract_code("\nx = 1\n") == "x = 1"


# -- context --------------------------------------------------------------------------------


def test_a_range_gets_the_definitions_it_uses(
    workspace: WorkspaceFactory, tokenizer: Tokenizer
) -> None:
    ws = workspace("python_app")
    rng = load_range(ws, "main.py", 8, 11)
    assert rng.code.split("\n")[0] == "    repo = UserRepository()"
    from repolens.chat.packing import TokenCounter

    context = range_context(ws, rng, 2000, TokenCounter(tokenizer))
    headers = [line for line in context.split("\n") if ":" in line and line.endswith(")")]
    # the enclosing function first, then what lines 8-11 use, in order of use
    assert headers == [
        "main.py:7-7 (main)",
        "app/models/repository.py:6-20 (UserRepository)",
        "app/models/user.py:18-30 (User)",
        "app/util.py:11-12 (slugify)",  # line 11 uses both, by name: slugify, welcome
        "app/services/mail.py:5-7 (send_welcome)",
    ]
    small = range_context(ws, rng, 150, TokenCounter(tokenizer))
    assert 0 < tokenizer.count(small) <= 150


def test_ranges_are_checked(workspace: WorkspaceFactory) -> None:
    ws = workspace("python_app")
    with pytest.raises(UsageError, match="not inside the file"):
        load_range(ws, "main.py", 10, 99)
    with pytest.raises(UsageError, match="outside the repository"):
        load_range(ws, "/etc/passwd", 1, 1)
    with pytest.raises(UsageError, match="no such file"):
        load_range(ws, "nope.py", 1, 1)


# -- add_comments' parsing, with a scripted answer ------------------------------------------


class ScriptedModel:
    """Implements the Model protocol with a fixed chat answer (see the module docstring)."""

    def __init__(self, answer: str, tokenizer: Tokenizer) -> None:
        self.answer = answer
        self._tokenizer = tokenizer
        self.messages: list[ChatMessage] = []

    @property
    def info(self) -> ModelInfo:
        return ModelInfo("embedded", "scripted", 8192, "memory")

    @property
    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    def complete(
        self, prompt: str, params: GenerationParams, cancel: CancelToken | None = None
    ) -> Iterator[str]:
        raise NotImplementedError

    def acomplete(
        self, prompt: str, params: GenerationParams, cancel: CancelToken | None = None
    ) -> AsyncIterator[str]:
        raise NotImplementedError

    def chat(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        self.messages = list(messages)
        yield from (self.answer[i : i + 7] for i in range(0, len(self.answer), 7))

    def achat(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        cancel: CancelToken | None = None,
    ) -> AsyncIterator[str]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class ScriptedWorkspace(Workspace):
    scripted: ScriptedModel

    @property
    def model(self) -> Model:
        return self.scripted


def scripted(root: Path, answer: str, tokenizer: Tokenizer) -> ScriptedWorkspace:
    ws = ScriptedWorkspace(root, Settings())
    ws.scripted = ScriptedModel(answer, tokenizer)
    ws.index.update(workers=1)
    return ws


def test_add_comments_returns_the_commented_lines(
    fixture_repo: object, tokenizer: Tokenizer
) -> None:
    root = fixture_repo("python_app")  # type: ignore[operator]
    answer = (
        "Sure! Here is the code:\n```python\n"
        "def add(self, user: User) -> None:\n"
        '    """Remember ``user`` under its email."""\n'
        "    self._users[user.email] = user\n```\nHope it helps."
    )
    ws = scripted(root, answer, tokenizer)
    result = add_comments(ws, "app/models/repository.py", 12, 13)
    # the model dropped the indentation: the lines get the original's back
    assert result == (
        "    def add(self, user: User) -> None:\n"
        '        """Remember ``user`` under its email."""\n'
        "        self._users[user.email] = user"
    )
    user_message = ws.scripted.messages[-1].content
    assert "app/models/repository.py:12-13" in user_message
    assert "app/models/user.py:18-30 (User)" in user_message  # the context it uses


def test_add_comments_refuses_a_mangled_answer(fixture_repo: object, tokenizer: Tokenizer) -> None:
    root = fixture_repo("python_app")  # type: ignore[operator]
    answer = (
        "```python\n"
        "    def add(self, user: User) -> None:\n"
        "        # store by name\n"
        "        self._users[user.name] = user\n```"
    )
    ws = scripted(root, answer, tokenizer)
    with pytest.raises(MangledCodeError) as info:
        add_comments(ws, "app/models/repository.py", 12, 13)
    assert info.value.original == (
        "    def add(self, user: User) -> None:\n        self._users[user.email] = user"
    )
    assert "self._users[user.name]" in info.value.proposed
    assert "the original lines are kept" in str(info.value)
    assert "'name' where the code has 'email'" in str(info.value)


# -- the real model ---------------------------------------------------------------------------


@pytest.fixture
def model_workspace(workspace: WorkspaceFactory) -> Workspace:
    """python_app with the bundled SmolLM2 and short answers (2 shared cores)."""
    settings = Settings.model_validate(
        {"model": {"threads": 1}, "chat": {"answer_tokens": 24, "temperature": 0}}
    )
    return workspace("python_app", settings)


@pytest.mark.model
@pytest.mark.e2e
def test_explain_streams_with_the_embedded_model(model_workspace: Workspace) -> None:
    cancel = CancelToken()
    pieces = list(explain(model_workspace, "app/util.py", 11, 12, cancel))
    assert len(pieces) > 1 and "".join(pieces).strip()


@pytest.mark.model
@pytest.mark.e2e
def test_add_comments_with_the_embedded_model(model_workspace: Workspace) -> None:
    original = 'def slugify(text: str) -> str:\n    return "-".join(text.lower().split())'
    try:
        result = add_comments(model_workspace, "app/util.py", 11, 12)
    except MangledCodeError as exc:  # a 135M model often rewrites code: refused, not applied
        assert exc.original == original
        return
    assert check_only_comments(original, result, "python") is None


@pytest.mark.model
@pytest.mark.e2e
def test_translate_with_the_embedded_model(model_workspace: Workspace) -> None:
    result = translate(model_workspace, "app/util.py", 11, 12, "JavaScript")
    assert result.strip()
    assert "```" not in result

"""A commit-message prompt names a staged secret file, never shows its content, and redacts
secret values in the other files' hunks and definitions (issue 12, item 2), on real git
repositories with the fake secrets of ``tests/test_secrets.py`` staged."""

from __future__ import annotations

from pathlib import Path

import pytest

from repolens.commit import commit_message
from repolens.commit.git import open_repo, read_changes
from repolens.commit.message import _symbols
from repolens.commit.prompt import build_prompt
from repolens.commit.style import CommitStyle
from tests.completion.conftest import EstimateTokenizer
from tests.conftest import git
from tests.test_secrets import CODE, CONFIG, RecordingModel, leaks, write

SECRET_FILES = {".env", "id_rsa", "credentials.json", "credentials.yml", ".streamlit/secrets.toml"}


@pytest.fixture
def staged(tmp_path: Path) -> Path:
    """A repository with a first commit, then every fake secret staged (code and config)."""
    root = tmp_path / "billing"
    write(root, {"README.md": CODE["README.md"]})
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "Add the README")
    write(root, {**CODE, **CONFIG})
    git(root, "add", *CODE, *CONFIG)
    return root


def prompt_text(messages: list) -> str:  # type: ignore[type-arg]
    return "\n".join(m.content for m in messages)


def test_the_prompt_names_secret_files_without_their_content(staged: Path) -> None:
    repo = open_repo(staged)
    changes = read_changes(repo, staged=True)
    assert {f.path for f in changes.files} >= SECRET_FILES
    count = EstimateTokenizer().count
    prompt = build_prompt(changes, _symbols(repo, changes), CommitStyle(), budget=6000, count=count)
    text = prompt_text(prompt.messages)
    assert leaks(text) == []
    for path in SECRET_FILES:
        assert f"{path} (added, " in text, path
        assert f"--- {path} (" not in text  # no diff block for it
    assert "credentials.json (added, +7 -0; secret file: content withheld)" in text
    assert "id_rsa (added, +4 -0; secret file: content withheld)" in text
    # the other files' hunks are there, their secret values redacted
    assert '+DB_URL = "postgres://u:<redacted:password>@host/db"' in text
    assert "+password = <redacted:password>" in text  # database.ini
    assert not prompt.summarized  # withheld files are not a shortened diff
    assert {w.path for w in prompt.withheld} == SECRET_FILES | {"app/secrets.py"}
    assert prompt.redactions >= 4


def test_commit_message_sends_the_model_no_secret(staged: Path) -> None:
    model = RecordingModel(lambda messages: "Add the billing service\n\nConnects to the database.")
    msg = commit_message(staged, model=model)  # type: ignore[arg-type]
    assert not msg.fallback, msg.fallback_reason
    assert msg.subject == "Add the billing service"
    sent = model.text()
    assert sent and leaks(sent) == []
    assert ".env (added, +2 -0; secret file: content withheld)" in sent


def test_a_secret_file_renamed_or_deleted_stays_withheld(staged: Path) -> None:
    git(staged, "commit", "-q", "-m", "Add everything")
    git(staged, "mv", "credentials.json", "deploy.json")  # a service account under any name
    git(staged, "rm", "-q", "id_rsa")
    repo = open_repo(staged)
    changes = read_changes(repo, staged=True)
    count = EstimateTokenizer().count
    prompt = build_prompt(changes, [], CommitStyle(), budget=4000, count=count)
    text = prompt_text(prompt.messages)
    assert leaks(text) == []
    assert "id_rsa (deleted, +0 -4; secret file: content withheld)" in text
    assert "deploy.json (renamed from credentials.json, +0 -0; secret file" in text

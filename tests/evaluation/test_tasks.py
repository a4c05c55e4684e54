"""Tasks made from a real repository's index (tree-sitter, SQLite) and from its git history."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from repolens.evaluation import make_tasks
from repolens.indexer import RepoIndex
from tests.conftest import git


def _index(root: Path, tmp_path: Path) -> RepoIndex:
    index = RepoIndex(root, cache_dir=tmp_path / "cache")
    index.update()
    return index


def test_tasks_hide_the_span_after_the_cursor(
    fixture_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    index = _index(fixture_repo("python_app"), tmp_path)
    tasks = make_tasks(index, 50, seed=0)
    by_id = {t.id: t for t in tasks}
    assert {t.kind for t in tasks} == {"call", "member", "statement"}
    # main.py:10 is `    repo.add(user)` with repo = UserRepository() from app/
    member = by_id["main.py:10:10:member"]
    assert member.expected == "add(user)" and member.deciding
    assert member.text.split("\n")[9] == "    repo."
    assert not member.in_file  # `add` appears nowhere else in main.py
    statement = by_id["main.py:8:5:statement"]
    assert statement.expected == "repo = UserRepository()" and not statement.deciding
    assert statement.text.split("\n")[7] == "    "
    assert statement.in_file  # `repo` is used on the lines after
    for t in tasks:  # the buffer is the file with the span removed, and nothing else
        original = (index.text(t.path) or "").split("\n")
        lines = t.text.split("\n")
        assert lines[t.line - 1] + t.expected == original[t.line - 1].rstrip()
        assert lines[: t.line - 1] == original[: t.line - 1]
        assert len(t.text.split("\n")[t.line - 1]) + 1 == t.column


def test_the_same_seed_gives_the_same_tasks(
    fixture_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    index = _index(fixture_repo("python_app"), tmp_path)
    first = [t.id for t in make_tasks(index, 6, seed=3)]
    assert first == [t.id for t in make_tasks(index, 6, seed=3)]
    assert len(first) == 6
    kinds = [t.split(":")[3] for t in first]
    assert kinds.count("call") == kinds.count("member") == kinds.count("statement") == 2
    others = [[t.id for t in make_tasks(index, 6, seed=s)] for s in range(4, 9)]
    assert any(o != first for o in others)


def test_lines_added_by_recent_commits_in_the_file_as_it_was(
    fixture_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    root = fixture_repo("python_app")
    util = root / "app" / "util.py"
    util.write_text(
        util.read_text() + "\n\ndef shout(text: str) -> str:\n    return text.upper() + '!'\n"
    )
    git(root, "commit", "-qam", "shout")
    first = util.read_text()
    util.write_text(first.replace("+ '!'", "+ '!!'"))  # a later edit the task must not see
    git(root, "commit", "-qam", "louder")
    index = _index(root, tmp_path)
    tasks = make_tasks(index, 10, kinds=["commit"], commits=2)
    assert {t.kind for t in tasks} == {"commit"}
    shout = [t for t in tasks if "text.upper()" in t.expected]
    assert sorted(t.expected for t in shout) == [
        "return text.upper() + '!!'",
        "return text.upper() + '!'",
    ]
    older = next(t for t in shout if t.expected.endswith("'!'"))
    assert older.commit is not None and "def shout" in older.text
    assert older.text.split("\n")[older.line - 1] == "    "


def test_unseen_keeps_only_answers_the_file_does_not_give_away(
    fixture_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    index = _index(fixture_repo("python_app"), tmp_path)
    every = make_tasks(index, 50, seed=0)
    unseen = make_tasks(index, 50, seed=0, unseen=True)
    assert unseen and all(not t.in_view for t in unseen)
    assert {t.id for t in unseen} == {t.id for t in every if not t.in_view}


def _package(tmp_path: Path, package: str, module: str, text: str) -> Path:
    """A repository with one package holding ``module``; tests add the files that use it."""
    repo = tmp_path / "repo"
    (repo / package).mkdir(parents=True)
    (repo / package / "__init__.py").write_text("")
    (repo / package / module).write_text(text)
    return repo


def test_an_answer_far_above_the_cursor_is_not_in_view(tmp_path: Path) -> None:
    repo = _package(
        tmp_path,
        "pkg",
        "engine.py",
        "class Engine:\n    def frobnicate(self, level: int) -> int:\n        return level\n",
    )
    filler = "".join(
        f"VALUE_{i} = {i}  # a constant to push the first use out of view\n" for i in range(60)
    )
    (repo / "pkg" / "main.py").write_text(
        "from pkg.engine import Engine\n\n\n"
        "def first():\n    e = Engine()\n    return e.frobnicate(1)\n\n\n"
        + filler
        + "\n\ndef second():\n    other = Engine()\n    return other.frobnicate(2)\n"
        + "\n\ndef third():\n    last = Engine()\n    return last.frobnicate(3)\n"
    )
    index = _index(repo, tmp_path)
    members = {t.expected: t for t in make_tasks(index, 50, kinds=("member",))}
    far, above, below = members["frobnicate(1)"], members["frobnicate(3)"], members["frobnicate(2)"]
    assert far.in_file and not far.in_view  # the other uses are 60 lines down: out of view
    assert above.in_view  # frobnicate(2) is in the lines just before the cursor
    assert below.in_view  # frobnicate(3) is in the lines just after it
    unseen = make_tasks(index, 50, kinds=("member",), unseen=True)
    assert [t.id for t in unseen] == [far.id]


def test_a_line_the_repository_repeats_makes_at_most_two_tasks(tmp_path: Path) -> None:
    repo = _package(
        tmp_path,
        "web",
        "app.py",
        "class App:\n    def __init__(self, name: str) -> None:\n        self.name = name\n",
    )
    for i in range(6):
        (repo / "web" / f"view{i}.py").write_text(
            f"from web.app import App\n\napp = App(__name__)\nother = App('view{i}')\n"
        )
    index = _index(repo, tmp_path)
    calls = make_tasks(index, 50, kinds=("call",))
    answers = [t.expected for t in calls]
    assert answers.count("__name__)") == 2  # six files say it; two tasks are enough
    assert sum(a.startswith("'view") for a in answers) == 6  # distinct lines all stay

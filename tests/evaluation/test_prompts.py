"""The prompts eval sends, built without a model: no secret file or value reaches the model in
any mode, BM25's included (its chunks come straight from the index, not from repolens's
context, so they need the filter of their own)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from repolens.completion.engine import CompletionEngine
from repolens.completion.templates import TEMPLATES
from repolens.evaluation import MODES, Evaluation, make_tasks
from repolens.indexer import RepoIndex
from repolens.settings import CompletionSettings
from tests.completion.conftest import EstimateTokenizer

KEY = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key id


def test_no_mode_sends_a_secret(fixture_repo: Callable[[str], Path], tmp_path: Path) -> None:
    root = fixture_repo("python_app")
    # a secret file and a secret value, both written to look like the code being completed
    (root / "app" / "secrets.py").write_text(
        "from app import UserRepository\n\n\ndef admin_repo():\n"
        "    repo = UserRepository()\n    repo.add(None)\n    return repo\n"
    )
    (root / "app" / "cloud.py").write_text(
        "from app import UserRepository\n\n"
        f'AWS_ACCESS_KEY_ID = "{KEY}"\n\n\n'
        "def cloud_repo():\n    repo = UserRepository()\n    repo.add(None)\n    return repo\n"
    )
    index = RepoIndex(root, cache_dir=tmp_path / "cache")
    index.update()
    engine = CompletionEngine(
        index, CompletionSettings(), EstimateTokenizer(), TEMPLATES["qwen2.5-coder"]
    )
    engine.model = object()  # type: ignore[assignment]  # prompts() never calls it
    evaluation = Evaluation(engine, budget=1024, modes=MODES)
    tasks = make_tasks(index, 50, seed=0)
    assert tasks and all(t.path != "app/secrets.py" for t in tasks)
    chunk_paths = set()
    for task in tasks:
        for mode, (prompt, _, _) in evaluation.prompts(task).items():
            assert KEY not in prompt, (task.id, mode)
            assert "def admin_repo" not in prompt, (task.id, mode)
        chunk_paths |= {p for p, *_ in evaluation._bm25(task).meta}
    assert "app/cloud.py" in chunk_paths and "app/secrets.py" not in chunk_paths

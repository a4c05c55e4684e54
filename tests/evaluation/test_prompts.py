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


def test_run_asks_the_model_once_per_distinct_prompt_file_by_file(
    fixture_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    root = fixture_repo("python_app")
    index = RepoIndex(root, cache_dir=tmp_path / "cache")
    index.update()
    engine = CompletionEngine(
        index, CompletionSettings(), EstimateTokenizer(), TEMPLATES["qwen2.5-coder"]
    )
    engine.model = object()  # type: ignore[assignment]  # complete() is replaced below
    calls: list[str] = []

    class Recording(Evaluation):
        def complete(self, prompt: str) -> tuple[str, float]:
            calls.append(prompt)
            return f"answer{len(calls)})", 1.0

    modes = ("none", "repolens", "definitions")
    evaluation = Recording(engine, budget=1024, modes=modes)
    tasks = make_tasks(index, 50, seed=0)
    report = evaluation.run(tasks)
    # every task and mode has its result, in the tasks' order
    assert [(r.task.id, r.mode) for r in report.results] == [
        (t.id, m) for t in tasks for m in modes
    ]
    distinct = {(t.id, p) for t in tasks for p, _, _ in evaluation.prompts(t).values()}
    assert len(calls) == len(distinct)
    by_task: dict[str, dict[str, str]] = {}
    for r in report.results:
        by_task.setdefault(r.task.id, {})[r.mode] = r.completion
    for t in tasks:
        prompts = {m: p for m, (p, _, _) in evaluation.prompts(t).items()}
        for a in modes:
            for b in modes:
                if prompts[a] == prompts[b]:
                    assert by_task[t.id][a] == by_task[t.id][b]
    # the model saw one file's prompts together, mode by mode
    files = []
    for prompt in calls:
        path = prompt.rsplit("<|file_sep|>", 1)[1].split("\n", 1)[0]
        if not files or files[-1] != path:
            files.append(path)
    assert len(files) == len(set(files))
    # with no room for context every mode's prompt is the current file's: one call a task
    calls.clear()
    empty = Recording(engine, budget=0, modes=modes).run(tasks)
    assert len(calls) == len(tasks)
    assert all(r.context_chars == 0 for r in empty.results)

"""Golden Q&A context (``repolens.chat.packing`` and the prompt ``QAEngine.retrieve`` builds):
units packed whole into a budget (one of the best few cut after its head when it does not fit),
ordered so that what a file uses comes before it, rendered as ``path:start-end`` blocks; then
the whole prompt for a question about the Python fixture, retrieved from a real index.

No model is loaded: counts are the deterministic estimate of ``tests/completion/conftest.py``.
Regenerate with ``REPOLENS_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import pytest

from repolens.chat.packing import PackItem, PackResult, dependency_order, pack, render_block
from repolens.indexer import RepoIndex, language_for_path
from repolens.types import Snippet

from .conftest import EstimateTokenizer, Golden, IndexedRepo, QAEngineFor, prompt_report

#: Units a question about welcome mails would rank, best first: (path, definition, score,
#: source). Whole top-level definitions of the Python fixture.
UNITS = [
    ("app/services/mail.py", "send_welcome", 0.95, "search"),
    ("app/util.py", "render_template", 0.9, "definition"),
    ("app/models/user.py", "User", 0.7, "definition"),
    ("main.py", "main", 0.6, "caller"),
    ("app/models/user.py", "Person", 0.5, "definition"),
    ("app/models/repository.py", "UserRepository", 0.4, "search"),
    ("app/util.py", "slugify", 0.3, "search"),
]
#: everything fits; units that do not fit are skipped for smaller ones; a top unit is cut
BUDGETS = [2000, 200, 70]


def items(index: RepoIndex) -> list[PackItem]:
    out = []
    for path, name, score, source in UNITS:
        d = next(d for d in index.file_definitions(path) if d.name == name and not d.scope)
        spec = language_for_path(path)
        assert spec is not None
        lines = (index.text(path) or "").split("\n")
        doc_lines = d.doc.count("\n") + 3 if d.doc else 1
        out.append(
            PackItem(
                path=path,
                start_line=d.start_line,
                end_line=d.end_line,
                lines=lines[d.start_line - 1 : d.end_line],
                score=score,
                source=source,
                symbol=d.qualified_name,
                language=spec.name,
                comment=spec.line_comment,
                head_lines=d.name_line - d.start_line + doc_lines,  # signature and docstring
            )
        )
    return out


def file_deps(index: RepoIndex, snippets: list[Snippet]) -> dict[str, set[str]]:
    """File -> the files it imports, among those shown."""
    paths = {s.path for s in snippets}
    return {
        p: {i.target for i in index.imports(p) if i.target and i.target in paths} for p in paths
    }


def context_text(result: PackResult, ordered: list[Snippet]) -> str:
    return "".join(
        render_block(s, result.languages[(s.path, s.start_line, s.end_line)]) for s in ordered
    )


def test_packed_and_ordered_context_blocks(
    indexed_repo: IndexedRepo, tokenizer: EstimateTokenizer, golden: Golden
) -> None:
    index = indexed_repo("python_app")
    parts = []
    for budget in BUDGETS:
        result = pack(items(index), budget, tokenizer.count)
        ordered = dependency_order(result.snippets, file_deps(index, result.snippets))
        assert result.tokens <= budget
        parts.append(
            f"##### budget {budget}: {len(result.snippets)} blocks, {result.tokens} tokens,"
            f" {result.considered} considered, {result.cut} cut\n" + context_text(result, ordered)
        )
    golden("packing/blocks.txt", "\n".join(parts))


@pytest.mark.parametrize(
    ("name", "question", "budget"),
    [
        ("welcome-mail", "How is the welcome mail for a new user rendered?", 700),
        ("admins", "Which users are admins, and where is that decided?", 400),
    ],
)
def test_the_prompt_for_a_question(
    name: str,
    question: str,
    budget: int,
    qa_engine: QAEngineFor,
    tokenizer: EstimateTokenizer,
    golden: Golden,
) -> None:
    engine = qa_engine("python_app")
    ctx = engine.retrieve(question, budget=budget)
    golden(f"packing/qa-{name}.txt", prompt_report(ctx, tokenizer))

"""Golden choices of the completion budget (``repolens.completion.budget.select``): the same
ranked candidates — what retrieval offers for ``repo.`` typed in ``register.py`` of the Python
fixture — fitted to budgets from a few signatures to whole definitions.

The candidates are real definitions from a tree-sitter index, offered at the levels
``levels_for`` gives and rendered by ``repolens.completion.render`` as the engine does (an
``outline-N`` level keeps the first N members). Token counts are the deterministic estimate of
``tests/completion/conftest.py``; each snippet is charged the qwen2.5-coder file header, as in
the prompt. Regenerate with ``REPOLENS_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from repolens.completion.budget import Choice, levels_for, select
from repolens.completion.render import CONTAINER_KINDS, Rendered, full_fits, render
from repolens.completion.templates import TEMPLATES
from repolens.indexer import Definition, RepoIndex, language_for_path
from repolens.types import Snippet

from .conftest import EstimateTokenizer, Golden, IndexedRepo

HEADER = TEMPLATES["qwen2.5-coder"].file_header


@dataclass(frozen=True)
class Offer:
    """One candidate as retrieval ranks it for the cursor."""

    path: str
    name: str  # qualified
    score: float
    source: str
    prefer_outline: bool = False


#: ``repo.`` on register.py:7 (``repo = UserRepository()``, ``user = User(...)`` above it):
#: the receiver's type first, then names used nearby, the file's imports, the rest.
OFFERS = [
    Offer("app/models/repository.py", "UserRepository", 10.0, "type", prefer_outline=True),
    Offer("app/models/user.py", "User", 3.5, "definition"),
    Offer("app/models/user.py", "User.is_admin", 2.2, "definition"),
    Offer("app/models/user.py", "Person", 1.5, "base", prefer_outline=True),
    Offer("app/services/mail.py", "send_welcome", 1.2, "import"),
    Offer("app/util.py", "render_template", 0.8, "import"),
    Offer("app/util.py", "slugify", 0.8, "import"),
    Offer("app/models/user.py", "DEFAULT_ROLE", 0.5, "import"),
]
BUDGETS = [40, 90, 160, 320, 1000]


def choice_for(index: RepoIndex, offer: Offer, count: Callable[[str], int]) -> Choice:
    d = next(d for d in index.file_definitions(offer.path) if d.qualified_name == offer.name)
    spec = language_for_path(d.path)
    assert spec is not None
    lines = (index.text(d.path) or "").split("\n")
    container = None
    if d.kind in ("method", "field"):
        container = next(
            c
            for c in index.file_definitions(d.path)
            if c.qualified_name == d.scope and c.kind in CONTAINER_KINDS
        )
    members: list[Definition] = []
    inherited: list[tuple[str, Definition]] = []
    if d.kind in CONTAINER_KINDS:
        members = index.members(d)
        own = {(m.path, m.start_line) for m in members}
        inherited = [
            (m.scope.rsplit(".", 1)[-1], m)
            for m in index.all_members(d)
            if (m.path, m.start_line) not in own
        ]

    def at(level: str) -> Rendered:
        if level.startswith("outline"):
            limit = int(level.split("-", 1)[1]) if "-" in level else None
            own_m, inh = members, inherited
            if limit is not None:
                own_m, inh = members[:limit], inherited[: max(0, limit - len(members))]
            return render(d, spec, "outline", file_lines=lines, members=own_m, inherited=inh)
        return render(d, spec, level, file_lines=lines, container=container)

    return Choice(
        key=(d.path, d.start_line, d.name),
        path=d.path,
        score=offer.score,
        source=offer.source,
        symbol=d.qualified_name,
        levels=levels_for(d.kind, offer.prefer_outline, full_fits(d), offer.score >= 1.0),
        render=at,
        header_tokens=count(HEADER.format(path=d.path)),
    )


def report(budget: int, chosen: list[Snippet], headers: dict[str, int]) -> str:
    used = sum(s.tokens + headers[s.path] for s in chosen)
    out = [f"##### budget {budget}: {len(chosen)} snippets, {used} tokens with headers"]
    for s in chosen:
        out.append(
            f"--- {s.path}:{s.start_line}-{s.end_line} {s.source} {s.score:g} {s.symbol}"
            f" ({s.tokens} + {headers[s.path]} header tokens)"
        )
        out.append(s.text)
    return "\n".join(out) + "\n"


@pytest.fixture
def choices(indexed_repo: IndexedRepo, tokenizer: EstimateTokenizer) -> list[Choice]:
    index = indexed_repo("python_app")
    return [choice_for(index, o, tokenizer.count) for o in OFFERS]


def test_choices_as_the_budget_grows(
    choices: list[Choice], tokenizer: EstimateTokenizer, golden: Golden
) -> None:
    count = tokenizer.count
    headers = {c.path: c.header_tokens for c in choices}
    parts = []
    for budget in BUDGETS:
        chosen = select(choices, budget, count)
        parts.append(report(budget, chosen, headers))
        assert sum(s.tokens + headers[s.path] for s in chosen) <= budget
    golden("budget/register-repo-member.txt", "\n".join(parts))

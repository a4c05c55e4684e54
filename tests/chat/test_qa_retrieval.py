"""Q&A retrieval on the fixture repositories (real tree-sitter index, real SQLite, the bundled
model's exact tokenizer): what a question finds, why, in which order, within which budget."""

from __future__ import annotations

import pytest

from repolens.backends.base import Tokenizer
from repolens.chat.qa import QAContext, QAEngine
from repolens.search.retrieval import PathPrior, code_identifiers, path_class, query_terms
from repolens.search.units import Unit

from .conftest import WorkspaceFactory


def engine_for(workspace: WorkspaceFactory, name: str, tokenizer: Tokenizer) -> QAEngine:
    return QAEngine(workspace(name), tokenizer=tokenizer, background_vectors=False)


def spans(ctx: QAContext) -> list[tuple[str, int, int, str]]:
    return [(s.path, s.start_line, s.end_line, s.source) for s in ctx.snippets]


def paths(ctx: QAContext) -> list[str]:
    return [s.path for s in ctx.snippets]


# -- pure helpers ----------------------------------------------------------------------------


def test_query_terms_split_identifiers_drop_stop_words_and_add_singulars() -> None:
    assert query_terms("Where is getUserById called with the connections?") == [
        ["getuserbyid"],
        ["get"],
        ["user"],
        ["id"],
        ["called", "call", "calle"],
        ["connections", "connection"],
    ]


def test_code_identifiers_are_what_the_question_writes_as_code() -> None:
    question = "Why does `repo.get` fail in Session.execute when get_bind() or fooBar run?"
    assert code_identifiers(question) == [
        "repo.get",
        "Session.execute",
        "get_bind",
        "fooBar",
    ]


@pytest.mark.parametrize(
    ("path", "kind", "expected"),
    [
        ("src/app.py", "function", "code"),
        ("tests/test_app.py", "function", "test"),
        ("pkg/app_test.go", "function", "test"),
        ("src/components/Card.test.tsx", "function", "test"),
        ("docs/guide.py", "function", "doc"),
        ("README.md", "text", "doc"),
        ("examples/demo.py", "function", "example"),
    ],
)
def test_path_classes(path: str, kind: str, expected: str) -> None:
    assert path_class(path, kind) == expected


def test_the_prior_lifts_its_penalty_when_the_question_asks_for_tests_or_docs() -> None:
    plain = PathPrior.for_question("how are users stored")
    assert plain("tests/test_user.py") < plain("app/user.py") == 1.0
    assert PathPrior.for_question("which tests cover users")("tests/test_user.py") == 1.0
    assert PathPrior.for_question("what do the docs say")("README.md", "text") == 1.0


# -- fixture repositories --------------------------------------------------------------------


def test_python_question_finds_the_function_and_the_definitions_it_uses(
    workspace: WorkspaceFactory, tokenizer: Tokenizer
) -> None:
    engine = engine_for(workspace, "python_app", tokenizer)
    ctx = engine.retrieve("How is the welcome mail composed?", 8192)
    got = spans(ctx)
    assert ("app/services/mail.py", 1, 7, "search") in got
    # send_welcome calls util.render_template and user.display_name: their definitions
    assert ("app/util.py", 1, 12, "definition") in got
    assert ("app/models/user.py", 1, 30, "definition") in got
    # dependency order: what mail.py uses comes before it
    order = paths(ctx)
    assert order.index("app/util.py") < order.index("app/services/mail.py")
    assert order.index("app/models/user.py") < order.index("app/services/mail.py")
    top = max(ctx.snippets, key=lambda s: s.score)
    assert (top.path, top.score) == ("app/services/mail.py", 1.0)
    assert ctx.prompt_tokens <= 8192
    assert set(ctx.timings_ms) >= {"lexical", "symbol", "fuse", "expand", "pack", "total"}


def test_python_small_budget_keeps_the_best_unit(
    workspace: WorkspaceFactory, tokenizer: Tokenizer
) -> None:
    engine = engine_for(workspace, "python_app", tokenizer)
    ctx = engine.retrieve("Which users are admins?", 400)
    assert spans(ctx)[0][:3] == ("app/models/user.py", 1, 30)
    assert ctx.snippets[0].source == "doc"  # User.is_admin's docstring: "... may change ..."
    assert ctx.prompt_tokens <= 400


def test_a_backticked_name_is_found_by_symbol(
    workspace: WorkspaceFactory, tokenizer: Tokenizer
) -> None:
    engine = engine_for(workspace, "python_app", tokenizer)
    candidates = engine.retriever.retrieve("What does `get_by_email` return?")
    best = candidates[0]
    assert best.unit == Unit("app/models/repository.py", 1, 20, "file", "")
    assert best.ranks["symbol"] == 1 and best.ranks["lexical"] == 1


def test_tests_rank_below_the_code_they_test(
    workspace: WorkspaceFactory, tokenizer: Tokenizer
) -> None:
    engine = engine_for(workspace, "python_app", tokenizer)
    ranked = [c.unit.path for c in engine.retriever.retrieve("Which users are admins?")]
    assert ranked.index("app/models/user.py") < ranked.index("tests/test_user.py")


def test_typescript_method_and_its_definitions(
    workspace: WorkspaceFactory, tokenizer: Tokenizer
) -> None:
    engine = engine_for(workspace, "ts_app", tokenizer)
    ctx = engine.retrieve("Where are users registered and announced?", 8192)
    got = spans(ctx)
    assert ("src/services/userService.ts", 1, 22, "search") in got
    # UserService.register uses User, Role, the logger and the repo: resolved definitions
    for p in ("src/models/role.ts", "src/logger.ts"):
        assert (p, "definition") in [(s.path, s.source) for s in ctx.snippets]
    order = paths(ctx)
    assert order.index("src/logger.ts") < order.index("src/services/userService.ts")
    small = engine.retrieve("Where are users registered and announced?", 400)
    assert "src/services/userService.ts" in paths(small)


def test_go_method_found_by_its_doc_comment(
    workspace: WorkspaceFactory, tokenizer: Tokenizer
) -> None:
    engine = engine_for(workspace, "go_app", tokenizer)
    ctx = engine.retrieve("Which method returns the keys in order?", 400)
    assert ("internal/store/ops.go", 1, 27) in [s[:3] for s in spans(ctx)]
    best = engine.retriever.retrieve("Which method returns the keys in order?")[0]
    assert best.unit.path == "internal/store/ops.go"
    assert best.ranks == {"lexical": 1, "doc": 1}


def test_go_callers_come_along(workspace: WorkspaceFactory, tokenizer: Tokenizer) -> None:
    engine = engine_for(workspace, "go_app", tokenizer)
    ctx = engine.retrieve("How are the settings loaded?", 8192)
    got = spans(ctx)
    assert got[-2:] == [
        ("internal/config/config.go", 1, 15, "search"),
        ("main.go", 1, 16, "search"),
    ]
    unit = engine.retriever.units.unit_at("internal/config/config.go", 13)
    assert unit is not None
    # config.Load is called from main.go
    callers = engine.retriever.callers(
        Unit("internal/config/config.go", 12, 15, "function", "Load")
    )
    assert [c.path for c in callers] == ["main.go"]


def test_java_question(workspace: WorkspaceFactory, tokenizer: Tokenizer) -> None:
    engine = engine_for(workspace, "java_app", tokenizer)
    ctx = engine.retrieve("How is the area of a circle computed?", 400)
    assert "src/main/java/com/example/model/Circle.java" in paths(ctx)
    assert ctx.prompt_tokens <= 400


def test_big_functions_are_one_unit_and_small_files_are_whole(
    workspace: WorkspaceFactory, tokenizer: Tokenizer
) -> None:
    engine = engine_for(workspace, "python_app", tokenizer)
    units = engine.retriever.units
    (unit,) = {u for _, u in units.units_of("app/models/user.py")}
    assert unit == Unit("app/models/user.py", 1, 30, "file", "")
    assert units.unit_at("app/models/user.py", 26) == unit


def test_overview_has_readme_map_and_entry_points(
    workspace: WorkspaceFactory, tokenizer: Tokenizer
) -> None:
    engine = engine_for(workspace, "python_app", tokenizer)
    ctx = engine.overview(4096)
    sources = [s.source for s in ctx.snippets]
    assert sources[0] == "readme" and ctx.snippets[0].path == "README.md"
    assert ("main.py", 1, 17, "entry_point") in spans(ctx)
    maps = {s.path: s.text for s in ctx.snippets if s.source == "repo_map"}
    assert maps["app/models/repository.py"].split("\n") == [
        "6: class UserRepository:",
        "    9: def __init__(self) -> None:",
        "    12: def add(self, user: User) -> None:",
        "    15: def get_by_email(self, email: str) -> User | None:",
        "    19: def admins(self) -> list[User]:",
    ]
    # README, then the map, then the entry points (next to the question)
    assert sources == sorted(sources, key=["readme", "repo_map", "entry_point"].index)
    assert ctx.question.startswith("What does this project do?")
    assert ctx.prompt_tokens <= 4096
    # an empty question is the overview too
    assert spans(engine.retrieve("", 4096)) == spans(ctx)


def test_go_overview_finds_main(workspace: WorkspaceFactory, tokenizer: Tokenizer) -> None:
    engine = engine_for(workspace, "go_app", tokenizer)
    ctx = engine.overview(2048)
    entries = [(s.path, s.start_line) for s in ctx.snippets if s.source == "entry_point"]
    assert ("main.go", 1) in entries
    assert any(s.path == "go.mod" and s.source == "manifest" for s in ctx.snippets)


def test_context_json_is_the_documented_contract(
    workspace: WorkspaceFactory, tokenizer: Tokenizer
) -> None:
    engine = engine_for(workspace, "python_app", tokenizer)
    data = engine.retrieve("How is the welcome mail composed?", 1024).as_json()
    assert list(data) == ["question", "snippets", "prompt_tokens", "timings_ms"]
    first = data["snippets"][0]
    assert list(first) == ["path", "start_line", "end_line", "text", "tokens", "source", "score"]
    assert data["prompt_tokens"] <= 1024


def test_unsaved_buffers_are_searched(workspace: WorkspaceFactory, tokenizer: Tokenizer) -> None:
    engine = engine_for(workspace, "python_app", tokenizer)
    engine.index.set_overlay(
        "app/util.py",
        "def render_template(name, **values):\n"
        '    """Fill the named template with values."""\n'
        "    return name\n\n\n"
        "def shout(text):\n"
        '    """Upper-case a greeting for the loudspeaker announcement."""\n'
        "    return text.upper()\n",
    )
    candidates = engine.retriever.retrieve("loudspeaker announcement greeting")
    assert candidates[0].unit.path == "app/util.py"


def test_a_question_nothing_matches_gets_the_overview(
    workspace: WorkspaceFactory, tokenizer: Tokenizer
) -> None:
    engine = engine_for(workspace, "python_app", tokenizer)
    ctx = engine.retrieve("¿Qué hace zzqx?", 2048)
    assert ctx.overview and ctx.question == "¿Qué hace zzqx?"
    assert ctx.snippets[0].source == "readme"
    assert ctx.messages[-1].content.rstrip().endswith("Question: ¿Qué hace zzqx?")

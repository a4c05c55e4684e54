"""Call sites of what the cursor is about to use, from other files, next to its definition
(``source: usage``); and fillers never crowd the definitions the cursor needs out of the budget.
A real index of a real repository on disk."""

from __future__ import annotations

from pathlib import Path

from repolens.completion.budget import Choice, select
from repolens.completion.render import Rendered
from tests.completion.conftest import make_engine, typing_at, write_repo

FILES = {
    "shop/__init__.py": "",
    "shop/api.py": '''"""A small HTTP client."""


class Client:
    """Talks to the shop's API."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url
        self.timeout = timeout

    def get_json(self, path: str) -> dict:
        return {}

    def post_form(self, path: str, form: dict) -> dict:
        return {}


def fetch_rows(table: str, *, limit: int = 100, order: str = "id") -> list[dict]:
    """Rows of a table."""
    return []
''',
    "shop/reports.py": """from shop.api import Client, fetch_rows


def weekly() -> list[dict]:
    rows = fetch_rows("orders", limit=500, order="created_at")
    return rows


def stock() -> dict:
    client = Client("https://shop.example", timeout=2.0)
    return client.get_json("/stock")
""",
    "shop/admin.py": """from shop.api import fetch_rows


def users() -> list[dict]:
    return fetch_rows("users", limit=50)
""",
    "shop/new.py": """from shop.api import Client, fetch_rows


def orders_today() -> list[dict]:
    placeholder
""",
}


def _repo(tmp_path: Path) -> Path:
    write_repo(tmp_path / "repo", FILES)
    return tmp_path / "repo"


def test_a_call_brings_how_other_files_call_it(tmp_path: Path) -> None:
    at = typing_at(make_engine(_repo(tmp_path)))
    ctx = at("shop/new.py", 5, '    rows = fetch_rows("orders", ')
    assert (ctx.trigger, ctx.target) == ("call", "fetch_rows")
    usages = [s for s in ctx.snippets if s.source == "usage"]
    assert {s.path for s in usages} == {"shop/reports.py", "shop/admin.py"}
    # the most alike first in rank: reports.py's call also says "orders"
    best = max(usages, key=lambda s: s.score)
    assert best.path == "shop/reports.py"
    assert 'fetch_rows("orders", limit=500, order="created_at")' in best.text
    assert best.symbol == "fetch_rows"
    # the definition is there too, and the examples come after it (nearest the cursor)
    sources = [s.source for s in ctx.snippets]
    assert "definition" in sources
    assert max(i for i, s in enumerate(sources) if s == "definition") < sources.index("usage")
    assert ctx.prompt.index("def fetch_rows(") < ctx.prompt.index('fetch_rows("orders", limit=500')


def test_a_member_brings_what_other_files_do_with_an_instance(tmp_path: Path) -> None:
    text = FILES["shop/new.py"].replace(
        "    placeholder\n", '    api = Client("https://shop.example")\n    api.\n'
    )
    ctx = make_engine(_repo(tmp_path)).context("shop/new.py", 6, 9, text=text)
    assert (ctx.trigger, ctx.target) == ("member", "api")
    usage = next(s for s in ctx.snippets if s.source == "usage")
    assert usage.path == "shop/reports.py"
    assert 'client = Client("https://shop.example", timeout=2.0)' in usage.text
    assert 'client.get_json("/stock")' in usage.text
    # and the class's outline is whole enough to list its methods
    outline = next(s for s in ctx.snippets if s.source == "type")
    assert "def post_form(" in outline.text


def test_no_usage_without_a_trigger_or_from_the_current_file(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "shop" / "new.py").write_text(
        FILES["shop/new.py"].replace("    placeholder", '    fetch_rows("x")\n    placeholder')
    )
    at = typing_at(make_engine(repo))
    statement = at("shop/new.py", 6, "    ")
    assert statement.trigger == "statement"
    assert not [s for s in statement.snippets if s.source == "usage"]
    call = at("shop/new.py", 6, "    fetch_rows(")
    assert all(s.path != "shop/new.py" for s in call.snippets if s.source == "usage")


def _choice(name: str, score: float, levels: dict[str, str], path: str = "a.py") -> Choice:
    texts = dict(levels)
    return Choice(
        key=(path, 1, name),
        path=path,
        score=score,
        source=name,
        symbol=name,
        levels=tuple(texts),
        render=lambda level: Rendered(texts[level], level, 1, 1),
    )


def test_a_filler_does_not_leave_the_target_class_as_a_bare_line() -> None:
    def count(text: str) -> int:
        return len(text.split())

    target = _choice(
        "type",
        10.0,
        {"outline": "class C: " + "m " * 150, "stub": "class C:"},
        path="c.py",
    )
    window = _choice("similar", 0.6, {"full": "w " * 300}, path="w.py")
    chosen = select([target, window], 400, count)
    by = {s.source: s for s in chosen}
    assert by["type"].text.startswith("class C: m")  # its outline, not the stub
    assert "similar" not in by  # no room left for the whole window: it gives way
    roomy = {s.source for s in select([target, window], 1000, count)}
    assert roomy == {"type", "similar"}  # with room, the filler still comes

"""Look-alike code from anywhere in the repository (``source: similar``): the near-duplicate of
the lines before the cursor usually lives in a sibling test or another example, not in the
files the current one imports, so the engine finds it through the index's full-text search.
A real index of a real repository on disk."""

from __future__ import annotations

from pathlib import Path

from tests.completion.conftest import make_engine, typing_at, write_repo

_CLIENT_TEST = """from shop.app import create_app


def test_{name}_orders_listed():
    app = create_app({{"TESTING": True, "DATABASE": "memory"}})
    client = app.test_client()
    response = client.get("/{name}/orders", headers={{"X-Tenant": "acme"}})
    assert response.status_code == 200
    assert response.json["orders"] == []
"""

FILES = {
    "shop/__init__.py": "",
    "shop/app.py": '''def create_app(config=None):
    """The application."""
    return object()
''',
    # the look-alike: three directories away, and nothing imports it or is imported by it
    "integration/tenants/acme/test_listing.py": _CLIENT_TEST.format(name="acme"),
    # the same words in another language: never a look-alike for a Python file
    "web/static/orders.js": (
        "function test_acme_orders_listed(app, client, response) {\n"
        '  const client_ = app.test_client(); client.get("/acme/orders"); response.json;\n'
        "}\n"
    ),
    "docs/new/test_new.py": """from shop.app import create_app


def test_new_orders_listed():
    app = create_app({"TESTING": True, "DATABASE": "memory"})
    client = app.test_client()
    placeholder
""",
}


def _repo(tmp_path: Path) -> Path:
    write_repo(tmp_path / "repo", FILES)
    return tmp_path / "repo"


def test_a_near_duplicate_anywhere_in_the_repository_is_shown(tmp_path: Path) -> None:
    engine = make_engine(_repo(tmp_path))
    at = typing_at(engine)
    ctx = at("docs/new/test_new.py", 7, "    response = client.get(")
    similar = [s for s in ctx.snippets if s.source == "similar"]
    assert [s.path for s in similar] == ["integration/tenants/acme/test_listing.py"]
    assert 'headers={"X-Tenant": "acme"}' in similar[0].text
    # not a neighbour: found by the repository-wide search, not by imports or directories
    assert "integration/tenants/acme/test_listing.py" not in engine.reader.neighbours(
        "docs/new/test_new.py", []
    )
    assert all(not s.path.endswith(".js") for s in ctx.snippets)


def test_the_closest_look_alike_competes_with_definitions_the_rest_fill_in(tmp_path: Path) -> None:
    engine = make_engine(_repo(tmp_path))
    ctx = typing_at(engine)("docs/new/test_new.py", 7, "    response = client.get(")
    similar = next(s for s in ctx.snippets if s.source == "similar")
    # ranked with the definitions (a score of 1 or more), not only in what they leave
    assert similar.score >= 1.0
    # a window that is not close stays a filler
    far = _repo(tmp_path / "far")
    (far / "docs/new/test_new.py").write_text(
        "from shop.app import create_app\n\n\ndef test_other():\n    app = create_app()\n"
        "    value = compute(app)\n    placeholder\n"
    )
    engine = make_engine(far)
    ctx = typing_at(engine)("docs/new/test_new.py", 7, "    response = client.get(")
    [window] = [s for s in ctx.snippets if s.source == "similar"]
    assert window.path == "integration/tenants/acme/test_listing.py" and window.score < 1.0


_FACTORIES = """def make_refund(order: dict) -> dict:
    return {"order": order}


def test_make_refund_defaults():
    assert make_refund({})["order"] == {}


class TestRefunds:
    def test_refund(self):
        pass
"""


def test_the_repo_map_lists_what_code_can_call_not_test_entry_points(tmp_path: Path) -> None:
    files = {
        "tests/__init__.py": "",
        "tests/helpers.py": "def make_order(total: int = 10) -> dict:\n    return {}\n",
        "tests/factories.py": _FACTORIES,  # a neighbour: same folder, not imported
        "tests/test_new.py": "from tests.helpers import make_order\n\n\ndef test_new():\n"
        "    order = make_order(5)\n    placeholder\n",
    }
    write_repo(tmp_path / "repo", files)
    engine = make_engine(tmp_path / "repo")
    ctx = typing_at(engine)("tests/test_new.py", 6, "    ")
    maps = [s for s in ctx.snippets if s.source == "repo_map"]
    assert [s.path for s in maps] == ["tests/factories.py"], [s.source for s in ctx.snippets]
    assert "def make_refund(order: dict) -> dict:" in maps[0].text
    # a test runner calls these, no code does: a model that sees them copies their names
    assert "test_make_refund_defaults" not in maps[0].text and "TestRefunds" not in maps[0].text

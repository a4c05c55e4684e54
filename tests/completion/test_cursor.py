"""Cursor analysis and local type facts (pure text analysis)."""

from __future__ import annotations

from repolens.completion.cursor import analyze, binding_of, names_near, return_type
from repolens.indexer import language_spec

PY = language_spec("python")


def _cur(text: str, language: str = "python"):  # type: ignore[no-untyped-def]
    lines = text.split("\n")
    return analyze("f", language_spec(language), text, len(lines) - 1, len(lines[-1]))


def test_triggers() -> None:
    assert (_cur("x = obj.attr.").trigger, _cur("x = obj.attr.").target) == ("member", "obj.attr")
    cur = _cur("x = foo.bar(a, b")
    assert (cur.trigger, cur.target) == ("call", "foo.bar")
    cur = _cur("x = outer(inner(1), ")
    assert cur.target == "outer"
    assert _cur("    ").trigger == "statement"
    assert _cur("    ret").trigger == "statement" and _cur("    ret").partial == "ret"
    cur = _cur("s := store.New(", "go")
    assert (cur.trigger, cur.target) == ("call", "store.New")
    cur = _cur("let v = Circle::new(", "rust")
    assert cur.target == "Circle.new"


def test_strings_and_comments_are_ignored() -> None:
    assert _cur("x = 'a.b.'").trigger != "member"
    names = [n.name for n in names_near(_cur("import os\nx = 1  # uses secret.value\ny = x"))]
    assert "secret.value" not in names and "x" in names


def test_bindings_per_language() -> None:
    cur = _cur("repo = UserRepository()\nrepo.")
    fact = binding_of(cur, "repo")
    assert fact is not None and fact.call == "UserRepository"
    cur = _cur("def f(user: models.User):\n    user.")
    fact = binding_of(cur, "user")
    assert fact is not None and fact.type_name == "models.User"
    cur = _cur("const svc = new UserService();\nsvc.", "typescript")
    fact = binding_of(cur, "svc")
    assert fact is not None and fact.constructor and fact.call == "UserService"
    cur = _cur("\ts := &store.Store{}\n\ts.", "go")
    fact = binding_of(cur, "s")
    assert fact is not None and fact.call == "store.Store" and fact.constructor
    cur = _cur("        Circle circle = new Circle(2.0);\n        circle.", "java")
    fact = binding_of(cur, "circle")
    assert fact is not None and (fact.type_name or fact.call) == "Circle"


def test_rebinding_uses_the_earlier_binding() -> None:
    cur = _cur("q = select(t)\nq = q.where(x)\nq.")
    latest = binding_of(cur, "q")
    assert latest is not None and latest.call == "q.where"
    earlier = binding_of(cur, "q", before=latest.line)
    assert earlier is not None and earlier.call == "select"


def test_return_types() -> None:
    assert return_type("def make() -> Client:", "python") == "Client"
    assert return_type("def make() -> Optional[Client]:", "python") == "Client"
    assert return_type("def make() -> None:", "python") is None
    assert return_type("def values(self, *v) -> Self:", "python") == "Self"
    assert return_type("function make(): Client {", "javascript") == "Client"
    assert return_type("func New() *Store", "go") == "Store"
    assert return_type("fn new(r: f64) -> Result<Circle, Error>", "rust") == "Circle"

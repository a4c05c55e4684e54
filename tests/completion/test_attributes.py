"""A Python class's outline shows its data as data: the attributes ``__init__`` assigns and
its properties as ``name: type``, and when the outline must be cut short, the members the
repository uses most are the ones kept. Pure functions first, then the real engine on a real
index of a repository on disk."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from repolens.completion.attributes import ATTRIBUTE, as_attribute, init_attributes
from repolens.completion.plan import top_members
from repolens.indexer import Definition, language_for_path
from repolens.indexer.extract import extract
from tests.completion.conftest import make_engine, typing_at, write_repo

_RESPONSE = '''import typing


class Response:
    """An HTTP response."""

    def __init__(
        self,
        status_code: int,
        *,
        headers: dict[str, str] | None = None,
        encoding: str | typing.Callable[[bytes], str] = "utf-8",
        request=None,
    ) -> None:
        self.status_code = status_code
        self.headers = Headers(headers)
        self.next_request: Request | None = None
        self.is_closed = False
        self.retries = 0
        self.encoding = encoding
        self.request = request
        self._stream = None
        self.status_code = 500

    @property
    def is_error(self) -> bool:
        """True for 4xx and 5xx status codes."""
        return self.status_code >= 400

    @property
    def elapsed(self) -> float:
        return 0.0

    @elapsed.setter
    def elapsed(self, value: float) -> None:
        pass

    @functools.cached_property
    def text(self):
        return ""

    def raise_for_status(self) -> "Response":
        """Raise on an error status."""
        return self
'''


def _definitions(text: str) -> list[Definition]:
    """The members of ``Response`` as the index records them (a real parse)."""
    spec = language_for_path("m.py")
    assert spec is not None
    facts = extract("m.py", text.encode(), spec)
    return [d for d in facts.definitions if d.scope == "Response"]


def test_properties_become_attributes_and_setters_fold_into_their_getter() -> None:
    lines = _RESPONSE.split("\n")
    members = {(m.name, m.start_line): as_attribute(m, lines) for m in _definitions(_RESPONSE)}
    shown = [m for m in members.values() if m is not None]
    by_name = {m.name: m for m in shown}
    assert by_name["is_error"].kind == ATTRIBUTE
    assert by_name["is_error"].signature == "is_error: bool"
    assert by_name["elapsed"].signature == "elapsed: float"  # the getter, once
    assert [m.name for m in shown].count("elapsed") == 1
    assert by_name["text"].signature == "text"  # a cached property with no annotation
    # methods stay methods
    assert by_name["raise_for_status"].kind == "method"
    assert by_name["__init__"].kind == "method"


def test_init_attributes_take_their_type_from_what_the_source_says() -> None:
    lines = _RESPONSE.split("\n")
    members = _definitions(_RESPONSE)
    init = next(m for m in members if m.name == "__init__")
    attributes = init_attributes(init, lines, {m.name for m in members})
    assert [a.signature for a in attributes] == [
        "status_code: int",  # the parameter's annotation (the later re-assignment ignored)
        "headers: Headers",  # a class being called
        "next_request: Request | None",  # its own annotation
        "is_closed: bool",  # literals
        "retries: int",
        "encoding: str | typing.Callable[[bytes], str]",  # commas inside brackets
        "request",  # an unannotated parameter: the name alone
    ]
    assert all(a.kind == ATTRIBUTE and a.scope == "Response" for a in attributes)
    assert attributes[0].start_line == lines.index("        self.status_code = status_code") + 1
    # private attributes and names the class already defines (a property) are left out
    assert init_attributes(init, lines, {"headers"})[1].name == "next_request"
    # a signature the index cut short keeps the types it has whole
    cut = dataclasses.replace(init, signature="def __init__(self, status_code: int, en...")
    assert init_attributes(cut, lines, set())[0].signature == "status_code: int"


def _member(name: str, line: int) -> Definition:
    return Definition(name, "method", line, line, line, 4, f"def {name}(self):", scope="C")


def test_top_members_keep_what_the_repository_uses_most_in_source_order() -> None:
    own = [_member(n, i) for i, n in enumerate(["alpha", "beta", "gamma", "delta", "_hidden"])]
    inherited = [("Base", _member("base_used", 90)), ("Base", _member("base_rare", 91))]
    uses = {"gamma": 40, "base_used": 30, "alpha": 2, "_hidden": 99}
    kept, kept_inherited = top_members(own, inherited, 3, "", uses)
    # the three most used public members, shown in source order, own before inherited
    assert [m.name for m in kept] == ["alpha", "gamma"]
    assert [m.name for _, m in kept_inherited] == ["base_used"]
    # what is being typed still comes first; without counts, source order decides
    kept, _ = top_members(own, inherited, 2, "del", uses)
    assert [m.name for m in kept] == ["gamma", "delta"]
    kept, kept_inherited = top_members(own, inherited, 3, "")
    assert [m.name for m in kept] == ["alpha", "beta", "gamma"] and kept_inherited == []


_USES = """from net.response import Response


def check(r: Response) -> None:
    assert r.status_code == 200
    assert r.headers["a"] == "b"
    assert not r.is_error
"""


def test_an_outline_shows_attributes_and_keeps_the_most_used_members(tmp_path: Path) -> None:
    # a big class whose outline cannot be whole, used through status_code in many files
    many = "".join(
        f"    def method_{i:02d}(self, value: int) -> int:\n"
        f'        """Method number {i} of a big class, documented at length."""\n'
        "        return value\n\n"
        for i in range(40)
    )
    files = {
        "net/__init__.py": "",
        "net/response.py": _RESPONSE + many,
        "app/main.py": "from net.response import Response\n\n\ndef run():\n"
        "    response = Response(200)\n    placeholder\n",
    }
    for i in range(6):
        files[f"tests/test_use_{i}.py"] = _USES
    files["tests/test_once.py"] = _USES.replace("r.headers", "r.method_39(1)")
    write_repo(tmp_path / "repo", files)
    engine = make_engine(tmp_path / "repo", budget_tokens=400)
    ctx = typing_at(engine)("app/main.py", 6, "    response.")
    outline = next(s for s in ctx.snippets if s.source == "type")
    assert outline.start_line == 4  # class Response
    assert "status_code: int" in outline.text
    assert "headers: Headers" in outline.text
    assert "is_error: bool" in outline.text and "def is_error" not in outline.text
    assert "def elapsed" not in outline.text
    assert "method_39" in outline.text  # used once elsewhere: kept over its 39 siblings
    assert "method_20" not in outline.text  # the outline was cut short

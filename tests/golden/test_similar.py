"""Golden look-alike code (``repolens.completion.similar``): the windows of nearby files most
like the lines before the cursor, and how they land in the completion prompt as "similar"
fillers after the resolved definitions.

The repository is a small web service whose handler modules repeat one pattern, the user typing
a new handler module that follows it — the case look-alike retrieval is for. The query is what
the engine sends (the 12 lines before the cursor and the cursor line), the windows are computed
with the language's stop words, the count is the deterministic estimate. Regenerate with
``REPOLENS_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

from repolens.completion.engine import CompletionEngine
from repolens.completion.similar import Window, file_windows, similar_windows
from repolens.completion.templates import TEMPLATES
from repolens.indexer import RepoIndex, language_for_path
from repolens.settings import CompletionSettings

from .conftest import EstimateTokenizer, Golden, IndexedRepo

_HANDLERS = '''"""HTTP handlers for {things}."""

from service.store import db
from service.web import Request, Response, json_response, not_found


def list_{things}(request: Request) -> Response:
    limit = int(request.query.get("limit", "50"))
    rows = db.select("{things}", limit=limit)
    return json_response([dict(row) for row in rows])


def get_{thing}(request: Request, {thing}_id: int) -> Response:
    row = db.get("{things}", {thing}_id)
    if row is None:
        return not_found(f"{thing} {{{thing}_id}}")
    return json_response(dict(row))


def delete_{thing}(request: Request, {thing}_id: int) -> Response:
    if not db.delete("{things}", {thing}_id):
        return not_found(f"{thing} {{{thing}_id}}")
    return Response(status=204)
'''

FILES = {
    "service/__init__.py": "",
    "service/web.py": '''"""A minimal request/response layer."""

from dataclasses import dataclass, field


@dataclass
class Request:
    path: str
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class Response:
    status: int = 200
    body: str = ""


def json_response(value: object, status: int = 200) -> Response:
    """The value as a JSON body."""
    import json

    return Response(status, json.dumps(value))


def not_found(what: str) -> Response:
    return Response(404, f"{what} not found")
''',
    "service/store/__init__.py": "",
    "service/store/db.py": '''"""Rows in named tables, in memory."""

_TABLES: dict[str, dict[int, dict[str, object]]] = {}


def select(table: str, limit: int = 100) -> list[dict[str, object]]:
    return list(_TABLES.get(table, {}).values())[:limit]


def get(table: str, key: int) -> dict[str, object] | None:
    return _TABLES.get(table, {}).get(key)


def delete(table: str, key: int) -> bool:
    return _TABLES.get(table, {}).pop(key, None) is not None
''',
    "service/handlers/__init__.py": "",
    "service/handlers/orders.py": _HANDLERS.format(thing="order", things="orders"),
    "service/handlers/invoices.py": _HANDLERS.format(thing="invoice", things="invoices"),
    "service/handlers/health.py": '''"""Liveness and readiness probes."""

import time

from service.web import Request, Response

STARTED = time.monotonic()


def live(request: Request) -> Response:
    return Response(200, "ok")


def ready(request: Request) -> Response:
    uptime = time.monotonic() - STARTED
    return Response(200 if uptime > 1.0 else 503, f"{uptime:.1f}")
''',
    # the file being written: its first handler done, the second begun
    "service/handlers/payments.py": '''"""HTTP handlers for payments."""

from service.store import db
from service.web import Request, Response, json_response, not_found


def list_payments(request: Request) -> Response:
    limit = int(request.query.get("limit", "50"))
    rows = db.select("payments", limit=limit)
    return json_response([dict(row) for row in rows])


def get_payment(request: Request, payment_id: int) -> Response:
    row = db.get("payments", payment_id)
    if row is None:
''',
}
CURRENT = "service/handlers/payments.py"
CURSOR_LINE = 16  # 1-based: the indented empty line after `if row is None:`
CURSOR_TEXT = "        "


def _buffer() -> list[str]:
    lines = FILES[CURRENT].split("\n")
    lines[CURSOR_LINE - 1] = CURSOR_TEXT
    return lines


def _windows_report(index: RepoIndex, windows: list[Window]) -> str:
    out = []
    for w in windows:
        lines = (index.text(w.path) or "").split("\n")[w.start_line - 1 : w.end_line]
        out.append(f"--- {w.path}:{w.start_line}-{w.end_line} jaccard {w.score:.4f}")
        out += [f"{n:4}| {line}".rstrip() for n, line in enumerate(lines, w.start_line)]
    return "\n".join(out) + "\n"


def test_the_windows_most_like_the_lines_before_the_cursor(
    indexed_repo: IndexedRepo, golden: Golden
) -> None:
    index = indexed_repo("handlers", FILES)
    spec = language_for_path(CURRENT)
    assert spec is not None
    buffer = _buffer()
    before = CURSOR_LINE - 1
    query = "\n".join([*buffer[max(0, before - 12) : before], CURSOR_TEXT])
    files = [
        (p, file_windows((index.text(p) or "").split("\n"), spec.stop_words, max_lines=600))
        for p in index.files()
        if p != CURRENT and language_for_path(p) is not None
    ]
    windows = similar_windows(query, files, stop=spec.stop_words, top=3)
    golden("similar/windows.txt", _windows_report(index, windows))


def test_look_alikes_in_the_completion_prompt(indexed_repo: IndexedRepo, golden: Golden) -> None:
    index = indexed_repo("handlers", FILES)
    engine = CompletionEngine(
        index,
        CompletionSettings(budget_tokens=700),
        EstimateTokenizer(),
        TEMPLATES["qwen2.5-coder"],
        repo_name="handlers",
    )
    # the editor has both sibling handler modules open
    engine.recent_files = ["service/handlers/invoices.py", "service/handlers/orders.py"]
    ctx = engine.context(
        CURRENT, CURSOR_LINE, len(CURSOR_TEXT) + 1, text="\n".join(_buffer()), budget=700
    )
    listing = [
        f"{s.source:10} {s.path}:{s.start_line}-{s.end_line} {s.tokens} tokens {s.symbol}".rstrip()
        for s in ctx.snippets
    ]
    assert ctx.context_tokens <= 700
    golden("similar/prompt.txt", "\n".join([*listing, "", ctx.prompt]))

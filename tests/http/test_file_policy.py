"""Every way into a file over HTTP (``/v1/context``, ``/v1/complete``, ``/v1/file``) applies
the indexer's policy: files it would not index (gitignored, in vendored or build folders, in
``.git``) are refused with a message and their content never reaches an answer or a prompt.
A new file the user is still editing (its text in the request, not on disk or not indexed yet)
is allowed where the policy allows it. A real ``repolens serve`` on a real git repository."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import git
from tests.http.test_server import Served, _serve

#: path -> a marker only that file holds
HIDDEN = {
    "ignored_settings.py": "MARKER_GITIGNORED",
    "generated/out.py": "MARKER_IGNORED_FOLDER",
    "node_modules/pkg/index.py": "MARKER_NODE_MODULES",
    "vendor/lib.py": "MARKER_VENDORED_TRACKED",
    ".git/hooks/x.py": "MARKER_DOT_GIT",
    "through_link/hooks/x.py": "MARKER_DOT_GIT",  # a folder symlinked to .git
}


@pytest.fixture
def served(fixture_repo: Callable[[str], Path]) -> Iterator[Served]:
    root = fixture_repo("python_app")
    (root / ".gitignore").write_text("ignored_settings.py\ngenerated/\n")
    (root / "vendor").mkdir()
    (root / "vendor/lib.py").write_text('VENDORED = "MARKER_VENDORED_TRACKED"\n')
    git(root, "add", ".gitignore", "vendor/lib.py")
    git(root, "commit", "-q", "-m", "ignore some files, vendor a library")
    for path, marker in HIDDEN.items():
        if path.startswith("through_link/"):
            continue
        full = root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(f'SECRET = "{marker}"\nvalue = SECRET\n')
    os.symlink(".git", root / "through_link")
    s = _serve(root)
    yield s
    s.proc.terminate()
    s.proc.wait(10)


def _position(path: str, text: str | None = None, column: int = 9) -> dict[str, object]:
    body: dict[str, object] = {"file": path, "line": 2, "column": column, "max_tokens": 4}
    if text is not None:
        body["text"] = text
    return body


@pytest.mark.parametrize("path", list(HIDDEN))
def test_files_the_indexer_skips_are_refused_by_every_endpoint(served: Served, path: str) -> None:
    marker = HIDDEN[path]
    answers = {
        "context": httpx.post(served.url + "/v1/context", json=_position(path), timeout=60),
        "complete": httpx.post(served.url + "/v1/complete", json=_position(path), timeout=60),
        "file": httpx.get(served.url + "/v1/file", params={"path": path}, timeout=60),
    }
    for way, r in answers.items():
        assert r.status_code == 403, (way, r.status_code, r.text[:300])
        assert marker not in r.text, way
        detail = r.json()["detail"]
        assert path in detail and "not index" in detail, (way, detail)
    # and with the text in the request (an editor's buffer), the policy is the same
    r = httpx.post(served.url + "/v1/context", json=_position(path, "x = 1\nvalue = x\n"))
    assert r.status_code == 403, r.text[:300]


def test_a_new_unsaved_file_is_allowed_where_the_policy_allows_it(served: Served) -> None:
    text = "from app import slugify\nresult = slug\n"
    r = httpx.post(served.url + "/v1/context", json=_position("app/new_module.py", text, 14))
    assert r.status_code == 200, r.text
    assert r.json()["prefix"].endswith("result = slug")
    # the same new file inside a gitignored folder is not
    r = httpx.post(served.url + "/v1/context", json=_position("generated/new.py", text))
    assert r.status_code == 403 and "gitignored" in r.json()["detail"]
    # a file that exists and is indexed still works, and is what /v1/file serves
    r = httpx.get(served.url + "/v1/file", params={"path": "app/util.py"})
    assert r.status_code == 200 and "def render_template" in r.json()["text"]
    r = httpx.get(served.url + "/v1/file", params={"path": "app/not_there.py"})
    assert r.status_code == 404


@pytest.mark.model
def test_a_new_unsaved_file_can_be_completed(served: Served) -> None:
    text = "from app import slugify\nresult = slug\n"
    r = httpx.post(
        served.url + "/v1/complete", json=_position("app/new_module.py", text, 14), timeout=300
    )
    assert r.status_code == 200, r.text

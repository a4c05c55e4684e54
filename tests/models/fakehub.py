"""A Hugging Face hub on loopback that serves files the way the real one does for LFS files.

``HEAD``/``GET /{repo}/resolve/{revision}/{file}`` answers ``302`` to a CDN-like URL on a second
server (another origin, as the real CDN is: huggingface_hub reads the file's metadata from the
redirect itself and downloads from the ``Location``), with ``X-Repo-Commit``,
``X-Linked-Etag`` (the SHA-256, quoted), ``X-Linked-Size`` and ``ETag``. The CDN answers
``GET``/``HEAD /cdn/{sha256}`` with ``Accept-Ranges``, ``Content-Length`` and ``Range`` ->
``206``. Unknown repositories and files get ``404`` with the ``X-Error-Code`` the hub sends.

Faults, per file: ``cut_after`` closes the connection after that many body bytes on the first
full GET (huggingface_hub resumes with a ``Range`` request); ``stall_after`` sends that many
bytes and then waits (for a test that kills the client mid-download); ``body`` different from
what ``sha256`` says (a corrupt transfer or a lying mirror). Every request is logged.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class HubFile:
    body: bytes | Path  # the bytes, or a file to stream (a real GGUF)
    sha256: str = ""  # what the hub reports; default: the body's real hash
    size: int | None = None  # what the hub reports; default: the body's size
    commit: str = COMMIT
    cut_after: int | None = None
    stall_after: int | None = None
    gets: int = 0

    def __post_init__(self) -> None:
        if not self.sha256:
            self.sha256 = sha256_of(self.body)
        if self.size is None:
            self.size = self.length

    @property
    def length(self) -> int:
        return self.body.stat().st_size if isinstance(self.body, Path) else len(self.body)

    def read(self, start: int, end: int) -> bytes:
        if isinstance(self.body, Path):
            with self.body.open("rb") as fh:
                fh.seek(start)
                return fh.read(end - start)
        return self.body[start:end]


def sha256_of(body: bytes | Path) -> str:
    if isinstance(body, Path):
        with body.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    return hashlib.sha256(body).hexdigest()


@dataclass
class Request:
    server: str  # "hub" or "cdn"
    method: str
    path: str
    range: str | None


@dataclass
class FakeHub:
    files: dict[tuple[str, str], HubFile] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def add(self, repo: str, filename: str, hub_file: HubFile) -> HubFile:
        self.files[(repo, filename)] = hub_file
        return hub_file

    def start(self) -> FakeHub:
        self._hub = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, "hub"))
        self._cdn = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, "cdn"))
        for server in (self._hub, self._cdn):
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        for server in (self._hub, self._cdn):
            server.shutdown()
            server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def by_sha(self, sha: str) -> HubFile | None:
        return next((f for f in self.files.values() if f.sha256 == sha), None)

    def ranges(self) -> list[str]:
        return [r.range for r in self.requests if r.server == "cdn" and r.range]


_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


def _handler(hub: FakeHub, role: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def do_GET(self) -> None:
            self._serve(body=True)

        def _serve(self, body: bool) -> None:
            hub.requests.append(Request(role, self.command, self.path, self.headers.get("Range")))
            if role == "hub":
                self._resolve()
            else:
                self._cdn(body)

        def _error(self, code: int, error_code: str | None = None) -> None:
            self.send_response(code)
            if error_code:
                self.send_header("X-Error-Code", error_code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _resolve(self) -> None:
            match = _RESOLVE.match(self.path.split("?")[0])
            if not match:
                return self._error(404, "RepoNotFound")
            repo, filename = match["repo"], match["file"]
            if not any(r == repo for r, _ in hub.files):
                return self._error(404, "RepoNotFound")
            hub_file = hub.files.get((repo, filename))
            if hub_file is None:
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            self.send_response(302)
            self.send_header("Location", f"{hub.cdn_url}/cdn/{hub_file.sha256}")
            self.send_header("X-Repo-Commit", hub_file.commit)
            self.send_header("X-Linked-Etag", f'"{hub_file.sha256}"')
            self.send_header("X-Linked-Size", str(hub_file.size))
            self.send_header("ETag", '"0000000000000000000000000000000000000000"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None

        def _cdn(self, body: bool) -> None:
            hub_file = hub.by_sha(self.path.rsplit("/", 1)[-1].split("?")[0])
            if hub_file is None:
                return self._error(404)
            length = hub_file.length
            start, end = 0, length
            ranged = self.headers.get("Range")
            if ranged:
                m = re.match(r"bytes=(\d+)-(\d*)", ranged)
                if m is None or int(m[1]) >= length:
                    return self._error(416)
                start = int(m[1])
                end = int(m[2]) + 1 if m[2] else length
            self.send_response(206 if ranged else 200)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start))
            self.send_header("Content-Type", "application/octet-stream")
            name = next(f for (_, f), v in hub.files.items() if v is hub_file)
            disposition = f"inline; filename*=UTF-8''{name}; filename=\"{name}\";"
            self.send_header("Content-Disposition", disposition)
            if ranged:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{length}")
            self.end_headers()
            if not body:
                return None
            hub_file.gets += 1
            first = hub_file.gets == 1 and not ranged
            limit = end
            if first and hub_file.cut_after is not None:
                limit = min(end, start + hub_file.cut_after)
            if first and hub_file.stall_after is not None:
                limit = min(end, start + hub_file.stall_after)
            position = start
            while position < limit:
                chunk = hub_file.read(position, min(limit, position + (1 << 20)))
                self.wfile.write(chunk)
                position += len(chunk)
            self.wfile.flush()
            if first and hub_file.stall_after is not None:
                hub.release.wait(30)  # until the test is done with the stalled client
            if position < end:
                self.close_connection = True  # cut: the client sees a short body
            return None

    return Handler

"""A scripted OpenAI-compatible server on a loopback port (a real HTTP server, no model).

Used where the embedded model cannot show what a test needs: that cancelling a completion
closes the HTTP stream (the server sees the disconnect), that debouncing saves model calls,
and (benchmarks/lsp_latency.py) the server's own overhead with a model that answers at once.

``GET /v1/models`` names one model; ``POST /v1/completions`` streams ``tokens`` server-sent
events, one every ``delay`` seconds. The tokenizer endpoints are absent, so the client falls
back to its estimate.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeModelServer"]


class FakeModelServer:
    """``with FakeModelServer(delay=0.05, tokens=100) as fake: fake.url``"""

    def __init__(
        self,
        *,
        delay: float = 0.0,
        tokens: int = 8,
        piece: str = "x",
        name: str = "qwen2.5-coder-fake",
        context_window: int = 4096,
    ) -> None:
        self.delay = delay
        self.tokens = tokens
        self.piece = piece
        self.name = name
        self.context_window = context_window
        self.requests: list[dict[str, Any]] = []
        self.completed = 0
        self.disconnects = 0
        self.generating_seconds = 0.0  # time spent streaming answers (the "model time")
        self.disconnected = threading.Event()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeModelServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._json(
                        200,
                        {
                            "object": "list",
                            "data": [
                                {
                                    "id": fake.name,
                                    "object": "model",
                                    "max_model_len": fake.context_window,
                                }
                            ],
                        },
                    )
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                if self.path.rstrip("/") != "/v1/completions":
                    self._json(404, {"error": {"message": "not found"}})
                    return
                with fake._lock:
                    fake.requests.append(body)
                started = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    for i in range(fake.tokens):
                        if fake.delay:
                            time.sleep(fake.delay)
                        last = i == fake.tokens - 1
                        chunk = {
                            "choices": [
                                {
                                    "index": 0,
                                    "text": fake.piece,
                                    "finish_reason": "length" if last else None,
                                }
                            ]
                        }
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    with fake._lock:
                        fake.disconnects += 1
                    fake.disconnected.set()
                    return
                finally:
                    with fake._lock:
                        fake.generating_seconds += time.perf_counter() - started
                with fake._lock:
                    fake.completed += 1

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

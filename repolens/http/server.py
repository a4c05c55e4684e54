"""``repolens serve``: completion, context, Q&A and commit messages over HTTP and WebSocket.

Secure by default:

- binds 127.0.0.1; binding anywhere else requires a bearer token (generated once and kept
  in the user config dir with 0600 permissions, or given with --token);
- on loopback the Host header must name loopback (a DNS-rebinding page cannot reach it) and a
  WebSocket's Origin must be this server (no cross-site WebSocket hijacking);
- no CORS headers (browsers keep other sites from reading answers);
- request bodies are size-limited; only files inside the repository can be named, and only
  those the indexer would index (:mod:`.file_policy`);
- malformed input (NaN, NUL characters, lone surrogates, non-ASCII tokens) is a 4xx with a
  message (:mod:`.inputs`); anything unexpected is a JSON 500 whose traceback goes to the log;
- work is bounded per kind (:mod:`.lanes`): a model that hangs gets so many slots, then 503s
  with ``Retry-After``, and cannot hold up health, status or file reads.

Streaming: ``POST /v1/ask`` answers as NDJSON lines ({"type": "context"|"token"|"done"|"error"});
``/v1/chat`` is a WebSocket where a {"type": "cancel"} message stops the generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import threading
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    HTTPException,
    Query,
    Request,
    WebSocket,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError, field_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..app import CompletionRequest, Services
from ..app.questions import Piece, QuestionService, Retrieved
from ..backends.base import CancelToken, ModelError
from ..errors import RepolensError
from ..net import is_loopback as _is_loopback
from ..net import load_or_create_token as _load_or_create
from ..settings import user_config_dir
from ..workspace import Workspace
from .file_policy import FilePolicy
from .inputs import StrictJSONRoute, Text, loads, validation_failed
from .lanes import LaneLimits, Lanes, Overloaded, SharedCall, TookTooLong

__all__ = ["ServerConfig", "create_app", "load_or_create_token", "token_problem"]

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """A bind address or Host-header name that is loopback (``[::1]`` as a Host header has it)."""
    return _is_loopback(host.strip("[]"))


def load_or_create_token(path: Path | None = None) -> str:
    """The server's bearer token: created once (0600) in the user config dir."""
    return _load_or_create(path or user_config_dir() / "server-token")


_TOKEN = re.compile(r"[\x21-\x7e]+")


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be a bearer token, or None. HTTP carries header values as ASCII
    (RFC 9110; a browser's fetch refuses anything else), so a token with other characters or
    spaces could never be sent as written; refusing it beats a server nobody can use."""
    if _TOKEN.fullmatch(token):
        return None
    return (
        "the server token must be printable ASCII without spaces (HTTP sends header values "
        "as ASCII); use, say, the output of "
        "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    )


class ServerConfig(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None  # required (and checked) when set
    max_request_bytes: int = 2_000_000
    limits: LaneLimits = Field(default_factory=LaneLimits)

    @field_validator("token")
    @classmethod
    def _usable_token(cls, token: str | None) -> str | None:
        problem = token_problem(token) if token else None
        if problem is not None:
            raise ValueError(problem)
        return token


# -- request bodies --------------------------------------------------------------------------


class PositionRequest(BaseModel):
    file: Text = Field(
        ..., description="path relative to the repository root (or absolute inside it)"
    )
    line: int = Field(..., ge=1, description="1-based line")
    column: int = Field(..., ge=1, description="1-based column (characters)")
    text: Text | None = Field(None, description="the buffer's current text, if unsaved")
    budget: int | None = Field(None, ge=0, le=1_000_000)


class CompleteRequest(PositionRequest):
    max_tokens: int | None = Field(None, ge=1, le=2048)


class AskRequest(BaseModel):
    question: Text = Field("", max_length=20_000, description="empty: an overview of the project")
    budget: int | None = Field(None, ge=256, le=2_000_000)


class CommitRequest(BaseModel):
    staged: bool = True
    range: str | None = Field(None, max_length=200, pattern=r"^[\w./~^@{}-]+\.\.[\w./~^@{}-]+$")


# -- middleware -------------------------------------------------------------------------------


class _Guard:
    """Host check (DNS rebinding), bearer token, a body size limit, and the last resort for
    errors (logged with their traceback, answered as a JSON 500 without it), as raw ASGI."""

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.config = config
        self.loopback = is_loopback(config.host)
        # compared as bytes: header bytes are whatever a client sent (compare_digest refuses
        # str with non-ASCII characters), and a token is ASCII (ServerConfig checks)
        self.token = config.token.encode("ascii") if config.token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept"):
                started = True
            await send(message)

        try:
            await self._guarded(scope, receive, tracked)
        except Exception:
            log.exception("%s %s failed", scope.get("method", "WEBSOCKET"), scope.get("path"))
            if scope["type"] == "http" and not started:
                await _internal_error_response()(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = {k.lower(): v for k, v in scope["headers"]}
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw.items()}
        problem = self._check(scope, headers, raw)
        if problem is not None:
            status, detail = problem
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4401 if status == 401 else 4403})
                return
            response = JSONResponse({"detail": detail}, status_code=status)
            await response(scope, receive, send)
            return
        if scope["type"] == "http":
            length = headers.get("content-length")
            if (
                length is not None
                and length.isdigit()
                and int(length) > self.config.max_request_bytes
            ):
                response = JSONResponse(
                    {"detail": f"request body over {self.config.max_request_bytes} bytes"},
                    status_code=413,
                )
                await response(scope, receive, send)
                return
            receive = self._limited(receive)
        await self.app(scope, receive, send)

    def _check(
        self, scope: Scope, headers: dict[str, str], raw: dict[bytes, bytes]
    ) -> tuple[int, str] | None:
        host = headers.get("host", "").rsplit(":", 1)[0] if headers.get("host") else ""
        if self.loopback and host and not is_loopback(host):
            return 403, f"host {host!r} is not this loopback server"
        if scope["type"] == "websocket":
            origin = headers.get("origin")
            if origin is not None:
                origin_host = re.sub(r"^\w+://", "", origin).split("/")[0]
                if origin_host != headers.get("host", ""):
                    return 403, "cross-origin WebSocket refused"
        token = self.token
        if token:
            path = scope.get("path", "")
            if path in ("/v1/health",):
                return None
            given = raw.get(b"authorization", b"")
            ok = secrets.compare_digest(given, b"Bearer " + token) or (
                # the browser page and WebSockets pass it in the URL
                path in ("/", "/v1/chat")
                and secrets.compare_digest(_query_value(scope, b"token"), token)
            )
            if not ok:
                return 401, "missing or wrong bearer token"
        return None

    def _limited(self, receive: Receive) -> Receive:
        limit = self.config.max_request_bytes
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"request body over {limit} bytes")
            return message

        return wrapped


def _query_value(scope: Scope, name: bytes) -> bytes:
    """A query parameter's bytes, percent-decoded (``+`` stays ``+``: a token may hold it)."""
    for part in scope.get("query_string", b"").split(b"&"):
        key, _, value = part.partition(b"=")
        if key == name:
            return urllib.parse.unquote_to_bytes(value)
    return b""


def _internal_error_response() -> JSONResponse:
    return JSONResponse(
        {"detail": "internal error in repolens serve; the traceback is in the server log"},
        status_code=500,
    )


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # The last resort: the guard logs the traceback (the error is raised on to it).
    return _internal_error_response()


# -- the app ----------------------------------------------------------------------------------

#: The routes: each translates HTTP to a service of :mod:`repolens.app` and back. JSON bodies
#: are parsed strictly (:func:`.inputs.loads`).
router = APIRouter(route_class=StrictJSONRoute)


def create_app(workspace: Workspace | Services, config: ServerConfig | None = None) -> FastAPI:
    """The FastAPI app serving ``workspace`` (wrapped in the security guard)."""
    config = config or ServerConfig()
    lanes = Lanes(config.limits)
    if isinstance(workspace, Services):
        services = workspace
    else:  # blocking context work runs in its own lane, not in asyncio's shared threads
        services = Services(workspace, run_cpu=lanes.run_context)

    def run_index() -> None:
        try:
            services.indexing.run()
        except Exception:  # reported in /v1/status
            log.exception("indexing failed")

    def status_now() -> dict[str, Any]:
        state = services.indexing.state.snapshot()  # before the counts: see snapshot()
        return {**services.workspace.status(), "indexing": state.as_json()}

    status_call = SharedCall("status", status_now)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=run_index, name="repolens-index", daemon=True).start()
        yield
        lanes.close()
        status_call.close()

    app = FastAPI(
        lifespan=lifespan,
        title="repolens",
        version=__version__,
        description="Repository-aware completion, context, Q&A and commit messages from a "
        "model on your machine.",
    )
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(Exception, _internal_error)
    app.state.services = services
    app.state.lanes = lanes
    app.state.policy = FilePolicy(services.root)
    app.state.status = status_call
    app.include_router(router)
    guarded: Any = _Guard(app, config)
    guarded.fastapi = app  # tests and the CLI reach the app through the guard
    return guarded


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _lanes(request: Request) -> Lanes:
    lanes: Lanes = request.app.state.lanes
    return lanes


Served = Annotated[Services, Depends(_services)]
Bounded = Annotated[Lanes, Depends(_lanes)]


def _path(services: Services, file: str) -> str:
    """A repository path for ``file`` (400 for anything outside the repository)."""
    from ..completion.engine import resolve_position

    try:
        return resolve_position(services.root, file)
    except RepolensError as exc:
        raise _fail(exc) from None
    except ValueError as exc:  # a path the OS cannot take
        raise HTTPException(400, f"not a usable path: {exc}") from None


async def _allowed(request: Request, services: Services, path: str) -> None:
    """403 for a file the indexer would not index (:class:`.file_policy.FilePolicy`)."""
    policy: FilePolicy = request.app.state.policy
    try:
        reason = await _lanes(request).quick.run(
            lambda: policy.refusal(services.workspace.index, path)
        )
    except (Overloaded, TookTooLong) as exc:
        raise _fail(exc) from None
    if reason is not None:
        raise HTTPException(403, reason)


@router.get("/v1/health")
async def health() -> dict[str, Any]:
    return {"status": "ok", "version": __version__}


@router.get("/v1/status")
async def status(request: Request, services: Served, lanes: Bounded) -> dict[str, Any]:
    shared: SharedCall[dict[str, Any]] = request.app.state.status
    wait = lanes.limits.status_wait_s
    found = await shared.result(wait)
    if found is not None:
        data = dict(found)  # the same answer may go to several callers
    else:  # its model part waits on the model (a first contact that hangs): all the rest
        ws = services.workspace
        state = services.indexing.state.snapshot()
        try:
            stats = await lanes.quick.run(lambda: ws.index.stats())
        except (Overloaded, TookTooLong) as exc:
            raise _fail(exc) from None
        data = {
            "root": str(ws.root),
            "index": stats,
            "model": {
                "backend": ws.settings.model.backend,
                "pending": f"no details within {wait:g} s: the model is busy or not answering",
            },
            "indexing": state.as_json(),
        }
    return data


@router.post("/v1/context")
async def context(
    req: PositionRequest, request: Request, services: Served, lanes: Bounded
) -> dict[str, Any]:
    path = _path(services, req.file)
    await _allowed(request, services, path)

    def work() -> dict[str, Any]:
        engine = services.completions.engine()
        return engine.context(
            path, req.line, req.column, text=req.text, budget=req.budget
        ).as_json()

    try:
        result: dict[str, Any] = await lanes.context.run(work)
    except (RepolensError, ModelError, Overloaded, TookTooLong) as exc:
        raise _fail(exc) from None
    return result


@router.post("/v1/complete")
async def complete(
    req: CompleteRequest, request: Request, services: Served, lanes: Bounded
) -> dict[str, Any]:
    path = _path(services, req.file)
    await _allowed(request, services, path)
    cancel = CancelToken()
    ask = CompletionRequest(
        path, req.line, req.column, text=req.text, budget=req.budget, max_tokens=req.max_tokens
    )
    loop = asyncio.get_running_loop()
    try:
        async with lanes.model.slot():
            deadline = loop.time() + (lanes.model.deadline_s or float("inf"))
            task = asyncio.ensure_future(services.completions.suggest(ask, cancel=cancel))
            while not task.done():
                await asyncio.wait({task}, timeout=0.25)
                if task.done():
                    break
                if await request.is_disconnected():
                    cancel.cancel()
                    task.cancel()
                    raise HTTPException(499, "client closed the request")
                if loop.time() > deadline:
                    cancel.cancel()
                    task.cancel()
                    raise TookTooLong(lanes.model)
            outcome = task.result()
    except (Overloaded, TookTooLong) as exc:  # no slot, or the model (or context) hung
        raise _fail(exc) from None
    if outcome.error is not None:
        raise _fail(outcome.error, retry_after=outcome.retry_after)
    if outcome.result is None:
        if outcome.retry_after is not None:  # the model failed a moment ago
            raise _fail(ModelError(outcome.skipped or ""), retry_after=outcome.retry_after)
        raise HTTPException(409, outcome.skipped)
    data: dict[str, Any] = outcome.result.as_json()
    return data


class _SlotResponse(StreamingResponse):
    """A stream that holds a lane's slot until it is sent (or its client is gone)."""

    def __init__(self, content: AsyncIterator[str], release: Callable[[], None]) -> None:
        super().__init__(content, media_type="application/x-ndjson")
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


@router.post("/v1/ask")
async def ask(req: AskRequest, services: Served, lanes: Bounded) -> StreamingResponse:
    try:
        await lanes.model.acquire()
    except Overloaded as exc:
        raise _fail(exc) from None
    events = _ask_events(services.questions, req.question, req.budget, CancelToken(), lanes)
    lines = (json.dumps(event) + "\n" async for event in events)
    return _SlotResponse(lines, lanes.model.release)


@router.post("/v1/commit-message")
async def commit_message(req: CommitRequest, services: Served, lanes: Bounded) -> dict[str, Any]:
    from ..commit import commit_message as make

    ws = services.workspace
    cancel = CancelToken()

    def work() -> dict[str, Any]:
        msg = make(
            ws.root,
            staged=req.staged if req.range is None else False,
            rev_range=req.range,
            settings=ws.settings,
            model=ws.model,
            cancel=cancel,
        )
        data: dict[str, Any] = msg.as_json()
        return data

    try:
        result: dict[str, Any] = await lanes.model.run(work, cancel)
    except (RepolensError, ModelError, Overloaded, TookTooLong) as exc:
        raise _fail(exc) from None
    return result


@router.get("/v1/file")
async def read_file(
    request: Request,
    services: Served,
    lanes: Bounded,
    path: Annotated[Text, Query()],
    line: int | None = None,
) -> dict[str, Any]:
    """A repository file's indexed text, for the chat page's citation links."""
    from ..completion.engine import resolve_position

    try:
        rel = resolve_position(services.root, path)
    except RepolensError as exc:
        raise HTTPException(403, str(exc)) from None
    await _allowed(request, services, rel)
    try:
        text = await lanes.quick.run(lambda: services.workspace.index.text(rel))
    except (Overloaded, TookTooLong) as exc:
        raise _fail(exc) from None
    if text is None:
        raise HTTPException(404, f"{rel} is not an indexed file of this repository")
    return {"path": rel, "line": line, "text": text}


class ChatAsk(BaseModel):
    """``{"type": "ask", "id", "question", "budget"}`` on the chat WebSocket."""

    id: Any = None
    question: Text = Field("", max_length=20_000)
    budget: int | None = Field(None, ge=256, le=2_000_000)


@router.websocket("/v1/chat")
async def chat(ws: WebSocket) -> None:
    """Questions over a WebSocket: ``{"type": "ask", "id", "question"}`` starts an answer
    (and stops the one before), ``{"type": "cancel", "id"}`` stops it; every event carries
    its question's ``id``. A message that is not an ask or a cancel, or not valid, gets an
    error event (with its ``id`` when it has one) and the socket stays open."""
    services: Services = ws.app.state.services
    lanes: Lanes = ws.app.state.lanes
    await ws.accept()
    current: tuple[asyncio.Task[None], CancelToken] | None = None

    async def send(event: dict[str, Any]) -> None:
        # ASCII JSON: text from the repository that cannot be encoded (a file name git gave
        # as undecodable bytes) is escaped instead of failing the frame
        await ws.send_text(json.dumps(event))

    async def error(message: str, rid: Any = None) -> None:
        event: dict[str, Any] = {"type": "error", "message": message}
        if rid is not None:
            event["id"] = rid
        await send(event)

    def stop() -> None:
        if current is not None:
            current[1].cancel()
            current[0].cancel()

    async def relay(ask: ChatAsk, cancel: CancelToken) -> None:
        try:
            async with lanes.model.slot():
                events = _ask_events(services.questions, ask.question, ask.budget, cancel, lanes)
                async for event in events:
                    await send({**event, "id": ask.id})
        except Overloaded as exc:
            with contextlib.suppress(Exception):
                await error(str(exc), ask.id)
        except Exception:  # the socket went away mid-answer, say: nobody to tell
            log.debug("chat answer %r ended early", ask.id, exc_info=True)

    try:
        while True:
            frame = await ws.receive()
            if frame["type"] == "websocket.disconnect":
                break
            text = frame.get("text")
            if text is None:
                await error("send JSON objects as text frames, not binary ones")
                continue
            try:
                message = loads(text)
            except json.JSONDecodeError as exc:
                await error(f"not JSON: {exc}")
                continue
            if not isinstance(message, dict):
                await error("send JSON objects")
                continue
            kind, rid = message.get("type"), message.get("id")
            if kind == "cancel":
                if current is not None:
                    stop()
                    current = None
                    await send({"type": "cancelled", "id": rid})
                continue
            if kind != "ask":
                await error(f"unknown type {str(kind)[:40]!r}", rid)
                continue
            try:
                ask = ChatAsk.model_validate(message)
            except ValidationError as exc:
                await error(_problems(exc), rid)
                continue
            stop()
            token = CancelToken()
            current = (asyncio.ensure_future(relay(ask, token)), token)
    finally:
        stop()


def _problems(exc: ValidationError) -> str:
    """One line for a validation error, without the input."""
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'message'}: {e['msg']}" for e in exc.errors()
    )


@router.get("/", response_class=HTMLResponse)
async def page() -> str:
    return resources.files(__package__).joinpath("static/index.html").read_text("utf-8")


def _fail(exc: Exception, retry_after: float | None = None) -> HTTPException:
    """The one mapping of service errors to HTTP: the model's are 503 (with ``Retry-After``
    when trying again soon makes sense), as is no free slot for the work; work past its
    deadline is 504; the rest the client's (400)."""
    if isinstance(exc, Overloaded):
        return HTTPException(503, str(exc), headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, TookTooLong):
        return HTTPException(504, str(exc))
    if isinstance(exc, ModelError):
        headers = None
        if retry_after is not None:
            headers = {"Retry-After": str(max(1, round(retry_after)))}
        return HTTPException(503, str(exc), headers=headers)
    return HTTPException(400, str(exc))


async def _ask_events(
    questions: QuestionService,
    question: str,
    budget: int | None,
    cancel: CancelToken,
    lanes: Lanes,
) -> AsyncIterator[dict[str, Any]]:
    """The events of one answer as JSON objects: the context (snippets and sources), the
    answer's tokens, then done (answer and checked citations), or an error."""
    run: Callable[[Callable[[], Any]], Awaitable[Any]] = lanes.run_context
    try:
        async for event in questions.ask(question, budget=budget, cancel=cancel, run=run):
            if isinstance(event, Retrieved):
                yield {"type": "context", **event.as_json()}
            elif isinstance(event, Piece):
                yield {"type": "token", "text": event.text}
            else:
                yield {"type": "done", **event.as_json()}
    except asyncio.CancelledError:
        cancel.cancel()
        raise
    except (RepolensError, ModelError, Overloaded, TookTooLong) as exc:
        yield {"type": "error", "message": str(exc)}
    except Exception:
        log.exception("answering %r failed", question[:80])
        yield {"type": "error", "message": "internal error; the traceback is in the server log"}
    finally:
        cancel.cancel()  # whatever happened, the model stops

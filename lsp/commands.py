"""``workspace/executeCommand``: repolens' commands for editors.

Every command takes one object argument (keys in snake_case or camelCase) and returns JSON:

=======================  ==========================================================  ==========
command                  arguments                                                    returns
=======================  ==========================================================  ==========
repolens.ask             question, uri?, budget?, context_only?, stream_id?           answer
repolens.explain         uri, range                                                   text
repolens.addComments     uri, range                                                   WorkspaceEdit
repolens.translate       uri, range, target_language                                  text
repolens.commitMessage   uri? (folder), staged? (true), range? ("A..B")               message
repolens.reindex         uri? (folder; all when absent), rebuild?                     summaries
repolens.status          none                                                         status
repolens.context         uri, position, budget?                                       context
=======================  ==========================================================  ==========

``repolens.ask`` streams when its argument has a ``stream_id`` (a string or an integer the
client picks): while the answer is generated the server sends ``repolens/chatChunk``
notifications carrying that ``id``: first ``{id, sources, prompt_tokens}`` (the context's
snippets as ``{path, start_line, end_line, source, score}``, for ``path:line`` links), then
``{id, text}`` per piece of the answer, last ``{id, done: true, answer, citations}`` (the
answer's ``path:line`` citations as ``{path, start_line, end_line, indexed}``; ``error``
instead of ``answer`` when it failed). The command still returns the whole answer (with
``sources`` and ``citations``). These are the shapes of :mod:`repolens.app.questions`, the same
over HTTP and in ``repolens ask --json``.

``repolens.addComments`` returns the edit for the client to apply (it can show it, undo it);
the server never writes the file. Q&A, code actions and commit messages live in
``repolens.chat``; a command whose module is not installed yet answers ``RequestFailed``
saying what is missing. Files outside the workspace folders are refused (``InvalidParams``),
never read. Long commands report ``$/progress`` when the request carries a
``workDoneToken``, and ``$/cancelRequest`` stops them, including the model call.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from .. import __version__
from ..app.questions import Answered, Piece, Retrieved
from ..backends import CancelToken, ModelError
from ..errors import RepolensError
from .configuration import normalize_keys
from .documents import Document
from .indexing import index_folder
from .positions import normalize_newlines, range_to_lines, split_lines, to_character, to_column
from .progress import WorkDone
from .server import Folder, RepolensServer, current_params
from .sync import flush_overlays

__all__ = ["CHAT_CHUNK", "COMMANDS", "register", "replace_lines_edit"]

log = logging.getLogger(__name__)

Handler = Callable[[RepolensServer, dict[str, Any]], Awaitable[Any]]


# -- errors and arguments ---------------------------------------------------------------------


def invalid(message: str) -> JsonRpcException:
    return JsonRpcInvalidParams(message=message)


def failed(message: str, **data: Any) -> JsonRpcException:
    return JsonRpcException(
        message=message, code=int(types.LSPErrorCodes.RequestFailed), data=data or None
    )


def _arguments(arguments: tuple[Any, ...], command: str) -> dict[str, Any]:
    if not arguments:
        return {}
    first = arguments[0]
    if isinstance(first, str) and command == "repolens.ask":
        return {"question": first}
    if not isinstance(first, dict) or len(arguments) > 1:
        raise invalid(f"{command} takes one object argument (see lsp/README.md)")
    normalized: dict[str, Any] = normalize_keys(first)  # camelCase -> snake_case
    return normalized


def _feature(module: str, name: str, command: str) -> Any:
    """``module.name``, imported on first use; a clear error while it does not exist."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise failed(
                f"{command} is not available yet: {module} is not part of this installation",
                missing=module,
            ) from None
        raise failed(f"{command}: {module} could not be loaded: {exc}") from None
    except ImportError as exc:
        raise failed(f"{command}: {module} could not be loaded: {exc}") from None
    value = getattr(mod, name, None)
    if value is None:
        raise failed(
            f"{command} is not available yet: {module}.{name} does not exist",
            missing=f"{module}.{name}",
        )
    return value


def _folder(ls: RepolensServer, args: dict[str, Any]) -> Folder:
    uri = args.get("uri") or args.get("folder")
    if uri is not None and not isinstance(uri, str):
        raise invalid("uri must be a string")
    folder = ls.folders.for_folder_uri(uri)
    if folder is None:
        if uri:
            raise invalid(f"{uri} is not inside a workspace folder")
        raise invalid("name the workspace folder with uri (there are several, or none)")
    return folder


def _location(ls: RepolensServer, args: dict[str, Any]) -> tuple[Folder, str, Document | None]:
    uri = args.get("uri")
    if not isinstance(uri, str) or not uri:
        raise invalid("uri (the file's URI) is required")
    found = ls.folders.for_uri(uri)
    if found is None:
        raise invalid(
            f"{uri} is outside the workspace folders; repolens only reads files inside them"
        )
    folder, rel = found
    return folder, rel, ls.documents.get(uri)


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{name} must be an integer")
    return value


def _position(value: Any, name: str = "position") -> types.Position:
    if not isinstance(value, dict):
        raise invalid(f"{name} must be {{line, character}}")
    line = _int(value.get("line"), f"{name}.line")
    character = _int(value.get("character", 0), f"{name}.character")
    if line < 0 or character < 0:
        raise invalid(f"{name} must not be negative")
    return types.Position(line=line, character=character)


def _range(value: Any) -> tuple[types.Position, types.Position]:
    if not isinstance(value, dict):
        raise invalid("range must be {start, end}")
    start, end = (
        _position(value.get("start"), "range.start"),
        _position(value.get("end"), "range.end"),
    )
    if (end.line, end.character) < (start.line, start.character):
        start, end = end, start
    return start, end


def _budget(args: dict[str, Any]) -> int | None:
    budget = args.get("budget")
    if budget is None:
        return None
    if _int(budget, "budget") < 0:
        raise invalid("budget must not be negative")
    return int(budget)


def _text_of(folder: Folder, rel: str, doc: Document | None) -> str:
    """The file's current text: the open buffer, else the file (inside the folder)."""
    if doc is not None:
        return doc.text
    path = folder.root / rel
    limit = folder.settings.index.max_file_bytes
    try:
        if path.stat().st_size > limit:
            raise invalid(f"{rel} is larger than index.max_file_bytes ({limit})")
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise invalid(f"{rel}: {exc.strerror or exc}") from None


# -- running domain code ----------------------------------------------------------------------


def _progress(ls: RepolensServer, title: str) -> WorkDone | None:
    params = current_params.get()
    token = params.work_done_token if params is not None else None
    return WorkDone(ls, title, token=token) if token is not None else None


async def _collect(
    ls: RepolensServer,
    start: Callable[[CancelToken], Iterator[str]],
    title: str,
) -> str:
    """Run a blocking generator (a model stream) in a thread; cancellable; reports progress."""
    cancel = CancelToken()
    progress = _progress(ls, title)
    if progress is not None:
        await progress.begin()
    pieces: list[str] = []

    def run() -> None:
        for piece in start(cancel):
            if cancel.cancelled:
                break
            pieces.append(piece)
            if progress is not None:
                progress.report_threadsafe(f"{sum(len(p) for p in pieces)} characters")

    try:
        await asyncio.to_thread(run)
    except asyncio.CancelledError:
        cancel.cancel()
        raise
    finally:
        if progress is not None:
            progress.end()
    return "".join(pieces)


async def _blocking(ls: RepolensServer, fn: Callable[[CancelToken], Any]) -> Any:
    """Run ``fn(cancel)`` in a thread; ``$/cancelRequest`` sets the token."""
    cancel = CancelToken()
    try:
        return await asyncio.to_thread(fn, cancel)
    except asyncio.CancelledError:
        cancel.cancel()
        raise


def _command_error(command: str, exc: Exception) -> JsonRpcException:
    """The one mapping of a service's error to the client's: ``RequestFailed`` saying what
    went wrong (a model failure says the model is unavailable)."""
    if isinstance(exc, ModelError):
        return failed(f"{command}: the model is unavailable: {exc}")
    return failed(f"{command}: {exc}")


# -- the commands -----------------------------------------------------------------------------


#: Notification carrying a streamed answer of ``repolens.ask`` (see the module docstring).
CHAT_CHUNK = "repolens/chatChunk"


def _stream_id(args: dict[str, Any]) -> str | int | None:
    value = args.get("stream_id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise invalid("stream_id must be a string or an integer")
    return value


async def ask(ls: RepolensServer, args: dict[str, Any]) -> Any:
    question = args.get("question")
    if not isinstance(question, str) or not question.strip():
        raise invalid("question (a non-empty string) is required")
    stream_id = _stream_id(args)
    folder = _folder(ls, args)
    budget = _budget(args)
    await flush_overlays(ls, folder)
    questions = folder.services.questions
    if args.get("context_only"):
        context = await ls.run_cpu(functools.partial(questions.context, question, budget))
        return context.as_json()

    def notify(**params: Any) -> None:
        if stream_id is not None:
            ls.protocol.notify(CHAT_CHUNK, {"id": stream_id, **params})

    cancel = CancelToken()
    progress = _progress(ls, "repolens: answering")
    if progress is not None:
        await progress.begin()
    sources: list[dict[str, Any]] = []
    done = Answered("", [])
    chars = 0
    try:
        async for event in questions.ask(question, budget=budget, cancel=cancel, run=ls.run_cpu):
            if isinstance(event, Retrieved):
                sources = [s.as_json() for s in event.sources]
                notify(sources=sources, prompt_tokens=event.context.prompt_tokens)
            elif isinstance(event, Piece):
                chars += len(event.text)
                notify(text=event.text)
                if progress is not None:
                    progress.report(f"{chars} characters")
            else:
                done = event
    except asyncio.CancelledError:
        cancel.cancel()
        notify(done=True, error="cancelled")
        raise
    except (ModelError, RepolensError) as exc:
        error = _command_error("repolens.ask", exc)
        notify(done=True, error=error.message)
        raise error from None
    finally:
        if progress is not None:
            progress.end()
    citations = [c.as_json() for c in done.citations]
    notify(done=True, answer=done.answer, citations=citations)
    return {"question": question, "answer": done.answer, "sources": sources, "citations": citations}


def _lines_args(
    ls: RepolensServer, args: dict[str, Any]
) -> tuple[Folder, str, Document | None, int, int]:
    folder, rel, doc = _location(ls, args)
    start, end = _range(args.get("range"))
    lines = range_to_lines(start.line, end.line, end.character)
    return folder, rel, doc, lines.start_line, lines.end_line


async def explain(ls: RepolensServer, args: dict[str, Any]) -> Any:
    explain_fn = _feature("repolens.chat.actions", "explain", "repolens.explain")
    folder, rel, _, first, last = _lines_args(ls, args)
    await flush_overlays(ls, folder)
    try:
        text = await _collect(
            ls,
            lambda cancel: explain_fn(folder.workspace, rel, first, last, cancel=cancel),
            "repolens: explaining",
        )
    except (ModelError, RepolensError) as exc:
        raise _command_error("repolens.explain", exc) from None
    return {"path": rel, "start_line": first, "end_line": last, "text": text}


def replace_lines_edit(
    text: str, first: int, last: int, new_code: str, encoding: str
) -> types.TextEdit:
    """A TextEdit replacing 1-based lines ``first``..``last`` of ``text`` with ``new_code``."""
    lines = split_lines(text)
    last = min(last, len(lines))
    start = types.Position(line=first - 1, character=0)
    if last < len(lines):
        end = types.Position(line=last, character=0)
        body = new_code if new_code.endswith("\n") else new_code + "\n"
    else:  # the last line of the file: keep whatever it ended with
        end = types.Position(
            line=last - 1, character=to_character(lines[-1], len(lines[-1]), encoding)
        )
        body = new_code[:-1] if new_code.endswith("\n") else new_code
    return types.TextEdit(range=types.Range(start=start, end=end), new_text=body)


async def add_comments(ls: RepolensServer, args: dict[str, Any]) -> Any:
    add_fn = _feature("repolens.chat.actions", "add_comments", "repolens.addComments")
    folder, rel, doc, first, last = _lines_args(ls, args)
    await flush_overlays(ls, folder)
    try:
        code = await _blocking(
            ls, lambda cancel: add_fn(folder.workspace, rel, first, last, cancel=cancel)
        )
    # RepolensError: e.g. the model changed the code, not only its comments
    except (ModelError, RepolensError) as exc:
        raise _command_error("repolens.addComments", exc) from None
    if not isinstance(code, str):
        raise failed("repolens.addComments: the action returned no code")
    text = _text_of(folder, rel, doc)
    edit = replace_lines_edit(text, first, last, code, ls.position_encoding)
    uri = args["uri"]
    if doc is not None and ls.client_supports("workspace.workspace_edit.document_changes"):
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=uri, version=doc.version
                    ),
                    edits=[edit],
                )
            ]
        )
    return types.WorkspaceEdit(changes={uri: [edit]})


async def translate(ls: RepolensServer, args: dict[str, Any]) -> Any:
    translate_fn = _feature("repolens.chat.actions", "translate", "repolens.translate")
    target = args.get("target_language") or args.get("language")
    if not isinstance(target, str) or not target.strip():
        raise invalid('target_language (e.g. "rust") is required')
    folder, rel, _, first, last = _lines_args(ls, args)
    await flush_overlays(ls, folder)
    try:
        code = await _blocking(
            ls,
            lambda cancel: translate_fn(folder.workspace, rel, first, last, target, cancel=cancel),
        )
    except (ModelError, RepolensError) as exc:
        raise _command_error("repolens.translate", exc) from None
    return {
        "path": rel,
        "start_line": first,
        "end_line": last,
        "target_language": target,
        "text": code,
    }


async def commit_message(ls: RepolensServer, args: dict[str, Any]) -> Any:
    make = _feature("repolens.commit", "commit_message", "repolens.commitMessage")
    folder = _folder(ls, args)
    rev_range = args.get("range") or args.get("rev_range")
    if rev_range is not None and (not isinstance(rev_range, str) or ".." not in rev_range):
        raise invalid('range must be a git range like "main..HEAD"')
    staged = args.get("staged", rev_range is None)
    ws = folder.workspace

    def run(cancel: CancelToken) -> Any:
        try:
            model = ws.model
        except ModelError:
            model = None  # commit_message falls back to a message built from the change
        return make(
            folder.root,
            staged=bool(staged),
            rev_range=rev_range,
            settings=ws.settings,
            model=model,
            cancel=cancel,
        )

    try:
        message = await _blocking(ls, run)
    except (ModelError, RepolensError) as exc:
        raise _command_error("repolens.commitMessage", exc) from None
    return message.as_json()


async def reindex(ls: RepolensServer, args: dict[str, Any]) -> Any:
    folders = [_folder(ls, args)] if args.get("uri") else list(ls.folders)
    if not folders:
        raise invalid("there is no workspace folder to index")
    out = []
    for folder in folders:
        summary = await index_folder(ls, folder, rebuild=bool(args.get("rebuild")))
        if summary is None:
            error = folder.services.indexing.state.error
            raise failed(f"indexing {folder.name} failed: {error}")
        out.append({"uri": folder.uri, **summary})
    return {"folders": out}


def _model_settings(folder: Folder) -> dict[str, Any]:
    model = folder.settings.model.model_dump()
    model.pop("api_key", None)
    return model


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 3)


def _workspace_status(folder: Folder) -> dict[str, Any]:
    ws = folder.workspace
    try:
        info: dict[str, Any] = ws.status()
    except ModelError as exc:  # the model is configured but does not answer
        info = {
            "root": str(ws.root),
            "index": ws.index.stats(),
            "model": {"backend": ws.settings.model.backend, "loaded": False, "error": str(exc)},
        }
    return info


async def status(ls: RepolensServer, args: dict[str, Any]) -> Any:
    folders = []
    for folder in ls.folders:
        state = folder.services.indexing.state.snapshot()  # before the counts: see snapshot()
        info = await ls.run_cpu(_workspace_status, folder)
        ls.model_recovered(folder, info.get("model", {}).get("process"))
        info.update(
            uri=folder.uri,
            indexing=state.running,
            indexed=state.indexed,
            index_progress={"done": state.done, "total": state.total},
            index_summary=state.summary,
            index_error=state.error,
            model_problem=folder.services.completions.health.problem,
            settings={
                "completion": folder.settings.completion.model_dump(),
                "model": _model_settings(folder),
                "index": folder.settings.index.model_dump(),
            },
            open_documents=len(ls.documents.in_folder(folder)),
        )
        folders.append(info)
    timings = [t for folder in ls.folders for t in folder.services.completions.timings]

    def column(key: str) -> list[float]:
        return [t[key] for t in timings if key in t]

    return {
        "version": __version__,
        "uptime_s": round(time.monotonic() - ls.started, 3),
        "position_encoding": ls.position_encoding,
        "open_documents": len(ls.documents),
        "folders": folders,
        "completion": {
            "requests": len(timings),
            # server: all but the model and the debounce; context: the engine's assembly;
            # lsp: what the language server adds to that (sync, threads, conversions)
            "server_ms_p50": _percentile(column("server"), 50),
            "server_ms_p95": _percentile(column("server"), 95),
            "context_ms_p50": _percentile(column("context.total"), 50),
            "context_ms_p95": _percentile(column("context.total"), 95),
            "lsp_ms_p50": _percentile(column("lsp"), 50),
            "lsp_ms_p95": _percentile(column("lsp"), 95),
            "recent": timings if args.get("timings") else timings[-20:],
        },
    }


async def context(ls: RepolensServer, args: dict[str, Any]) -> Any:
    folder, rel, doc = _location(ls, args)
    position = _position(args.get("position"))
    budget = _budget(args)
    text = normalize_newlines(_text_of(folder, rel, doc))
    lines = text.split("\n")
    line = lines[position.line] if position.line < len(lines) else ""
    column = to_column(line, position.character, ls.position_encoding)
    await flush_overlays(ls, folder)
    try:
        engine = await ls.run_cpu(folder.services.completions.engine)
        result = await ls.run_cpu(
            functools.partial(
                engine.context,
                rel,
                position.line + 1,
                column + 1,
                text=text if doc is not None else None,
                budget=budget,
            )
        )
    except ModelError as exc:
        raise _command_error("repolens.context", exc) from None
    except RepolensError as exc:  # a position the client got wrong
        raise invalid(str(exc)) from None
    return result.as_json()


COMMANDS: dict[str, Handler] = {
    "repolens.ask": ask,
    "repolens.explain": explain,
    "repolens.addComments": add_comments,
    "repolens.translate": translate,
    "repolens.commitMessage": commit_message,
    "repolens.reindex": reindex,
    "repolens.status": status,
    "repolens.context": context,
}


def _command(name: str, impl: Handler) -> Callable[..., Awaitable[Any]]:
    async def run(ls: RepolensServer, *arguments: Any) -> Any:
        args = _arguments(arguments, name)
        return await impl(ls, args)

    run.__name__ = name.replace(".", "_")
    return run


def register(server: RepolensServer) -> None:
    for name, impl in COMMANDS.items():
        server.command(name)(_command(name, impl))

"""The repolens language server: a pygls ``LanguageServer`` and what its features share.

Features live one per module (``lifecycle``, ``configuration``, ``sync``, ``inline_completion``,
``completion``, ``commands``; ``indexing`` and ``progress`` run the background index); each
registers its handlers on the server :func:`repolens.lsp.main.create_server` builds, and none
is imported here. This module holds what they share:

- the workspace folders (:class:`~repolens.lsp.folders.Folders`, one
  :class:`repolens.workspace.Workspace` per folder) and the open documents
  (:class:`~repolens.lsp.documents.Documents`);
- :class:`RepolensProtocol`: the JSON-RPC corner cases pygls leaves open (requests before
  ``initialize`` get ``ServerNotInitialized``, requests after ``shutdown`` an error instead of
  silence, malformed JSON a ``ParseError``, bad params an ``InvalidParams`` for that id) and no
  second copy of every open document (``sync`` keeps the one repolens uses);
- thread pools: one for CPU work next to the event loop (context building), one that
  serializes index writes;
- logging to the client (``window/logMessage``) besides stderr, and one ``showMessage`` per
  model outage;
- the stdio transport: the real stdout reserved for the protocol (:func:`protect_stdio`) and
  read with an asyncio pipe reader instead of pygls' thread-per-read one;
- the message loop every transport shares (:meth:`RepolensServer.read_messages`): frames from
  :class:`~repolens.lsp.framing.FrameReader` instead of pygls' reader, which lost messages
  after a malformed header and had no size limit.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO, TypeVar

import attrs
from lsprotocol import types
from pygls.exceptions import (
    FeatureRequestError,
    JsonRpcException,
    JsonRpcInternalError,
)
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from .. import __version__
from ..backends.base import ModelCrashed
from .documents import Documents
from .folders import Folder, Folders
from .framing import BadHeader, ByteSource, FrameReader, FramingError
from .positions import UTF16, preferred_encoding

__all__ = [
    "Folder",
    "Folders",
    "RepolensProtocol",
    "RepolensServer",
    "current_params",
    "protect_stdio",
    "quiet_expected_errors",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The ExecuteCommandParams of the command being run (commands read its workDoneToken).
current_params: contextvars.ContextVar[types.ExecuteCommandParams | None] = contextvars.ContextVar(
    "repolens_command_params", default=None
)

#: How much of the client's stream asyncio buffers before it stops reading the pipe.
_READ_BUFFER = 1 << 20


# -- the protocol -----------------------------------------------------------------------------


@attrs.define
class _Rejected:
    """A message pygls could not structure; answered with an error (requests) or dropped."""

    id: Any
    method: str
    code: int
    message: str
    jsonrpc: str = "2.0"


class RepolensProtocol(LanguageServerProtocol):
    """pygls' LSP protocol with the error handling the specification asks for."""

    _server: RepolensServer

    def __init__(self, server: Any, converter: Any) -> None:
        super().__init__(server, converter)
        self.initialize_received = False

    # pygls keeps a copy of every open document; sync.py keeps the one repolens uses, with
    # LSP line ends and the negotiated encoding, so these only call the feature handlers.

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(
        self, params: types.DidOpenTextDocumentParams
    ) -> Generator[Any, Any, None]:
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(
        self, params: types.DidCloseTextDocumentParams
    ) -> Generator[Any, Any, None]:
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, Any]:
        # Answer in characters when the client can take them (no conversion at all).
        general = params.capabilities.general
        if general is not None and general.position_encodings:
            chosen = preferred_encoding([str(e) for e in general.position_encodings])
            general.position_encodings = [types.PositionEncodingKind(chosen)]
        result = yield from super().lsp_initialize(params)
        return result

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(
        self, params: types.ExecuteCommandParams
    ) -> Generator[Any, Any, Any]:
        current_params.set(params)  # the command's task inherits this context
        result = yield from super().lsp_workspace__execute_command(params)
        return result

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and isinstance(data.get("method"), str):
                detail = _cause_text(exc)
                return _Rejected(
                    id=data.get("id"),
                    method=data["method"],
                    code=types.ErrorCodes.InvalidParams,
                    message=f"invalid params for {data['method']}: {detail}",
                )
            raise

    def handle_message(self, message: Any) -> None:
        if not isinstance(message, _Rejected) and not hasattr(message, "jsonrpc"):
            # valid JSON that is no JSON-RPC message ([], 42, {"foo": 1})
            ident = message.get("id") if isinstance(message, dict) else None
            self.send_error(ident, types.ErrorCodes.InvalidRequest, "not a JSON-RPC 2.0 message")
            return
        method = getattr(message, "method", None)
        if method is None:
            super().handle_message(message)  # a response to one of our requests
            return
        is_request = getattr(message, "id", None) is not None
        if not self.initialize_received and method not in (types.INITIALIZE, types.EXIT):
            if is_request:
                self.send_error(
                    message.id,
                    types.ErrorCodes.ServerNotInitialized,
                    f"{method}: the server is not initialized yet (send initialize first)",
                )
            return
        if self._shutdown and method != types.EXIT:
            if is_request:
                self.send_error(
                    message.id, types.ErrorCodes.InvalidRequest, "the server is shutting down"
                )
            return
        if isinstance(message, _Rejected):
            if is_request:
                self.send_error(message.id, message.code, message.message)
            else:
                log.warning("dropped notification: %s", message.message)
            return
        if method == types.INITIALIZE and is_request:
            if self.initialize_received:
                self.send_error(
                    message.id, types.ErrorCodes.InvalidRequest, "initialize was already sent"
                )
                return
            self.initialize_received = True
        super().handle_message(message)

    def send_error(self, msg_id: Any, code: int, message: str) -> None:
        """An error response (``id`` may be null, which pygls' types would drop)."""
        self._send_data(
            {"jsonrpc": "2.0", "id": msg_id, "error": {"code": int(code), "message": message}}
        )


def _cause_text(exc: BaseException) -> str:
    cause = exc.__cause__
    if cause is None:
        return str(exc) or type(exc).__name__
    subs = getattr(cause, "exceptions", None)
    if subs:
        return "; ".join(str(s) for s in subs[:3])
    return str(cause)


# -- the server -------------------------------------------------------------------------------


class RepolensServer(LanguageServer):
    """The language server: pygls plus the folders, documents and pools repolens needs."""

    protocol: RepolensProtocol

    def __init__(self) -> None:
        super().__init__(
            "repolens",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=RepolensProtocol,
        )
        self.folders = Folders()
        self.documents: Documents = Documents()
        self.init_overrides: dict[str, Any] = {}
        self.cpu = ThreadPoolExecutor(max_workers=2, thread_name_prefix="repolens-cpu")
        self.index_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="repolens-index")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.started = time.monotonic()
        self._log_handler: ClientLogHandler | None = None

    # -- state --------------------------------------------------------------------------------

    @property
    def position_encoding(self) -> str:
        try:
            encoding = self.protocol.workspace.position_encoding
        except RuntimeError:  # not initialized
            return UTF16
        if not encoding:
            return UTF16
        return str(getattr(encoding, "value", encoding))

    def client_supports(self, dotted: str) -> bool:
        """Whether the client's capabilities have ``dotted`` (``window.work_done_progress``)."""
        node: Any = getattr(self.protocol, "client_capabilities", None)
        for part in dotted.split("."):
            if node is None:
                return False
            node = getattr(node, part, None)
        return bool(node)

    # -- threads ------------------------------------------------------------------------------

    async def run_cpu(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking CPU work (context building, model loading) off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.cpu, fn, *args)

    async def run_index(self, fn: Callable[..., T], *args: Any) -> T:
        """Run index writes one at a time, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.index_pool, fn, *args)

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn`` on the event loop (from any thread)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closing
            pass

    # -- messages to the user ----------------------------------------------------------------

    def show(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        log.log(_LEVELS.get(kind, logging.INFO), "%s", message, extra=_LOCAL)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def log_to_client(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def model_trouble(self, folder: Folder, exc: BaseException) -> None:
        """The model failed for ``folder``: tell the user once per outage (completions pause
        meanwhile: :class:`repolens.app.ModelHealth`)."""
        if folder.services.completions.health.failed(exc):
            self.model_outage(folder, exc)
        else:
            log.info("model still unavailable: %s", exc)

    def model_outage(self, folder: Folder, exc: BaseException) -> None:
        """One message for an outage that just started."""
        if isinstance(exc, ModelCrashed):
            self.show(
                f"repolens: {exc}. Completions for {folder.name} resume as soon as it is back; "
                "indexing, context and commands keep working (repolens model status).",
                types.MessageType.Warning,
            )
        else:
            self.show(
                f"repolens: the model is unavailable ({exc}). Completions for {folder.name} "
                "are empty until it answers; check the model settings (repolens model status).",
                types.MessageType.Error,
            )

    def model_recovered(self, folder: Folder, process: dict[str, Any] | None) -> None:
        """Clear the outage when the local model process's record says it is ready again."""
        if folder.services.completions.health.recovered(process):
            self.model_back(folder)

    def model_answered(self, folder: Folder) -> None:
        if folder.services.completions.health.answered():
            self.model_back(folder)

    def model_back(self, folder: Folder) -> None:
        self.log_to_client(f"repolens: the model answers again for {folder.name}")

    def report_server_error(self, error: Exception, source: Any) -> None:
        if source is JsonRpcException and isinstance(
            error, (json.JSONDecodeError, UnicodeDecodeError)
        ):
            # json.loads failed on a message body: its id is unknowable
            log.warning("malformed message from the client: %s", error)
            self.protocol.send_error(None, types.ErrorCodes.ParseError, f"parse error: {error}")
            return
        if source is FeatureRequestError:
            return  # the request's response already carries the error
        if source is JsonRpcInternalError:
            # the client is gone: say so on stderr only (not to the client, in a loop)
            log.warning("could not write to the client: %s", error, extra=_LOCAL)
            return
        log.error("server error: %s", error)
        self.log_to_client(f"repolens: internal error: {error}", types.MessageType.Error)

    def start_pipes(self, stdin: BinaryIO, stdout: BinaryIO) -> None:
        """Serve on a pipe pair with an asyncio pipe reader.

        pygls' stdio reader reads every header line and body in a worker thread (three thread
        hops per message, milliseconds each on a busy machine); an asyncio pipe reader has
        none. Falls back to a reader thread when stdin cannot be watched (a regular file).
        """
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout))

        async def serve() -> None:
            loop = asyncio.get_running_loop()
            pipe = asyncio.StreamReader(limit=_READ_BUFFER)
            source: ByteSource = pipe
            try:
                await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(pipe), stdin)
            except (OSError, ValueError) as exc:  # not a pipe, socket or character device
                log.debug("stdin is no pipe (%s): reading it in a thread", exc)
                source = _ThreadedSource(stdin, self.thread_pool)
            await self.read_messages(FrameReader(source))

        try:
            asyncio.run(serve())
        except BrokenPipeError:
            log.error("the connection to the client is lost")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    async def read_messages(self, frames: FrameReader) -> None:
        """Hand every message ``frames`` reads to the protocol, until the stream ends or cannot
        be read on (one line on stderr says why).

        A malformed header gets a ParseError with a null id and reading goes on at the next
        frame (see :mod:`.framing`); pygls' ``run_async`` lost the next messages instead.
        """
        assert self._stop_event is not None
        while not self._stop_event.is_set():
            try:
                body = await frames.read()
            except BadHeader as exc:
                log.warning("malformed message header from the client: %s", exc, extra=_LOCAL)
                self.protocol.send_error(None, types.ErrorCodes.ParseError, f"parse error: {exc}")
                continue
            except FramingError as exc:
                log.error("closing the connection: %s", exc, extra=_LOCAL)
                return
            except OSError as exc:  # a socket reset by the client
                log.info("the connection to the client is lost: %s", exc)
                return
            if body is None:
                return
            log.debug("a message of %d bytes", len(body))
            self.handle_body(body)

    def handle_body(self, body: bytes) -> None:
        """Parse one message body and handle it (what pygls' reader does per message)."""
        try:
            message = json.loads(body, object_hook=self.protocol.structure_message)
            self.protocol.handle_message(message)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self.report_server_error(exc, JsonRpcException)
        except Exception as exc:
            log.exception("unable to handle a message")
            self.report_server_error(exc, JsonRpcException)

    def shutdown(self) -> None:
        """Stop serving without waiting for the thread that is blocked reading stdin."""
        if self._stop_event is not None:
            self._stop_event.set()
        if self._thread_pool is not None:
            self._thread_pool.shutdown(wait=False, cancel_futures=True)
        if self._server is not None:
            self._server.close()

    def attach_log_handler(self) -> None:
        if self._log_handler is None:
            self._log_handler = ClientLogHandler(self)
            logging.getLogger("repolens").addHandler(self._log_handler)

    def close(self) -> None:
        for folder in self.folders:
            try:
                folder.services.close()
            except Exception:  # closing must not fail the exit
                log.debug("closing %s failed", folder.root, exc_info=True)
        self.cpu.shutdown(wait=False, cancel_futures=True)
        self.index_pool.shutdown(wait=False, cancel_futures=True)
        if self._log_handler is not None:
            logging.getLogger("repolens").removeHandler(self._log_handler)


_LOCAL = {"local_only": True}  # log records not to forward to the client

_LEVELS = {
    types.MessageType.Error: logging.ERROR,
    types.MessageType.Warning: logging.WARNING,
    types.MessageType.Info: logging.INFO,
    types.MessageType.Log: logging.DEBUG,
}


class ClientLogHandler(logging.Handler):
    """Forwards repolens warnings and errors to the client's log (``window/logMessage``)."""

    def __init__(self, server: RepolensServer) -> None:
        super().__init__(logging.WARNING)
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "local_only", False):
            return  # already shown to the user, or about the connection to the client
        try:
            text = self.format(record)
        except Exception:
            return
        kind = (
            types.MessageType.Error
            if record.levelno >= logging.ERROR
            else types.MessageType.Warning
        )
        self.server.call_soon(self.server.log_to_client, f"repolens: {text}", kind)


class _ThreadedSource:
    """A blocking stream (stdin redirected from a file) read in a worker thread."""

    def __init__(self, stream: BinaryIO, executor: ThreadPoolExecutor) -> None:
        self._read = getattr(stream, "read1", stream.read)
        self._executor = executor

    async def read(self, n: int) -> bytes:
        loop = asyncio.get_running_loop()
        data: bytes = await loop.run_in_executor(self._executor, self._read, n)
        return data


def protect_stdio() -> tuple[Any, Any]:
    """Reserve the real stdin/stdout for the protocol; everything else writes to stderr.

    A stray ``print``, a C library's output or a child process (git, index workers) inheriting
    file descriptor 1 would corrupt the JSON-RPC stream; after this, fd 1 is stderr and fd 0
    is /dev/null. Returns binary streams on the original stdin and stdout.
    """
    sys.stdout.flush()
    protocol_in = os.fdopen(os.dup(0), "rb")
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout = sys.stderr
    return protocol_in, protocol_out


class _ExpectedErrors(logging.Filter):
    """Drops pygls' tracebacks for errors a handler raised on purpose (bad params, a command
    that failed with a message): the client gets the message, stderr needs no traceback."""

    QUIET = (
        int(types.ErrorCodes.InvalidParams),
        int(types.LSPErrorCodes.RequestFailed),
    )

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, JsonRpcException) and exc.code in self.QUIET)


def quiet_expected_errors() -> None:
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_ExpectedErrors())

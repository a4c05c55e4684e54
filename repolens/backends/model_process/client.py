"""The embedded backend as every repolens process sees it: :class:`ProcessModel`.

It implements :class:`repolens.backends.Model` by talking to the user's shared local model
process for this GGUF (:mod:`.supervisor`, :mod:`.worker`), starting it when none runs. Nothing
native runs here: ``info`` comes from the GGUF header (read in Python), token counts and
generations from the model process. When that process dies during a request, the request
ends with :class:`ModelCrashed` saying what happened; while it restarts or has given up,
requests end at once with :class:`ModelUnavailable` (with ``retry_after`` when it will be
back); token counts fall back to a calibrated estimate meanwhile, so context building, Q&A
retrieval and every command that needs no generation keep working.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ...settings import ModelSettings
from ..base import (
    CancelToken,
    ChatMessage,
    GenerationParams,
    ModelCrashed,
    ModelError,
    ModelInfo,
    ModelUnavailable,
    StreamsInThreads,
)
from ..embedded import (
    GenerationStats,
    ModelBusy,
    default_n_ctx,
    default_threads,
    read_header,
    resolve_gguf,
)
from .probe import ProbeRecord, machine_key
from .runtime import ProcessPaths, ProcessSpec, read_json, runtime_dir, spawn_lock
from .wire import Channel, WireError

__all__ = [
    "FAILED_HOLD_S",
    "ProcessModel",
    "ProcessTokenizer",
    "describe_crash",
    "list_processes",
    "probe_cache_dir",
    "stop_process",
]

log = logging.getLogger(__name__)

#: A model process that gave up stays given up for this long (or until ``repolens model
#: restart``): no client restarts it into the same crash meanwhile.
FAILED_HOLD_S = 1800.0
#: How long a client waits for a new supervisor's socket.
_START_TIMEOUT_S = 20.0
#: How long a client whose request died waits for the supervisor to record why.
_CRASH_RECORD_WAIT_S = 2.0
#: After the model process failed to count tokens, estimate for this long before asking again.
_TOKENIZER_RETRY_S = 5.0
_TOKENIZE_BATCH_CHARS = 4 << 20
#: After a cancel, how long to wait for the model process to confirm before hanging up.
_CANCEL_GRACE_S = 2.0


def probe_cache_dir() -> Path:
    """Where probe results persist: ``$REPOLENS_CACHE_DIR``, else the XDG cache's repolens."""
    explicit = os.environ.get("REPOLENS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "repolens"


def _held_failure(state: dict[str, Any] | None, spec: ProcessSpec) -> dict[str, Any] | None:
    """A recent ``failed`` record for this model on this build and CPU, if any."""
    if not state or state.get("state") != "failed" or state.get("key") != spec.key:
        return None
    if state.get("machine") != machine_key():
        return None  # llama-cpp-python or the CPU changed: worth another try
    if time.time() - float(state.get("since") or 0) > FAILED_HOLD_S:
        return None
    return state


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class ProcessModel(StreamsInThreads):
    """A GGUF served by this user's shared local model process; implements ``Model``."""

    def __init__(self, settings: ModelSettings, *, directory: Path | None = None) -> None:
        self._settings = settings
        path = resolve_gguf(settings)
        header = read_header(path)
        n_ctx = default_n_ctx(path, settings)
        self.spec = ProcessSpec(
            gguf=str(path),
            n_ctx=n_ctx,
            threads=default_threads(settings),
            cpu_mode=settings.cpu_mode,
            idle_unload_s=settings.idle_unload_s,
            cache_dir=str(probe_cache_dir()),
        )
        self.paths = ProcessPaths.for_spec(self.spec, directory)
        trained = header.context_length
        if trained and n_ctx > trained:
            log.warning(
                "model.context_window %d is larger than %s was trained for (%d)",
                n_ctx,
                path.name,
                trained,
            )
        self._info = ModelInfo(
            backend="embedded",
            name=path.name,
            context_window=n_ctx,
            location=str(path),
            extra={
                "n_ctx_train": trained,
                "n_threads": self.spec.threads,
                "architecture": header.architecture,
                "gguf_name": header.name,
                "tokenizer": "exact",
                "process": str(self.paths.socket),
            },
        )
        self._tokenizer = ProcessTokenizer(self)
        self._pool_lock = threading.Lock()
        self._pooled: Channel | None = None
        self.last_stats: GenerationStats | None = None
        self.last_pid: int | None = None  # the worker that served the last generation

    # -- Model --------------------------------------------------------------------------------

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def tokenizer(self) -> ProcessTokenizer:
        return self._tokenizer

    def complete(
        self, prompt: str, params: GenerationParams, cancel: CancelToken | None = None
    ) -> Iterator[str]:
        return self._stream({"op": "complete", "prompt": prompt, **self._common(params)}, cancel)

    def chat(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        payload = [{"role": m.role, "content": m.content} for m in messages]
        return self._stream({"op": "chat", "messages": payload, **self._common(params)}, cancel)

    def close(self) -> None:
        """Drop the pooled connection; the model process itself stays for the others."""
        with self._pool_lock:
            pooled, self._pooled = self._pooled, None
        if pooled is not None:
            pooled.close()

    # -- what the model process is doing ------------------------------------------------------

    def process_status(self, *, ask: bool = True) -> dict[str, Any]:
        """The model process's record (never starts one); with ``ask``, its live figures."""
        state = read_json(self.paths.state)
        out: dict[str, Any] = dict(state) if state else {"state": "not started"}
        out.setdefault("log", str(self.paths.log))
        out["probe"] = ProbeRecord(Path(self.spec.cache_dir)).results()
        held = _held_failure(state, self.spec)
        if state and state.get("state") == "failed" and held is None:
            out["state"] = "stopped"  # the hold expired: the next request tries again
        if ask and out.get("state") in ("ready", "loading"):
            sock = self._try_connect()
            if sock is not None:
                channel = Channel(sock)
                try:
                    sock.settimeout(2.0)
                    channel.send({"op": "status"})
                    reply = channel.recv()
                    if reply and reply.get("t") == "status":
                        out["worker"] = {k: v for k, v in reply.items() if k != "t"}
                except (OSError, WireError):
                    pass
                finally:
                    channel.close()
        return out

    # -- connections --------------------------------------------------------------------------

    def _common(self, params: GenerationParams) -> dict[str, Any]:
        return {
            "params": {
                "max_tokens": params.max_tokens,
                "temperature": params.temperature,
                "stop": list(params.stop),
                "top_p": params.top_p,
                "seed": params.seed,
            },
            "wait_s": self._settings.timeout_s,
        }

    def _try_connect(self) -> socket.socket | None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self._settings.connect_timeout_s)
        try:
            sock.connect(str(self.paths.socket))
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            return None
        except OSError as exc:
            sock.close()
            raise ModelUnavailable(
                f"cannot reach the local model process at {self.paths.socket} ({exc}); "
                f"see {self.paths.log}"
            ) from None
        return sock

    def _connect(self) -> socket.socket:
        """A connection to the model process, starting it when none runs."""
        sock = self._try_connect()
        if sock is not None:
            return sock
        with spawn_lock(self.paths.lock, timeout_s=_START_TIMEOUT_S):
            sock = self._try_connect()
            if sock is not None:
                return sock
            held = _held_failure(read_json(self.paths.state), self.spec)
            if held is not None:
                raise ModelUnavailable(_failed_text(held))
            self._start_supervisor()
            deadline = time.monotonic() + _START_TIMEOUT_S
            while time.monotonic() < deadline:
                sock = self._try_connect()
                if sock is not None:
                    return sock
                time.sleep(0.01)
        raise ModelUnavailable(
            f"the local model process did not start within {_START_TIMEOUT_S:g} s; "
            f"see {self.paths.log}"
        )

    def _start_supervisor(self) -> None:
        log_path = self.paths.log
        with contextlib.suppress(OSError):
            if log_path.stat().st_size > 2 << 20:
                os.replace(log_path, log_path.with_suffix(".log.1"))
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        cmd = [
            sys.executable,
            "-m",
            "repolens.backends.model_process.supervisor",
            "--spec",
            json.dumps(self.spec.as_json()),
            "--runtime-dir",
            str(self.paths.directory),
        ]
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=fd,
                cwd="/",
                start_new_session=True,  # not in the editor's or terminal's process group
                close_fds=True,
            )
        except OSError as exc:
            raise ModelUnavailable(f"cannot start the local model process: {exc}") from None
        finally:
            os.close(fd)
        log.info("started the local model process %d for %s", proc.pid, self._info.name)
        threading.Thread(target=proc.wait, name="repolens-model-reaper", daemon=True).start()

    # -- requests -----------------------------------------------------------------------------

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """One request/reply (``tokenize``, ``status``, ``ping``) on a pooled connection.

        These are idempotent, so a connection that ends without a reply is retried once on a
        new one (the model process retired, or restarted, in between).
        """
        for _attempt in range(2):
            with self._pool_lock:
                channel, self._pooled = self._pooled, None
            if channel is None:
                channel = Channel(self._connect())
            try:
                channel.sock.settimeout(self._settings.timeout_s)
                channel.send(request)
                reply = channel.recv()
            except TimeoutError:
                channel.close()
                raise ModelError(
                    f"the local model process did not answer within "
                    f"{self._settings.timeout_s:g} s (model.timeout_s)"
                ) from None
            except (OSError, WireError):
                reply = None
            if reply is None:
                channel.close()
                continue
            kind = reply.get("t")
            if kind in ("down", "error"):
                channel.close()
                raise self._refusal(reply)
            with self._pool_lock:
                if self._pooled is None:
                    self._pooled, channel = channel, None
            if channel is not None:
                channel.close()
            return reply
        raise ModelUnavailable(
            f"the local model process keeps closing connections; see {self.paths.log}"
        )

    def _open_stream(
        self, request: dict[str, Any], cancel: CancelToken | None
    ) -> tuple[Channel, dict[str, Any], _Cancellation] | None:
        """Send a generation request; (channel, hello, cancellation) once the model process
        has it, None when cancelled first."""
        for _attempt in range(3):
            sock = self._connect()
            channel = Channel(sock)
            cancellation = _Cancellation(sock, cancel)
            try:
                sock.settimeout(self._settings.timeout_s)
                channel.send(request)
                first = channel.recv()
            except TimeoutError:
                cancellation.close()
                channel.close()
                if cancel is not None and cancel.cancelled:
                    return None
                raise ModelError(
                    f"the local model process did not take the request within "
                    f"{self._settings.timeout_s:g} s (model.timeout_s); see {self.paths.log}"
                ) from None
            except (OSError, WireError):
                first = None
            if first is not None and first.get("t") == "hello":
                return channel, first, cancellation
            cancellation.close()
            channel.close()
            if cancel is not None and cancel.cancelled:
                return None
            if first is not None:
                raise self._refusal(first)
            # closed before the model had it: a process retiring or restarting; again
        raise ModelUnavailable(
            f"the local model process keeps closing connections; see {self.paths.log}"
        )

    def _stream(self, request: dict[str, Any], cancel: CancelToken | None) -> Iterator[str]:
        if cancel is not None and cancel.cancelled:
            return
        since = time.time()
        opened = self._open_stream(request, cancel)
        if opened is None:
            return
        channel, hello, cancellation = opened
        pid = hello.get("pid")
        self.last_pid = pid if isinstance(pid, int) else None
        try:
            while True:
                try:
                    message = channel.recv()
                except TimeoutError:
                    if cancellation.requested:
                        return
                    raise ModelError(
                        f"the local model process sent nothing for {self._settings.timeout_s:g} "
                        f"s (model.timeout_s); see {self.paths.log}"
                    ) from None
                except (OSError, WireError):
                    message = None
                kind = message.get("t") if message is not None else None
                if kind == "end":
                    stats = message.get("stats") if message is not None else None
                    if isinstance(stats, dict):
                        with contextlib.suppress(TypeError):
                            self.last_stats = GenerationStats(**stats)
                    return
                if cancellation.requested:
                    if message is None:
                        return
                    continue  # pieces already on their way; the end (with stats) follows
                if message is None:
                    raise self._crash_error(since, hello)
                if kind == "piece":
                    text = message.get("text")
                    if isinstance(text, str) and text:
                        yield text
                elif kind in ("error", "down"):
                    raise self._refusal(message)
        finally:
            cancellation.close()
            channel.close()  # an early close cancels the generation in the model process

    # -- errors -------------------------------------------------------------------------------

    def _refusal(self, message: dict[str, Any]) -> ModelError:
        text = str(message.get("message") or "no reason given")
        if message.get("t") == "down":
            state = message.get("state")
            if state == "failed":
                return ModelUnavailable(_failed_text(message))
            retry = message.get("retry_after")
            return ModelUnavailable(
                f"the local model process is restarting: {text}",
                retry_after=float(retry) if isinstance(retry, int | float) else 1.0,
            )
        code = message.get("code")
        if code == "busy":
            return ModelBusy(text)
        if code == "forbidden":
            return ModelUnavailable(f"the local model process refused this user: {text}")
        return ModelError(text)

    def _crash_error(self, since: float, hello: dict[str, Any]) -> ModelError:
        """What to say when the connection died after the model process took the request."""
        deadline = time.monotonic() + _CRASH_RECORD_WAIT_S
        crash: dict[str, Any] | None = None
        state: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            state = read_json(self.paths.state)
            crashes = (state or {}).get("crashes") or []
            recent = [
                c
                for c in crashes
                if isinstance(c, dict) and c.get("when", 0) >= since and c.get("then")
            ]
            if recent:
                crash = recent[-1]
                break
            time.sleep(0.02)
        pid = hello.get("pid")
        if crash is None:
            return ModelCrashed(
                f"the local model process (pid {pid}) closed the connection in the middle of "
                f"the answer; see {self.paths.log}"
            )
        then = crash.get("then") or "restarting"
        return ModelCrashed(
            f"the local model process (pid {pid}) died with {crash.get('signal')} while "
            f"answering, in {crash.get('mode')} mode; {then}. Log: {self.paths.log}"
        )


def _failed_text(record: dict[str, Any]) -> str:
    text = f"the local model process gave up: {record.get('message') or 'see its log'}"
    if record.get("fix"):
        text += f"; fix: {record['fix']}"
    return text


class _Cancellation:
    """Turns a :class:`CancelToken` into a cancel on the wire: one byte to the model process,
    which stops generating (even mid prompt evaluation) and sends its ``end``; the connection
    is shut down if that does not come within :data:`_CANCEL_GRACE_S` (a hung process)."""

    def __init__(self, sock: socket.socket, token: CancelToken | None) -> None:
        self._sock = sock
        self.requested = False
        self._timer: threading.Timer | None = None
        self._unlink = token.on_cancel(self._cancel) if token is not None else None

    def _cancel(self) -> None:
        self.requested = True
        with contextlib.suppress(OSError):
            self._sock.send(b"c")
        self._timer = threading.Timer(_CANCEL_GRACE_S, _shutdown, args=(self._sock,))
        self._timer.daemon = True
        self._timer.start()

    def close(self) -> None:
        if self._unlink is not None:
            self._unlink()
        if self._timer is not None:
            self._timer.cancel()


class ProcessTokenizer:
    """Exact token counts from the model process's vocabulary (no BOS, special tokens parsed);
    a calibrated estimate while it cannot answer, with one warning."""

    #: :meth:`count_many` asks for many texts in one round trip (a few ms each): callers
    #: with many texts to count should hand them over together, not one at a time.
    batches_counts = True

    def __init__(self, model: ProcessModel) -> None:
        self._model = model
        self._failed_at: float | None = None
        self._warned = False

    @property
    def exact(self) -> bool:
        return self._failed_at is None

    def count(self, text: str) -> int:
        return self.count_many([text])[0] if text else 0

    def tokenize(self, text: str) -> list[int]:
        """The token ids of ``text`` (raises ModelError when the model process cannot say)."""
        reply = self._model.call({"op": "tokenize", "texts": [text], "ids": True})
        ids = reply.get("ids")
        if not isinstance(ids, list) or len(ids) != 1 or not isinstance(ids[0], list):
            raise ModelError("the model process sent malformed token ids")
        return [int(i) for i in ids[0]]

    def count_many(self, texts: Sequence[str]) -> list[int]:
        texts = list(texts)
        wanted = [i for i, t in enumerate(texts) if t]
        counts = [0] * len(texts)
        if not wanted:
            return counts
        failed_at = self._failed_at
        if failed_at is None or time.monotonic() - failed_at > _TOKENIZER_RETRY_S:
            try:
                for batch in _batches([texts[i] for i in wanted]):
                    reply = self._model.call({"op": "tokenize", "texts": batch})
                    got = reply.get("counts")
                    if not isinstance(got, list) or len(got) != len(batch):
                        raise ModelError("the model process sent a malformed count")
                    for i, n in zip(wanted[: len(batch)], got, strict=True):
                        counts[i] = int(n)
                    wanted = wanted[len(batch) :]
            except ModelError as exc:
                self._failed_at = time.monotonic()
                if not self._warned:
                    self._warned = True
                    log.warning("estimating token counts: %s", exc)
            else:
                if self._failed_at is not None:
                    log.info("exact token counts again from the local model process")
                self._failed_at, self._warned = None, False
                return counts
        from ..openai_http import estimate_tokens

        for i in wanted:
            counts[i] = estimate_tokens(texts[i])
        return counts


def _batches(texts: list[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for text in texts:
        if batch and size + len(text) > _TOKENIZE_BATCH_CHARS:
            yield batch
            batch, size = [], 0
        batch.append(text)
        size += len(text)
    if batch:
        yield batch


# -- every model process of this user ----------------------------------------------------------


def list_processes(directory: Path | None = None) -> list[dict[str, Any]]:
    """The records of this user's model processes (running, failed or stopped)."""
    folder = directory or runtime_dir()
    out = []
    for path in sorted(folder.glob("*.json")):
        record = read_json(path)
        if record and "key" in record:
            out.append(record)
    return out


def _is_supervisor(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): the pid answers, trust the record
    return b"model_process.supervisor" in cmdline


def stop_process(record: dict[str, Any], timeout_s: float = 10.0) -> bool:
    """Stop the model process of ``record`` (SIGTERM to its supervisor); True when it was
    running. Its socket is removed and its memory freed."""
    pid = record.get("supervisor_pid")
    if not isinstance(pid, int) or not _is_supervisor(pid):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _is_supervisor(pid):
        time.sleep(0.05)
    return True


def describe_crash(record: dict[str, Any]) -> str:
    """One line about the last crash in a record (empty when none)."""
    crashes = record.get("crashes") or []
    if not crashes:
        return ""
    last = crashes[-1]
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(last.get("when", 0))))
    return f"{last.get('signal')} in {last.get('mode')} mode during {last.get('phase')} at {when}"

"""``repolens model pull|list|rm|use|serve|status|stop|restart``.

``pull`` downloads a FIM code GGUF through huggingface_hub, checks its SHA-256 before anything
uses it, and makes it the completion model (:mod:`repolens.modelstore`); ``list`` shows what
was pulled and which role uses it; ``rm`` removes one; ``use`` switches between them.

``serve`` starts a model server on this machine, bound to 127.0.0.1, with the flags repolens
needs, and says how to point repolens at it:

- ``--engine llama.cpp``: llama-cpp-python's OpenAI-compatible server on a GGUF (CPU);
- ``--engine vllm``: ``vllm serve`` for a GPU machine, with a 128K context
  (``--max-model-len 131072``), YaRN rope scaling for Qwen2.5 models (native 32K) and prefix
  caching (repolens puts the stable part of every prompt first so it is reused).

The command builders are pure functions, unit-tested, because vLLM cannot run here.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import re
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import RepolensError
from ..settings import user_config_path
from .common import add_repo_argument, find_repo_root, print_json, settings_for

__all__ = [
    "LLAMA_CPP_PORT",
    "QWEN25_NATIVE_CONTEXT",
    "VLLM_DEFAULT_MODEL",
    "VLLM_PORT",
    "completion_model_report",
    "llama_cpp_server_command",
    "register",
    "vllm_serve_command",
    "yarn_rope_scaling",
]

LLAMA_CPP_PORT = 8080
VLLM_PORT = 8000
VLLM_DEFAULT_MODEL = "Qwen/Qwen2.5-Coder-7B-Instruct"
VLLM_DEFAULT_MAX_MODEL_LEN = 131072
#: Qwen2.5(-Coder) models are trained at 32K and reach 128K with static YaRN
#: (their model cards: factor 4.0, original_max_position_embeddings 32768).
QWEN25_NATIVE_CONTEXT = 32768
_QWEN25 = re.compile(r"qwen2[._-]?5", re.IGNORECASE)


def llama_cpp_server_command(
    gguf: str | Path,
    *,
    port: int = LLAMA_CPP_PORT,
    n_ctx: int,
    threads: int | None = None,
    api_key: str | None = None,
    extra: Sequence[str] = (),
    python: str | None = None,
    cpu_mode: str | None = None,
) -> list[str]:
    """``python -m llama_cpp.server`` on ``gguf``, listening on 127.0.0.1 only.

    The model is served under its file name (``--model_alias``), which is what
    ``GET /v1/models`` reports and what FIM template detection sees. With ``cpu_mode`` (a rung
    of :data:`repolens.backends.cpu_modes.LADDER`) the server runs through
    :mod:`repolens.backends.llama_server`, which applies it (extra buffer types off, ...).
    """
    from ..backends.cpu_modes import mode_named

    mode = mode_named(cpu_mode) if cpu_mode else None
    if mode is not None and mode.max_threads is not None:
        threads = min(threads or mode.max_threads, mode.max_threads)
    server = [
        "--model",
        str(gguf),
        "--model_alias",
        Path(gguf).name,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
    ]
    if threads:  # prompt evaluation too (its own default is every core)
        server += ["--n_threads", str(threads), "--n_threads_batch", str(threads)]
    if mode is not None and not mode.mmap:
        server += ["--use_mmap", "false"]
    if mode is not None and mode.n_batch is not None:
        server += ["--n_batch", str(mode.n_batch), "--n_ubatch", str(mode.n_batch)]
    if api_key:
        server += ["--api_key", api_key]
    launcher = ["-m", "llama_cpp.server"]
    if mode is not None and mode.name != "fast":
        launcher = ["-m", "repolens.backends.llama_server", "--cpu-mode", mode.name, "--"]
    return [python or sys.executable, *launcher, *server, *extra]


def yarn_rope_scaling(
    model: str, max_model_len: int, *, native_context: int = QWEN25_NATIVE_CONTEXT
) -> dict[str, Any] | None:
    """The YaRN rope scaling a Qwen2.5 model needs for ``max_model_len``, else None.

    Static YaRN costs a little quality on short texts, so the factor is what the length
    needs (4.0 for 131072), not more, and none is applied up to the native 32K.
    """
    if not _QWEN25.search(model) or max_model_len <= native_context:
        return None
    return {
        "rope_type": "yarn",
        "factor": round(max_model_len / native_context, 4),
        "original_max_position_embeddings": native_context,
    }


def vllm_serve_command(
    model: str = VLLM_DEFAULT_MODEL,
    *,
    port: int = VLLM_PORT,
    max_model_len: int = VLLM_DEFAULT_MAX_MODEL_LEN,
    tensor_parallel_size: int | None = None,
    yarn: bool = True,
    rope_key: str = "rope_scaling",
    api_key: str | None = None,
    trust_remote_code: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """``vllm serve`` with what a 128K repository-context code model needs.

    Rope scaling goes through ``--hf-overrides`` (a JSON patch of the model's HF config),
    which vLLM accepts since before 0.8; the old ``--rope-scaling`` flag was deprecated and is
    gone since vLLM 0.11.1. The key is ``rope_scaling`` (HF Transformers 4.x configs, what
    Qwen2.5's model card documents); pass ``rope_key="rope_parameters"`` for vLLM builds on
    Transformers 5, whose docs use that name.
    """
    if rope_key not in ("rope_scaling", "rope_parameters"):
        raise ValueError(f"rope_key must be rope_scaling or rope_parameters, not {rope_key!r}")
    cmd = [
        "vllm",
        "serve",
        model,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        str(max_model_len),
        "--enable-prefix-caching",
    ]
    scaling = yarn_rope_scaling(model, max_model_len) if yarn else None
    if scaling is not None:
        if rope_key == "rope_parameters":
            scaling = {**scaling, "rope_theta": 1000000.0}  # Qwen2.5's, required there
        cmd += ["--hf-overrides", json.dumps({rope_key: scaling}, separators=(",", ":"))]
    if tensor_parallel_size and tensor_parallel_size > 1:
        cmd += ["--tensor-parallel-size", str(tensor_parallel_size)]
    if api_key:
        cmd += ["--api-key", api_key]
    if trust_remote_code:
        cmd.append("--trust-remote-code")
    return cmd + list(extra)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "model",
        help="pull a code model, list or remove pulled ones, serve or check the model",
        description="Pull a FIM code model (verified by SHA-256) and make it the completion "
        "model, list and remove pulled models, start a model server on this machine, or check "
        "the configured model.",
    )
    actions = p.add_subparsers(dest="model_action", metavar="ACTION")
    p.set_defaults(func=lambda _args: _usage(p))
    _register_store(actions)

    serve = actions.add_parser(
        "serve",
        help="start an OpenAI-compatible model server on 127.0.0.1",
        description="Start an OpenAI-compatible model server bound to 127.0.0.1 and print "
        "how to point repolens at it. llama.cpp runs a GGUF on the CPU; vLLM needs a GPU.",
    )
    serve.add_argument("--engine", choices=["llama.cpp", "vllm"], default="llama.cpp")
    serve.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"default {LLAMA_CPP_PORT} (llama.cpp), {VLLM_PORT} (vllm)",
    )
    serve.add_argument(
        "--gguf",
        help="llama.cpp: GGUF file (default: model.gguf, else the pulled completion model, else "
        "SmolLM2)",
    )
    serve.add_argument(
        "--n-ctx",
        type=int,
        default=None,
        help="llama.cpp: context size (default: model.context_window, else the GGUF's "
        "training context capped at 8192)",
    )
    serve.add_argument("--threads", type=int, default=None, help="llama.cpp: CPU threads")
    serve.add_argument(
        "--cpu-mode",
        choices=["auto", "fast", "safe", "minimal"],
        default="auto",
        help="llama.cpp: CPU settings (auto: the fastest that does not crash on this CPU, "
        "probed once and remembered; safe: extra buffer types off)",
    )
    serve.add_argument(
        "--model",
        default=None,
        help=f"vllm: Hugging Face model id or path (default: model.model, else "
        f"{VLLM_DEFAULT_MODEL})",
    )
    serve.add_argument(
        "--max-model-len", type=int, default=VLLM_DEFAULT_MAX_MODEL_LEN, help="vllm: context"
    )
    serve.add_argument("--tensor-parallel-size", type=int, default=None, help="vllm: GPUs")
    serve.add_argument(
        "--no-yarn", action="store_true", help="vllm: no YaRN rope scaling for Qwen2.5 models"
    )
    serve.add_argument(
        "--rope-key",
        choices=["rope_scaling", "rope_parameters"],
        default="rope_scaling",
        help="vllm: HF config key for YaRN (rope_parameters for vLLM on Transformers 5)",
    )
    serve.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="vllm: run the model repository's own code (CodeGeeX4 needs it)",
    )
    serve.add_argument(
        "--api-key", default=None, help="require this bearer token (set model.api_key to match)"
    )
    serve.add_argument(
        "--extra", action="append", default=[], metavar="ARG", help="pass ARG to the server"
    )
    serve.add_argument(
        "--print", action="store_true", dest="print_only", help="print the command and exit"
    )
    add_repo_argument(serve)
    serve.set_defaults(func=run_serve)

    status = actions.add_parser(
        "status",
        help="what model is configured and whether it answers",
        description="Show the configured model (backend, name, location, context window, "
        "template) and check that it answers. Exit code 0 when it does, 1 otherwise.",
    )
    status.add_argument("--json", action="store_true", help="print a JSON object")
    add_repo_argument(status)
    status.set_defaults(func=run_status)

    stop = actions.add_parser(
        "stop",
        help="stop the local model process (frees its memory)",
        description="Stop the local model process of the configured model, or with --all every "
        "one of yours. The next request that needs the model starts it again.",
    )
    stop.add_argument("--all", action="store_true", help="every model process of this user")
    add_repo_argument(stop)
    stop.set_defaults(func=run_stop)

    restart = actions.add_parser(
        "restart",
        help="restart the local model process (clears a given-up state)",
        description="Stop the local model process of the configured model, forget that it gave "
        "up (after repeated crashes), start it again and wait until it answers. --reprobe also "
        "forgets which CPU modes crashed on this machine, so the fastest is tried again.",
    )
    restart.add_argument(
        "--reprobe", action="store_true", help="forget the CPU-mode probe results as well"
    )
    restart.add_argument("--json", action="store_true", help="print a JSON object")
    add_repo_argument(restart)
    restart.set_defaults(func=run_restart)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _say(message: str) -> None:
    print(f"repolens: {message}", file=sys.stderr)


def _pointing_hint(url: str, context_window: int | None, api_key: str | None) -> str:
    env = f"REPOLENS_MODEL_BACKEND=openai REPOLENS_MODEL_URL={url}"
    toml = f'[model]\nbackend = "openai"\nurl = "{url}"\n'
    if context_window:
        env += f" REPOLENS__MODEL__CONTEXT_WINDOW={context_window}"
        toml += f"context_window = {context_window}\n"
    if api_key:
        env += " REPOLENS_API_KEY=..."
        toml += 'api_key = "..."\n'
    return (
        f"point repolens at it with\n  export {env}\n"
        f"or put this in {user_config_path()}:\n"
        + "".join(f"  {line}\n" for line in toml.splitlines())
    ).rstrip("\n")


def _exec(cmd: list[str]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(cmd[0], cmd)
    except OSError as exc:
        raise RepolensError(f"cannot start {cmd[0]}: {exc}") from None
    return 0  # pragma: no cover - execvp does not return


def run_serve(args: argparse.Namespace) -> int:
    repo = find_repo_root(args.repo or Path("."))
    settings = settings_for(repo)
    if args.engine == "vllm":
        return _serve_vllm(args, settings.model.model)
    return _serve_llama_cpp(args, settings)


def _serve_llama_cpp(args: argparse.Namespace, settings: Any) -> int:
    from ..backends import ModelError
    from ..backends.embedded import default_n_ctx, resolve_gguf

    model_settings = settings.model
    if args.gguf:
        model_settings = model_settings.model_copy(update={"gguf": args.gguf})
    try:
        gguf = resolve_gguf(model_settings)
        n_ctx = args.n_ctx or default_n_ctx(gguf, model_settings)
    except ModelError as exc:
        raise RepolensError(str(exc)) from None
    port = args.port or LLAMA_CPP_PORT
    threads = args.threads or model_settings.threads
    missing = [
        m
        for m in ("llama_cpp", "uvicorn", "sse_starlette", "starlette_context")
        if importlib.util.find_spec(m) is None
    ]
    if missing and not args.print_only:
        raise RepolensError(
            f"llama.cpp's server needs {', '.join(missing)}: pip install 'llama-cpp-python[server]'"
        )
    cpu_mode = args.cpu_mode
    if cpu_mode == "auto" and not args.print_only:
        cpu_mode = _probe_mode(gguf, n_ctx, threads, model_settings)
    cmd = llama_cpp_server_command(
        gguf,
        port=port,
        n_ctx=n_ctx,
        threads=threads,
        api_key=args.api_key,
        extra=args.extra,
        cpu_mode=None if cpu_mode == "auto" else cpu_mode,
    )
    url = f"http://127.0.0.1:{port}/v1"
    if args.print_only:
        print(shlex.join(cmd))
        return 0
    _say(
        f"starting llama.cpp's OpenAI-compatible server for {gguf.name} on {url} "
        f"(n_ctx {n_ctx}); Ctrl-C stops it"
    )
    _say(_pointing_hint(url, n_ctx, args.api_key))
    _say(f"$ {shlex.join(cmd)}")
    return _exec(cmd)


def _probe_mode(gguf: Path, n_ctx: int, threads: int | None, model_settings: Any) -> str:
    """The CPU mode llama.cpp's server should run in here (probed once, then remembered)."""
    from ..backends import ModelError
    from ..backends.embedded import default_threads
    from ..backends.model_process import ProcessSpec, probe_cache_dir
    from ..backends.model_process.probe import choose_mode

    spec = ProcessSpec(
        gguf=str(gguf),
        n_ctx=min(n_ctx, 2048),  # the probe needs no long context
        threads=threads or default_threads(model_settings),
        cpu_mode=model_settings.cpu_mode,
        idle_unload_s=0,
        cache_dir=str(probe_cache_dir()),
    )
    try:
        mode, notes = choose_mode(spec)
    except ModelError as exc:
        raise RepolensError(str(exc)) from None
    for note in notes:
        _say(f"CPU mode {note}")
    return mode.name


def _serve_vllm(args: argparse.Namespace, configured_model: str | None) -> int:
    model = args.model or configured_model or VLLM_DEFAULT_MODEL
    port = args.port or VLLM_PORT
    cmd = vllm_serve_command(
        model,
        port=port,
        max_model_len=args.max_model_len,
        tensor_parallel_size=args.tensor_parallel_size,
        yarn=not args.no_yarn,
        rope_key=args.rope_key,
        api_key=args.api_key,
        trust_remote_code=args.trust_remote_code,
        extra=args.extra,
    )
    url = f"http://127.0.0.1:{port}/v1"
    if args.print_only:
        print(shlex.join(cmd))
        return 0
    if shutil.which("vllm") is None:
        _say(
            "vllm is not installed here. It needs a machine with an NVIDIA GPU (CUDA); "
            "there, run\n  pip install 'repolens[gpu]'\nthen this command:"
        )
        print(shlex.join(cmd))
        _say(
            "it listens on 127.0.0.1 only: from another machine, forward the port "
            f"(ssh -L {port}:127.0.0.1:{port} GPU_HOST) and "
            + _pointing_hint(url, None, args.api_key)
        )
        return 1
    _say(f"starting vLLM for {model} on {url}; Ctrl-C stops it")
    _say(_pointing_hint(url, None, args.api_key))
    _say(f"$ {shlex.join(cmd)}")
    return _exec(cmd)


def run_status(args: argparse.Namespace) -> int:
    from ..backends import describe_model

    repo = find_repo_root(args.repo or Path("."))
    settings = settings_for(repo)
    status = describe_model(settings.model)
    if args.json:
        print_json(status.as_json())
        return 0 if status.answers else 1
    ctx = "unknown"
    if status.context_window:
        source = f" (from {status.context_window_source})" if status.context_window_source else ""
        ctx = f"{status.context_window} tokens{source}"
    rows = [
        ("backend", status.backend),
        ("model", status.model or "(not set)"),
        ("location", status.location or "(not set)"),
        ("context window", ctx),
        ("template", status.template),
    ]
    tokenizer = status.details.get("tokenizer")
    if tokenizer:
        rows.append(("tokenizer", str(tokenizer)))
    process = status.details.get("process")
    if isinstance(process, dict):
        rows.extend(process_rows(process))
    rows.append(("status", status.message))
    for label, value in rows:
        print(f"{label:<15} {value}")
    if not status.answers:
        _say(status.message)
    return 0 if status.answers else 1


def process_rows(process: dict[str, Any]) -> list[tuple[str, str]]:
    """``repolens model status`` lines about the local model process (also used by doctor)."""
    from ..backends.model_process import describe_crash

    worker = process.get("worker") or {}
    state = str(process.get("state"))
    if worker:
        rss = worker.get("rss_bytes")
        memory = f", {rss / 2**20:.0f} MB" if isinstance(rss, int) else ""
        clients = worker.get("clients") or []
        state += (
            f": pid {worker.get('pid')}, {worker.get('mode')} mode{memory}, "
            f"{worker.get('requests')} requests from {len(clients)} processes, unloads after "
            f"{worker.get('idle_unload_s'):g} s idle"
        )
    elif process.get("message"):
        state += f": {process['message']}"
    rows = [("model process", state)]
    crash = describe_crash(process)
    if crash:
        rows.append(("last crash", crash))
    if process.get("fix"):
        rows.append(("fix", str(process["fix"])))
    probe = process.get("probe") or {}
    if probe:
        parts = []
        for mode, result in probe.items():
            parts.append(f"{mode} {'works' if result.get('ok') else result.get('signal', 'fails')}")
        rows.append(("cpu modes", "; ".join(parts) + " (on this llama.cpp build and CPU)"))
    rows.append(("process log", str(process.get("log"))))
    return rows


def _process_model(args: argparse.Namespace) -> Any:
    from ..backends import ModelError, open_model
    from ..backends.model_process import ProcessModel

    repo = find_repo_root(args.repo or Path("."))
    settings = settings_for(repo)
    if settings.model.backend != "embedded":
        raise RepolensError(
            f"model.backend is {settings.model.backend}: there is no local model process to "
            "manage (your server manages its own)"
        )
    try:
        model = open_model(settings.model)
    except ModelError as exc:
        raise RepolensError(str(exc)) from None
    assert isinstance(model, ProcessModel)
    return model


def run_stop(args: argparse.Namespace) -> int:
    from ..backends.model_process import list_processes, stop_process

    if args.all:
        records = list_processes()
    else:
        model = _process_model(args)
        records = [r for r in list_processes(model.paths.directory) if r["key"] == model.spec.key]
    stopped = [r for r in records if stop_process(r)]
    for record in stopped:
        _say(f"stopped the model process for {Path(record['spec']['gguf']).name}")
    if not stopped:
        _say("no model process was running")
    return 0


def run_restart(args: argparse.Namespace) -> int:
    from ..backends import GenerationParams, ModelError
    from ..backends.model_process import stop_process
    from ..backends.model_process.probe import ProbeRecord
    from ..backends.model_process.runtime import read_json

    model = _process_model(args)
    record = read_json(model.paths.state)
    if record:
        stop_process(record)
        model.paths.state.unlink(missing_ok=True)  # forget a given-up state
    if args.reprobe:
        ProbeRecord(Path(model.spec.cache_dir)).forget()
    try:
        "".join(model.complete("Hello", GenerationParams(max_tokens=1)))
    except ModelError as exc:
        raise RepolensError(f"the model process did not come back: {exc}") from None
    status = model.process_status()
    if args.json:
        print_json(status)
    else:
        for label, value in process_rows(status):
            print(f"{label:<15} {value}")
    return 0


# --- pulled models: pull, list, rm, use ---------------------------------------------------


def _register_store(actions: Any) -> None:
    from ..modelstore import CATALOG

    names = ", ".join(entry.name for entry in CATALOG)
    pull = actions.add_parser(
        "pull",
        help="download a FIM code model, verify it and make it the completion model",
        description=f"Download a GGUF through huggingface_hub (its cache, HF_ENDPOINT, "
        f"HF_HUB_OFFLINE), check its size and SHA-256 before anything uses it, and make it the "
        f"completion model. NAME is one of: {names}. Anything else: HF_REPO FILE "
        "[--sha256 HASH]. A model.gguf setting still wins over pulled models.",
    )
    pull.add_argument("target", metavar="NAME|HF_REPO", help="catalog name, or a repository")
    pull.add_argument("file", nargs="?", metavar="FILE", help="the GGUF file in HF_REPO")
    pull.add_argument(
        "--sha256",
        default=None,
        help="HF_REPO FILE: the SHA-256 the file must have (without it, the hub's own report "
        "pins it)",
    )
    pull.add_argument("--revision", default="main", help="HF_REPO FILE: branch, tag or commit")
    pull.add_argument("--name", default=None, help="HF_REPO FILE: the name to record it under")
    pull.add_argument(
        "--no-use", action="store_true", help="pull it without making it the completion model"
    )
    pull.add_argument("--json", action="store_true", help="print a JSON object")
    pull.set_defaults(func=run_pull)

    listing = actions.add_parser(
        "list",
        help="pulled models, their size and which role uses them",
        description="List the pulled models (size, what pinned their SHA-256, which role uses "
        "them) and which model serves completion now. --catalog adds what can be pulled.",
    )
    listing.add_argument("--catalog", action="store_true", help="also list the catalog")
    listing.add_argument("--json", action="store_true", help="print a JSON object")
    listing.set_defaults(func=run_list)

    rm = actions.add_parser(
        "rm",
        help="forget a pulled model and delete its file from the Hugging Face cache",
        description="Forget a pulled model and delete its file from huggingface_hub's cache "
        "(--keep-file keeps the file). Completion falls back to the bundled SmolLM2.",
    )
    rm.add_argument("name", metavar="NAME")
    rm.add_argument("--keep-file", action="store_true", help="keep the file in the cache")
    rm.set_defaults(func=run_rm)

    use = actions.add_parser(
        "use",
        help="make a pulled model the completion model",
        description="Make a pulled model the completion model (model.gguf, when set, still wins).",
    )
    use.add_argument("name", metavar="NAME")
    use.set_defaults(func=run_use)


_WHOSE_HASH = {
    "repolens": "verified against repolens's catalog",
    "user": "verified against your --sha256",
    "hub": "pinned by the hub's hash, not by repolens's",
}


def _user_model_settings() -> Any:
    """The model settings from the user's config and the environment (no repository)."""
    from ..settings import ModelSettings, SettingsError, load_settings

    try:
        return load_settings(None)[0].model
    except SettingsError:
        return ModelSettings()


def _pull_target(args: argparse.Namespace) -> Any:
    from ..completion.templates import detect_template
    from ..modelstore import CATALOG, PullTarget, find_entry, target_for_entry

    sha = args.sha256.strip().lower() if args.sha256 else None
    if sha is not None and not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise RepolensError(f"--sha256 must be 64 hex digits, not {args.sha256!r}")
    if args.file is None:
        entry = find_entry(args.target)
        if entry is None:
            known = ", ".join(e.name for e in CATALOG)
            if "/" in args.target:
                raise RepolensError(
                    f"give the file too: repolens model pull {args.target} FILE.gguf "
                    "[--sha256 HASH]"
                )
            raise RepolensError(
                f"no model called {args.target!r} in the catalog (known: {known}); for another "
                "GGUF: repolens model pull HF_REPO FILE [--sha256 HASH]"
            )
        if sha is not None or args.name or args.revision != "main":
            raise RepolensError(
                "--sha256, --revision and --name are for HF_REPO FILE pulls; a catalog entry "
                "has its own"
            )
        return target_for_entry(entry)
    repo, file = args.target.strip("/"), args.file
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise RepolensError(f"{repo!r} is not a Hugging Face repository id (OWNER/NAME)")
    if not file.lower().endswith(".gguf"):
        raise RepolensError(f"{file} is not a .gguf file: the embedded backend runs GGUF models")
    for entry in CATALOG:
        if (entry.repo.lower(), entry.file) == (repo.lower(), file) and not args.name:
            if sha is not None and entry.sha256 and sha != entry.sha256:
                raise RepolensError(
                    f"{repo}/{file} is the catalog's {entry.name}, pinned at SHA-256 "
                    f"{entry.sha256}, not {sha}; pull it with `repolens model pull {entry.name}`"
                )
            if args.revision == "main":
                return target_for_entry(entry)
    name = (args.name or Path(file).stem).strip()
    if not re.fullmatch(r"[\w.+-]+", name):
        raise RepolensError(f"{name!r} cannot be a model name (letters, digits, . _ + -)")
    if find_entry(name) is not None:
        raise RepolensError(f"{name} is a catalog name; record this file under another --name")
    return PullTarget(
        name=name,
        repo=repo,
        file=file,
        template=detect_template(file).template.name,
        revision=args.revision,
        sha256=sha,
        pinned_by="user" if sha else "hub",
    )


def _can_infill(template: str) -> bool:
    from ..completion.templates import TEMPLATES

    known = TEMPLATES.get(template)
    return known is not None and known.supports_suffix


def run_pull(args: argparse.Namespace) -> int:
    from ..modelstore import (
        COMPLETION,
        RecordError,
        human_size,
        load_record,
        pull,
        update_record,
    )

    target = _pull_target(args)
    try:
        before = load_record().models.get(target.name)
    except RecordError:
        before = None
    if before is not None and (before.repo, before.file) != (target.repo, target.file):
        raise RepolensError(
            f"{target.name} is already the name of {before.repo}/{before.file}; pick another "
            f"--name, or `repolens model rm {target.name}` first"
        )
    if target.pinned_by == "hub" and before is None:
        _say(
            f"{target.name}: repolens has no SHA-256 of its own for {target.file}; it is "
            "pinned by the hub's hash (what the hub reports for the file), not by repolens's"
        )
    if before is not None and target.sha256 is None and before.pinned_by == "hub":
        # trust on first use: the hub's hash at the first pull pins the file from then on
        target = dataclasses.replace(target, sha256=before.sha256)
    try:
        model = pull(target, say=_say)
    except KeyboardInterrupt:
        _say(
            "interrupted: nothing was recorded or used. Run "
            f"`{target.command}` again (huggingface_hub starts an interrupted download over)"
        )
        raise
    can_infill = _can_infill(model.template)
    use = can_infill and not args.no_use
    try:
        with update_record() as record:
            record.models[model.name] = model
            if use:
                record.roles[COMPLETION] = model.name
            roles = record.roles_of(model.name)
    except RecordError as exc:
        raise RepolensError(
            f"{exc}; the file is in the Hugging Face cache at {model.path}"
        ) from None
    settings = _user_model_settings()
    if args.json:
        print_json(
            {
                "model": model.as_json(),
                "verified": model.pinned_by != "hub",
                "roles": roles,
                "completion": completion_model_report(settings),
            }
        )
    else:
        print(f"pulled {model.name}: {human_size(model.size)} at {model.path}")
        print(f"SHA-256 {model.sha256} {_WHOSE_HASH[model.pinned_by]}")
        if model.pinned_by == "hub":
            print(
                "  (the file matches what the hub reports for it; repolens holds no hash of its "
                "own for this file, so this is not a verification by repolens)"
            )
        if use:
            print(f"completion now uses {model.name} (template {model.template})")
        elif not can_infill:
            print(
                f"not made the completion model: no fill-in-the-middle template is known for "
                f"{model.file} (`repolens model use {model.name}` makes it so anyway)"
            )
        else:
            print(f"completion does not use it (--no-use): `repolens model use {model.name}`")
    if use and settings.backend == "embedded" and settings.gguf:
        _say(
            f"model.gguf is set ({settings.gguf}) and wins over pulled models: unset it to use "
            f"{model.name}"
        )
    elif use and settings.backend != "embedded":
        _say(
            f"model.backend is {settings.backend}: completion comes from your server, not from "
            f"{model.name}, until model.backend is embedded"
        )
    return 0


def completion_model_report(settings: Any) -> dict[str, Any]:
    """Which model serves completion and whether it can infill (``model list``, ``doctor``)."""
    from ..backends.embedded import choose_gguf
    from ..completion.templates import choose_template
    from ..modelstore import load_record

    if settings.backend != "embedded":
        name = settings.model or ""
        choice = choose_template(settings.template, name) if name else None
        return {
            "backend": settings.backend,
            "source": "server",
            "name": settings.model,
            "path": None,
            "location": settings.url,
            "template": choice.template.name if choice else None,
            "can_infill": choice.template.supports_suffix if choice else None,
            "pinned_by": None,
            "warning": None,
        }
    gguf = choose_gguf(settings)
    name = gguf.path.name if gguf.path else None
    template = choose_template(settings.template, name or "")
    pinned_by = None
    if gguf.source == "pulled" and gguf.pulled:
        try:
            pulled = load_record().models.get(gguf.pulled)
        except Exception:  # a report must not fail
            pulled = None
        pinned_by = pulled.pinned_by if pulled else None
    return {
        "backend": "embedded",
        "source": gguf.source,
        "name": gguf.pulled or name,
        "path": str(gguf.path) if gguf.path else None,
        "location": str(gguf.path) if gguf.path else None,
        "template": template.template.name,
        "can_infill": template.template.supports_suffix and gguf.path is not None,
        "pinned_by": pinned_by,
        "warning": gguf.warning or gguf.problem,
    }


def completion_model_line(report: dict[str, Any]) -> str:
    """One line saying what serves completion (``model list``, ``doctor``)."""
    infill = "can infill" if report["can_infill"] else "cannot infill (prefix-only)"
    if report["source"] == "server":
        name = report["name"] or "the model your server serves"
        return f"{name} at {report['location']} (model.backend {report['backend']}); {infill}"
    what = {
        "model.gguf": "model.gguf",
        "pulled": f"pulled, {_WHOSE_HASH.get(report['pinned_by'] or '', 'hash unknown')}",
        "bundled": "the bundled zero-download fallback",
    }[report["source"]]
    if report["path"] is None:
        return f"none: {report['warning']}"
    return f"{report['name']} ({what}), template {report['template']}, {infill}; {report['path']}"


def run_list(args: argparse.Namespace) -> int:
    from ..modelstore import CATALOG, RecordError, human_size, load_record

    try:
        record = load_record()
    except RecordError as exc:
        raise RepolensError(f"{exc}; `repolens model pull` starts a new record") from None
    settings = _user_model_settings()
    completion = completion_model_report(settings)
    rows = []
    for name, model in sorted(record.models.items()):
        problem = model.problem()
        rows.append(
            {
                **model.as_json(),
                "roles": record.roles_of(name),
                "verified": model.pinned_by != "hub",
                "can_infill": _can_infill(model.template),
                "present": problem is None,
                "problem": problem,
            }
        )
    if args.json:
        out: dict[str, Any] = {"models": rows, "completion": completion}
        if args.catalog:
            out["catalog"] = [
                {
                    "name": e.name,
                    "repo": e.repo,
                    "file": e.file,
                    "size": e.size,
                    "sha256": e.sha256,
                    "pinned_by": "repolens" if e.sha256 else "hub",
                    "pin_source": e.pin_source,
                    "template": e.template,
                    "model_card": e.model_card,
                    "license": e.license,
                    "pulled": e.name in record.models,
                }
                for e in CATALOG
            ]
        print_json(out)
        return 0
    if rows:
        print(f"{'NAME':<28} {'SIZE':>8}  {'SHA-256 PINNED BY':<17} {'ROLE':<11} TEMPLATE")
        for row in rows:
            role = ",".join(row["roles"]) or "-"
            infill = "" if row["can_infill"] else " (no infill)"
            print(
                f"{row['name']:<28} {human_size(row['size']):>8}  {row['pinned_by']:<17} "
                f"{role:<11} {row['template']}{infill}"
            )
            if row["problem"]:
                print(f"  ! {row['problem']}: `{record.models[row['name']].pull_command}`")
    else:
        print("no pulled models (repolens model pull qwen2.5-coder-1.5b)")
    print(f"completion: {completion_model_line(completion)}")
    if completion["warning"]:
        _say(completion["warning"])
    if args.catalog:
        print()
        print(f"{'CATALOG':<21} {'SIZE':>8}  {'SHA-256 PINNED BY':<21} {'TEMPLATE':<15} REPOSITORY")
        for e in CATALOG:
            pulled = " (pulled)" if e.name in record.models else ""
            pin = f"repolens ({e.pin_source})" if e.sha256 else "hub"
            size = human_size(e.size) if e.size else "?"
            print(f"{e.name:<21} {size:>8}  {pin:<21} {e.template:<15} {e.repo}{pulled}")
        print(
            "checked: repolens hashed the file itself; published: the pin several public "
            "projects agree on; hub: the hub's own report"
        )
    return 0


def run_rm(args: argparse.Namespace) -> int:
    from ..modelstore import RecordError, human_size, remove_from_cache, update_record

    try:
        with update_record() as record:
            model = record.models.pop(args.name, None)
            if model is None:
                known = ", ".join(sorted(record.models)) or "none"
                raise RepolensError(f"no pulled model called {args.name} (pulled: {known})")
            roles = record.roles_of(args.name)
            for role in roles:
                del record.roles[role]
            shared = any(other.path == model.path for other in record.models.values())
    except RecordError as exc:
        raise RepolensError(str(exc)) from None
    freed = 0
    if not args.keep_file and not shared:
        path = Path(model.path)
        was_link = path.is_symlink()
        try:
            removed = remove_from_cache(path)
        except OSError as exc:
            raise RepolensError(
                f"forgot {model.name}, but could not delete {model.path} ({exc.strerror or exc})"
            ) from None
        if any(p.parent.name == "blobs" for p in removed) or (removed and not was_link):
            freed = model.size
    kept = " (its file stays in the Hugging Face cache)" if args.keep_file or shared else ""
    print(f"removed {model.name}{kept}" + (f", freed {human_size(freed)}" if freed else ""))
    if roles:
        report = completion_model_report(_user_model_settings())
        print(f"completion: {completion_model_line(report)}")
    return 0


def run_use(args: argparse.Namespace) -> int:
    from ..modelstore import COMPLETION, RecordError, update_record

    try:
        with update_record() as record:
            model = record.models.get(args.name)
            if model is None:
                known = ", ".join(sorted(record.models)) or "none"
                raise RepolensError(f"no pulled model called {args.name} (pulled: {known})")
            problem = model.problem()
            if problem:
                raise RepolensError(f"{model.name} {problem}: `{model.pull_command}`")
            record.roles[COMPLETION] = model.name
    except RecordError as exc:
        raise RepolensError(str(exc)) from None
    if not _can_infill(model.template):
        _say(f"{model.file} has no known fill-in-the-middle template: completions are prefix-only")
    report = completion_model_report(_user_model_settings())
    print(f"completion: {completion_model_line(report)}")
    return 0

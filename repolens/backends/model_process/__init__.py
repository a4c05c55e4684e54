"""The local model process: llama.cpp out of every process that holds an editor or an index.

One model process per user and model (GGUF + context size), shared by every repolens process of
that user: each editor window's language server, ``repolens serve``, the CLI and the commit
hook. It is two processes:

- the **supervisor** (:mod:`.supervisor`, plain Python) binds a 0600 Unix socket in the user's
  private runtime directory (:mod:`.runtime`), starts the worker, watches its exit status,
  restarts it with safer CPU settings after a native crash (:mod:`repolens.backends.cpu_modes`,
  remembered per llama.cpp build and CPU by :mod:`.probe`), backs off, and gives up with a
  reason and a fix instead of crash-looping;
- the **worker** (:mod:`.worker`) is the only process that imports llama.cpp: it loads the
  GGUF, warms up (the probe), serves requests on the supervisor's listening socket, and exits
  after ``model.idle_unload_s`` without requests, which frees the model's memory.

Clients use :class:`ProcessModel` (:mod:`.client`), which starts the model process on first
use. The wire format is :mod:`.wire`: JSON lines, one connection per generation, so closing the
connection cancels it, even in the middle of prompt evaluation.
"""

from __future__ import annotations

from .client import (
    FAILED_HOLD_S,
    ProcessModel,
    ProcessTokenizer,
    describe_crash,
    list_processes,
    probe_cache_dir,
    stop_process,
)
from .runtime import ProcessPaths, ProcessSpec, runtime_dir

__all__ = [
    "FAILED_HOLD_S",
    "ProcessModel",
    "ProcessPaths",
    "ProcessSpec",
    "ProcessTokenizer",
    "describe_crash",
    "list_processes",
    "probe_cache_dir",
    "runtime_dir",
    "stop_process",
]

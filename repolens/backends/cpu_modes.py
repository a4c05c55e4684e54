"""The settings llama.cpp runs with on a CPU, from fastest to most conservative.

llama-cpp-python compiles llama.cpp for the machine that built the wheel, and llama.cpp picks
its CPU kernels at run time from what the CPU *advertises*. Some virtual machines advertise
features the hypervisor then traps: on VMs that list ``amx_tile`` in ``/proc/cpuinfo``,
llama.cpp's *extra buffer types* (weights repacked for AMX tiles or wider SIMD) die at the first
decode with SIGILL or SIGSEGV, while the plain kernels work. A wheel built on one machine and
reused on another can hit the same with any instruction.

So the local model process starts in the fastest mode not known to crash on this llama.cpp
build and CPU, and steps down this ladder when one crashes (see
:mod:`repolens.backends.model_process`):

``fast``
    llama.cpp's defaults: extra buffer types on (repacked weights, AMX where present).
``safe``
    extra buffer types off (``llama_model_params.use_extra_bufts = False``: the weights stay in
    their file layout and the generic SIMD kernels run). Same results.
``minimal``
    also no mmap (weights read into memory), one thread and small batches: the fewest code
    paths llama.cpp has on a CPU.

Nothing here imports llama.cpp: :func:`apply` is called in the model process only.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["LADDER", "MODE_NAMES", "CpuMode", "apply", "ladder_from", "mode_named"]


@dataclass(frozen=True, slots=True)
class CpuMode:
    """One rung of the ladder: what :func:`apply` changes in llama.cpp's load parameters."""

    name: str
    extra_bufts: bool
    mmap: bool
    max_threads: int | None  # cap on n_threads / n_threads_batch
    n_batch: int | None  # logical and physical batch size; None: llama-cpp-python's default
    description: str


LADDER: tuple[CpuMode, ...] = (
    CpuMode(
        "fast",
        extra_bufts=True,
        mmap=True,
        max_threads=None,
        n_batch=None,
        description="llama.cpp's defaults (extra buffer types: repacked weights, AMX)",
    ),
    CpuMode(
        "safe",
        extra_bufts=False,
        mmap=True,
        max_threads=None,
        n_batch=None,
        description="extra buffer types off",
    ),
    CpuMode(
        "minimal",
        extra_bufts=False,
        mmap=False,
        max_threads=1,
        n_batch=64,
        description="extra buffer types off, no mmap, one thread, batches of 64",
    ),
)
MODE_NAMES: tuple[str, ...] = tuple(mode.name for mode in LADDER)


def mode_named(name: str) -> CpuMode:
    for mode in LADDER:
        if mode.name == name:
            return mode
    raise ValueError(f"unknown CPU mode {name!r}; choose one of {', '.join(MODE_NAMES)}")


def ladder_from(name: str) -> tuple[CpuMode, ...]:
    """The rungs from ``name`` down (``auto`` is the whole ladder)."""
    if name == "auto":
        return LADDER
    start = MODE_NAMES.index(mode_named(name).name)
    return LADDER[start:]


_PATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def apply(mode: CpuMode, llama_cpp: Any) -> Iterator[dict[str, Any]]:
    """While a ``llama_cpp.Llama`` is constructed: load parameters for ``mode``.

    Yields extra keyword arguments for ``Llama(...)``. ``use_extra_bufts`` has no ``Llama()``
    argument (llama-cpp-python 0.3.x), so the default-params function that ``Llama.__init__``
    calls is wrapped for the duration; the lock keeps two loads from interleaving.
    """
    kwargs: dict[str, Any] = {"use_mmap": mode.mmap}
    if mode.n_batch is not None:
        kwargs.update(n_batch=mode.n_batch, n_ubatch=mode.n_batch)
    module = llama_cpp.llama_cpp
    original = module.llama_model_default_params

    def params() -> Any:
        value = original()
        if hasattr(value, "use_extra_bufts"):
            value.use_extra_bufts = mode.extra_bufts
        return value

    with _PATCH_LOCK:
        module.llama_model_default_params = params
        try:
            yield kwargs
        finally:
            module.llama_model_default_params = original

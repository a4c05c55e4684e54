"""``python -m repolens.backends.llama_server --cpu-mode MODE -- ARGS``: llama-cpp-python's
OpenAI-compatible server (``python -m llama_cpp.server ARGS``) with a CPU mode applied.

``llama_cpp.server`` has no flag for llama.cpp's extra buffer types, which crash on CPUs that
trap what they advertise (see :mod:`repolens.backends.cpu_modes`); ``repolens model serve
--engine llama.cpp`` runs it through this module with the mode the probe chose.
"""

from __future__ import annotations

import argparse
import runpy
import sys

from .cpu_modes import MODE_NAMES, apply, mode_named


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="repolens-llama-server")
    parser.add_argument("--cpu-mode", choices=MODE_NAMES, default="fast")
    parser.add_argument("server_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    rest = args.server_args[1:] if args.server_args[:1] == ["--"] else args.server_args
    import llama_cpp

    mode = mode_named(args.cpu_mode)
    with apply(mode, llama_cpp):  # for the whole run: the server loads the model on start-up
        sys.argv = ["llama_cpp.server", *rest]
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

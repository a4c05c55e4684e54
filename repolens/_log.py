"""Logging to stderr only: stdout belongs to the LSP transport and to ``--json`` output."""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["configure_logging"]


def configure_logging(verbosity: int = 0) -> None:
    """Send repolens logs to stderr; ``REPOLENS_LOG=debug`` or ``-v`` raise the level."""
    env = os.environ.get("REPOLENS_LOG", "").upper()
    if env in ("DEBUG", "INFO", "WARNING", "ERROR"):
        level = getattr(logging, env)
    else:
        level = logging.WARNING - 10 * verbosity
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("repolens %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("repolens")
    root.handlers[:] = [handler]
    root.setLevel(max(level, logging.DEBUG))
    root.propagate = False

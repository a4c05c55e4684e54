"""A repository opened by repolens: its settings, its index and its model handles.

The CLI, the language server and the HTTP server all open repositories the same way through
:class:`Workspace`, so "why did it suggest that?" (``repolens context``) answers for the
editor's path too. The model is loaded lazily: indexing and ``repolens context`` with an
explicit tokenizer never pay for it. What is built on a workspace (the completion and Q&A
engines, the services) lives in :mod:`repolens.app`; this module imports none of it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .backends import open_model
from .backends.base import Model, ModelInfo, Tokenizer
from .backends.model_process import ProcessModel
from .settings import Settings, load_settings

if TYPE_CHECKING:
    from .indexer import RepoIndex

__all__ = ["Workspace", "open_index"]

log = logging.getLogger(__name__)


def open_index(root: Path, settings: Settings) -> RepoIndex:
    """The index of ``root`` as ``settings`` configure it (discovery limits, cache dir)."""
    from .indexer import DiscoveryOptions, RepoIndex
    from .indexer.discovery import DEFAULT_EXCLUDED_DIRS

    options = DiscoveryOptions(
        max_file_bytes=settings.index.max_file_bytes,
        excluded_dirs=DEFAULT_EXCLUDED_DIRS | frozenset(settings.index.exclude_dirs),
        include_text=settings.index.include_text,
    )
    cache_dir = Path(settings.cache_dir).expanduser() if settings.cache_dir else None
    return RepoIndex(root, cache_dir=cache_dir, options=options)


class Workspace:
    """Everything repolens holds for one repository root."""

    def __init__(self, root: Path, settings: Settings | None = None) -> None:
        self.root = root.resolve()
        if settings is None:
            settings, warnings = load_settings(self.root)
            for warning in warnings:
                log.warning("%s", warning)
        self.settings = settings
        self._index: RepoIndex | None = None
        self._model: Model | None = None
        self._lock = threading.RLock()

    # -- parts -----------------------------------------------------------------------------

    @property
    def index(self) -> RepoIndex:
        with self._lock:
            if self._index is None:
                self._index = open_index(self.root, self.settings)
            return self._index

    @property
    def model(self) -> Model:
        """The configured model (loaded or connected on first use; raises ModelUnavailable)."""
        with self._lock:
            if self._model is None:
                self._model = open_model(self.settings.model)
            return self._model

    @property
    def model_info(self) -> ModelInfo:
        return self.model.info

    @property
    def tokenizer(self) -> Tokenizer:
        return self.model.tokenizer

    # -- changes ---------------------------------------------------------------------------

    def reconfigure(self, settings: Settings) -> list[str]:
        """Apply new settings; returns what changed ("model", "completion", "index", "chat"),
        so that what is built on this workspace can be rebuilt."""
        with self._lock:
            changed: list[str] = []
            old = self.settings
            self.settings = settings
            if settings.model != old.model:
                changed.append("model")
                self._model = None
            elif settings.completion != old.completion:
                changed.append("completion")
            if settings.index != old.index or settings.cache_dir != old.cache_dir:
                changed.append("index")
                if self._index is not None:
                    self._index.close()
                self._index = None
            elif settings.chat != old.chat or settings.embeddings != old.embeddings:
                changed.append("chat")
            return changed

    def status(self) -> dict[str, Any]:
        stats = self.index.stats()
        out: dict[str, Any] = {"root": str(self.root), "index": stats}
        out["model"] = {
            "backend": self.settings.model.backend,
            "loaded": self._model is not None,
        }
        if self._model is not None:
            info = self._model.info
            out["model"].update(name=info.name, context_window=info.context_window)
            if isinstance(self._model, ProcessModel):  # its record: state, mode, crashes
                out["model"]["process"] = self._model.process_status(ask=False)
        return out

    def close(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None

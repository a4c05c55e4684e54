"""A repository opened by repolens: its settings, index, model and completion engine.

The CLI, the language server and the HTTP server all build these the same way through
:class:`Workspace`, so "why did it suggest that?" (``repolens context``) answers for the
editor's path too. The model is loaded lazily: indexing and ``repolens context`` with an
explicit tokenizer never pay for it.
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
    from .chat.qa import QAEngine
    from .completion.engine import CompletionEngine
    from .completion.templates import TemplateChoice
    from .indexer import RepoIndex

__all__ = ["Workspace"]

log = logging.getLogger(__name__)


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
        self._engine: CompletionEngine | None = None
        self._qa: QAEngine | None = None
        self._template: TemplateChoice | None = None
        self._lock = threading.RLock()

    # -- parts -----------------------------------------------------------------------------

    @property
    def index(self) -> RepoIndex:
        with self._lock:
            if self._index is None:
                from .indexer import DiscoveryOptions, RepoIndex
                from .indexer.discovery import DEFAULT_EXCLUDED_DIRS

                s = self.settings
                options = DiscoveryOptions(
                    max_file_bytes=s.index.max_file_bytes,
                    excluded_dirs=DEFAULT_EXCLUDED_DIRS | frozenset(s.index.exclude_dirs),
                    include_text=s.index.include_text,
                )
                cache_dir = Path(s.cache_dir).expanduser() if s.cache_dir else None
                self._index = RepoIndex(self.root, cache_dir=cache_dir, options=options)
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

    @property
    def template(self) -> TemplateChoice:
        with self._lock:
            if self._template is None:
                from .completion.templates import choose_template

                name = self.settings.model.model or self.model_info.name
                self._template = choose_template(self.settings.model.template, name)
                if self._template.warning:
                    log.warning("%s", self._template.warning)
            return self._template

    @property
    def engine(self) -> CompletionEngine:
        with self._lock:
            if self._engine is None:
                from .completion.engine import CompletionEngine

                info = self.model_info
                self._engine = CompletionEngine(
                    self.index,
                    self.settings.completion,
                    self.tokenizer,
                    self.template.template,
                    model=self.model,
                    context_window=info.context_window,
                    repo_name=self.root.name,
                )
            return self._engine

    @property
    def qa(self) -> QAEngine:
        """The repository Q&A engine, shared: its search state and vectors are built once."""
        with self._lock:
            if self._qa is None:
                from .chat.qa import QAEngine

                self._qa = QAEngine(self)
            return self._qa

    def reindexed(self) -> None:
        """Tell the parts that keep derived state that the index changed."""
        qa = self._qa
        vectors = getattr(qa, "vectors", None) if qa is not None else None
        if vectors is not None:
            vectors.notify()

    # -- changes ---------------------------------------------------------------------------

    def reconfigure(self, settings: Settings) -> list[str]:
        """Apply new settings; returns what changed that needs a restart of parts."""
        with self._lock:
            changed: list[str] = []
            old = self.settings
            self.settings = settings
            if settings.model != old.model:
                changed.append("model")
                self._model = None
                self._template = None
                self._engine = None
                self._close_qa()
            elif settings.completion != old.completion:
                changed.append("completion")
                if self._engine is not None:
                    self._engine.settings = settings.completion
            if settings.index != old.index or settings.cache_dir != old.cache_dir:
                changed.append("index")
                self._close_qa()
                if self._index is not None:
                    self._index.close()
                self._index = None
                self._engine = None
            elif settings.chat != old.chat or settings.embeddings != old.embeddings:
                changed.append("chat")
                self._close_qa()
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

    def _close_qa(self) -> None:
        if self._qa is not None:
            self._qa.close(wait_s=1.0)
            self._qa = None

    def close(self) -> None:
        with self._lock:
            self._close_qa()
            if self._index is not None:
                self._index.close()
                self._index = None
            self._engine = None

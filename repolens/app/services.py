"""The use cases of one opened repository, built once and shared by whichever front door
opened it (the language server per workspace folder, ``repolens serve``, a CLI command).

:class:`Services` wraps the :class:`~repolens.workspace.Workspace` (settings, index, model
handles) and owns what is built on it: the completion engine and the Q&A engine, and the
services that run them (:class:`~repolens.app.completions.CompletionService`,
:class:`~repolens.app.questions.QuestionService`, :class:`~repolens.app.indexing.Indexing`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..workspace import Workspace
from .completions import CompletionService
from .indexing import Indexing
from .questions import QuestionService

if TYPE_CHECKING:
    from ..chat.qa import QAEngine
    from ..completion.engine import CompletionEngine
    from ..completion.templates import TemplateChoice
    from ..settings import Settings

__all__ = ["Services"]

log = logging.getLogger(__name__)


class Services:
    """Completion, Q&A and indexing for one repository."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        run_cpu: Callable[[Callable[[], Any]], Awaitable[Any]] | None = None,
    ) -> None:
        self.workspace = workspace
        self._engine: CompletionEngine | None = None
        self._qa: QAEngine | None = None
        self._template: TemplateChoice | None = None
        self._lock = threading.RLock()
        self.completions = CompletionService(
            lambda: self.workspace.settings,
            self._completion_engine,
            lambda: workspace.root,
            run_cpu=run_cpu,
        )
        self.questions = QuestionService(self._qa_engine, lambda: self.workspace.index)
        self.indexing = Indexing(workspace, self.reindexed)

    @property
    def root(self) -> Any:
        return self.workspace.root

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    # -- engines ---------------------------------------------------------------------------

    @property
    def template(self) -> TemplateChoice:
        """The FIM template for the configured model (by name, or the settings' choice)."""
        with self._lock:
            if self._template is None:
                from ..completion.templates import choose_template

                ws = self.workspace
                name = ws.settings.model.model or ws.model_info.name
                self._template = choose_template(ws.settings.model.template, name)
                if self._template.warning:
                    log.warning("%s", self._template.warning)
            return self._template

    @property
    def engine(self) -> CompletionEngine:
        """The completion engine (blocking: loads or contacts the model the first time)."""
        return self._completion_engine()

    def _completion_engine(self) -> CompletionEngine:
        with self._lock:
            if self._engine is None:
                from ..completion.engine import CompletionEngine

                ws = self.workspace
                info = ws.model_info
                engine = CompletionEngine(
                    ws.index,
                    ws.settings.completion,
                    ws.tokenizer,
                    self.template.template,
                    model=ws.model,
                    context_window=info.context_window,
                    repo_name=ws.root.name,
                    recent_files=self.completions.recent,  # the same list, kept up to date
                )
                self._engine = engine
            return self._engine

    @property
    def qa(self) -> QAEngine:
        """The repository Q&A engine, shared: its search state and vectors are built once."""
        return self._qa_engine()

    def _qa_engine(self) -> QAEngine:
        with self._lock:
            if self._qa is None:
                from ..chat.qa import QAEngine

                self._qa = QAEngine(self.workspace)
            return self._qa

    # -- changes ---------------------------------------------------------------------------

    def reindexed(self) -> None:
        """Tell the parts that keep derived state that the index changed."""
        qa = self._qa
        vectors = getattr(qa, "vectors", None) if qa is not None else None
        if vectors is not None:
            vectors.notify()

    def reconfigure(self, settings: Settings) -> list[str]:
        """Apply new settings; returns the parts that changed ("model", "completion", ...)."""
        with self._lock:
            old = self.workspace.settings
            if (
                settings.model != old.model
                or settings.index != old.index
                or settings.cache_dir != old.cache_dir
                or settings.chat != old.chat
                or settings.embeddings != old.embeddings
            ):
                self._close_qa()  # before the index it reads is closed
            changed = self.workspace.reconfigure(settings)
            if "model" in changed:
                self._template = None
                self._engine = None
                self.completions.health.reset()
            elif "completion" in changed and self._engine is not None:
                self._engine.settings = settings.completion
            if "index" in changed:
                self._engine = None
            if self._engine is None:
                self.completions.ready_engine = None
            return changed

    def _close_qa(self) -> None:
        if self._qa is not None:
            self._qa.close(wait_s=1.0)
            self._qa = None

    def close(self) -> None:
        with self._lock:
            self._close_qa()
            self._engine = None
            self.completions.ready_engine = None
            self.workspace.close()

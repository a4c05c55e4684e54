"""Answers through ``QuestionService.ask`` with the real bundled SmolLM2 (short answers): the
event stream, its cancellation, the budget a real answer gets, and token counts kept between
processes."""

from __future__ import annotations

import pytest

from repolens.app import Answered, Piece, QuestionService, Retrieved
from repolens.backends.base import CancelToken
from repolens.chat.qa import QAEngine
from repolens.settings import Settings

from .conftest import WorkspaceFactory

pytestmark = [pytest.mark.model, pytest.mark.e2e]


@pytest.fixture
def engine(workspace: WorkspaceFactory) -> QAEngine:
    settings = Settings.model_validate(
        {"model": {"threads": 1}, "chat": {"answer_tokens": 16, "temperature": 0}}
    )
    return QAEngine(workspace("python_app", settings), background_vectors=False)


def _service(engine: QAEngine) -> QuestionService:
    return QuestionService(lambda: engine, lambda: engine.index)


async def test_answer_streams_and_the_budget_fits_the_window(engine: QAEngine) -> None:
    window = engine.ws.model_info.context_window
    assert engine.default_budget() == window - 16
    # more than the window leaves is lowered to what it leaves
    assert engine.answer_budget(10 * window) == window - 16
    assert engine.answer_budget(600) == 600
    events = [e async for e in _service(engine).ask("What does send_welcome return?", budget=600)]
    first, *pieces, last = events
    assert isinstance(first, Retrieved) and first.context.prompt_tokens <= 600
    assert first.sources and all(s.path and s.start_line >= 1 for s in first.sources)
    assert pieces and all(isinstance(p, Piece) for p in pieces)
    assert isinstance(last, Answered) and not last.cancelled
    assert last.answer == "".join(p.text for p in pieces) and last.answer.strip()  # type: ignore[union-attr]


async def test_ask_streams_and_stops_when_cancelled(engine: QAEngine) -> None:
    cancel = CancelToken()
    pieces = []
    async for event in _service(engine).ask("How is a user's role checked?", cancel=cancel):
        if isinstance(event, Piece):
            pieces.append(event.text)
            cancel.cancel()
        elif isinstance(event, Answered):
            assert event.cancelled and event.answer == pieces[0]
    assert len(pieces) == 1


def test_token_counts_outlive_the_process(engine: QAEngine) -> None:
    ctx = engine.retrieve("How is the welcome mail composed?", 1024)
    engine.close()
    again = QAEngine(engine.ws, background_vectors=False)
    counter = again.count
    saved = len(counter._counts.cache)
    assert saved > 0
    calls = counter.counted_chars
    assert again.retrieve("How is the welcome mail composed?", 1024).snippets == ctx.snippets
    assert counter.counted_chars == calls  # every count came from the saved file

"""``QAEngine.answer`` / ``aanswer`` with the real bundled SmolLM2 (short answers), its
cancellation, the budget a real answer gets, and token counts kept between processes."""

from __future__ import annotations

import pytest

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


def test_answer_streams_and_the_budget_fits_the_window(engine: QAEngine) -> None:
    window = engine.ws.model_info.context_window
    assert engine.default_budget() == window - 16
    # more than the window leaves is lowered to what it leaves
    assert engine.answer_budget(10 * window) == window - 16
    assert engine.answer_budget(600) == 600
    pieces = list(engine.answer("What does send_welcome return?", budget=600))
    assert pieces and "".join(pieces).strip()


async def test_aanswer_streams_and_stops_when_cancelled(engine: QAEngine) -> None:
    cancel = CancelToken()
    pieces = []
    async for piece in engine.aanswer("How is a user's role checked?", 600, cancel):
        pieces.append(piece)
        cancel.cancel()
    assert len(pieces) == 1


def test_token_counts_outlive_the_process(engine: QAEngine) -> None:
    ctx = engine.retrieve("How is the welcome mail composed?", 1024)
    engine.close()
    again = QAEngine(engine.ws, background_vectors=False)
    counter = again.count
    saved = len(counter._cache)
    assert saved > 0
    calls = counter.counted_chars
    assert again.retrieve("How is the welcome mail composed?", 1024).snippets == ctx.snippets
    assert counter.counted_chars == calls  # every count came from the saved file

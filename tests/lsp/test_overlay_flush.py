"""flush_overlays waits for overlay updates another flush took and is still applying: the race
behind a CI failure (a function typed in another tab missing from the context)."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

from repolens.lsp.documents import Document, Documents
from repolens.lsp.sync import flush_overlays


class _Index:
    def __init__(self) -> None:
        self.overlays: dict[str, str] = {}
        self.release = threading.Event()

    def overlay_facts(self, rel: str) -> None:
        return None

    def text(self, rel: str) -> None:
        return None

    def set_overlay(self, rel: str, text: str) -> None:
        self.release.wait(10)  # a slow parse
        self.overlays[rel] = text


async def test_a_second_flush_waits_for_the_first_ones_apply() -> None:
    index = _Index()
    folder: Any = SimpleNamespace(
        workspace=SimpleNamespace(index=index),
        settings=SimpleNamespace(index=SimpleNamespace(max_file_bytes=1_000_000)),
    )
    documents = Documents()
    documents.put(Document(uri="file:///r/a.py", text="def f(): ...\n", folder=folder, rel="a.py"))

    async def run_cpu(fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    ls: Any = SimpleNamespace(documents=documents, run_cpu=run_cpu)
    first = asyncio.ensure_future(flush_overlays(ls, folder))  # takes a.py, applies slowly
    await asyncio.sleep(0.05)
    second = asyncio.ensure_future(flush_overlays(ls, folder))  # nothing dirty left
    await asyncio.sleep(0.1)
    assert not second.done()  # it used to return at once, before a.py was in the index
    index.release.set()
    assert await second is False and await first is True
    assert index.overlays == {"a.py": "def f(): ...\n"}
    assert not documents.applying

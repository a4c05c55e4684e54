"""``textDocument/completion``: the fallback for clients without inline completion.

Neovim 0.7 and older editors only know the completion list. They get one item carrying the
whole (possibly multi-line) suggestion. Its ``textEdit`` replaces the identifier being typed
(from its start to the cursor) with that identifier plus the suggestion, because clients
filter and replace by the word before the cursor (Neovim's omnifunc keeps only items whose
text starts with it). Clients that announced inline completion never get this provider
(see lifecycle.py), so the suggestion is not shown twice.
"""

from __future__ import annotations

from lsprotocol import types

from .inline_completion import suggest
from .server import RepolensServer

__all__ = ["completion_item", "register"]

_LABEL_CHARS = 60


def completion_item(word: str, text: str, edit_range: types.Range) -> types.CompletionItem:
    """The one item: label = the suggestion's first line, inserted text = all of it."""
    first = (word + text).split("\n", 1)[0].strip() or (word + text).strip()
    label = first if len(first) <= _LABEL_CHARS else first[: _LABEL_CHARS - 1] + "…"
    new_text = word + text
    return types.CompletionItem(
        label=label,
        kind=types.CompletionItemKind.Text,
        detail="repolens",
        documentation=types.MarkupContent(kind=types.MarkupKind.PlainText, value=new_text),
        filter_text=new_text,
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=edit_range, new_text=new_text),
        sort_text="0",
        preselect=True,
    )


def register(server: RepolensServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())
    async def completion(
        ls: RepolensServer, params: types.CompletionParams
    ) -> types.CompletionList:
        context = params.context
        invoked = context is None or context.trigger_kind == types.CompletionTriggerKind.Invoked
        found = await suggest(ls, params.text_document.uri, params.position, invoked=invoked)
        if found is None:
            return types.CompletionList(is_incomplete=True, items=[])
        edit_range = types.Range(start=found.word_start, end=found.position)
        item = completion_item(found.word, found.text, edit_range)
        # incomplete: the next keystroke asks again (the suggestion depends on every character)
        return types.CompletionList(is_incomplete=True, items=[item])

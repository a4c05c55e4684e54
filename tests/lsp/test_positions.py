"""UTF-16/UTF-8/UTF-32 code units <-> characters, LSP line ends, ranges as whole lines."""

from __future__ import annotations

import pytest
from lsprotocol import types

from repolens.lsp.documents import Document
from repolens.lsp.positions import (
    UTF8,
    UTF16,
    UTF32,
    line_starts,
    normalize_newlines,
    offset_at,
    preferred_encoding,
    range_to_lines,
    split_lines,
    to_character,
    to_column,
    word_start,
)

LINE = 'x = "😋é" + y'  # an astral character (2 UTF-16 units, 4 UTF-8 bytes), a 2-byte é


@pytest.mark.parametrize(
    ("encoding", "character", "column"),
    [
        (UTF16, 5, 5),  # x = "😋 -> before the emoji
        (UTF16, 7, 6),  # after the emoji (2 units)
        (UTF16, 6, 5),  # inside the surrogate pair: rounds down to the emoji
        (UTF16, 8, 7),  # after é
        (UTF32, 7, 7),
        (UTF8, 9, 6),  # 5 ASCII bytes + 4 for the emoji
        (UTF8, 11, 7),  # + 2 for é
        (UTF8, 10, 6),  # inside é
        (UTF16, 999, len(LINE)),  # past the end clamps
        (UTF16, 0, 0),
    ],
)
def test_to_column(encoding: str, character: int, column: int) -> None:
    assert to_column(LINE, character, encoding) == column


@pytest.mark.parametrize("encoding", [UTF8, UTF16, UTF32])
def test_round_trip(encoding: str) -> None:
    for column in range(len(LINE) + 1):
        assert to_column(LINE, to_character(LINE, column, encoding), encoding) == column


def test_ascii_lines_need_no_conversion() -> None:
    assert to_character("abc", 2, UTF16) == 2
    assert to_column("abc", 2, UTF8) == 2


def test_preferred_encoding() -> None:
    assert preferred_encoding(["utf-16", "utf-32"]) == UTF32
    assert preferred_encoding(["utf-8", "utf-16"]) == UTF8
    assert preferred_encoding(["latin-1"]) == UTF16
    assert preferred_encoding(None) == UTF16


def test_lines_end_at_every_lsp_line_end() -> None:
    text = "a\r\nb\rc\nd"
    assert split_lines(text) == ["a", "b", "c", "d"]
    assert normalize_newlines(text) == "a\nb\nc\nd"
    assert normalize_newlines("plain\n") == "plain\n"
    # a form feed or U+2028 is no line end in LSP (str.splitlines thinks it is)
    assert split_lines("a\x0cb\u2028c\nd") == ["a\x0cb\u2028c", "d"]
    starts = line_starts(text)
    assert starts == [0, 3, 5, 7]
    assert offset_at(text, starts, 1, 1) == 4
    assert offset_at(text, starts, 9, 0) == len(text)
    assert offset_at(text, starts, 0, 99) == 1  # clamped to the line end, before \r\n


def test_incremental_changes_in_utf16() -> None:
    doc = Document("file:///x.py", "def f():\n    return 😋 + 1\n")

    def edit(sl: int, sc: int, el: int, ec: int, text: str) -> None:
        change = types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(sl, sc), types.Position(el, ec)), text=text
        )
        doc.apply(change, UTF16)

    edit(1, 11, 1, 13, "x")  # replace the emoji (2 UTF-16 units)
    assert doc.text == "def f():\n    return x + 1\n"
    edit(1, 15, 1, 16, "2\n    # done")  # a change that adds a line
    assert doc.text == "def f():\n    return x + 2\n    # done\n"
    assert doc.line(2) == "    # done"
    edit(3, 0, 3, 0, "f()\n")  # at the very end
    assert doc.text.endswith("# done\nf()\n")
    doc.apply(types.TextDocumentContentChangeWholeDocument(text="new"), UTF16)
    assert doc.text == "new" and doc.line(0) == "new" and doc.line(5) == ""


def test_word_start() -> None:
    assert word_start("    return user.dis") == len("    return user.")
    assert word_start("x = (") == len("x = (")
    assert word_start("$el") == 0


@pytest.mark.parametrize(
    ("start", "end", "end_char", "lines"),
    [
        (0, 0, 5, (1, 1)),
        (2, 5, 0, (3, 5)),  # ends at column 0 of line 5 (0-based): line 6 is not selected
        (2, 5, 3, (3, 6)),
        (4, 4, 0, (5, 5)),  # an empty selection still means its line
    ],
)
def test_range_to_lines(start: int, end: int, end_char: int, lines: tuple[int, int]) -> None:
    got = range_to_lines(start, end, end_char)
    assert (got.start_line, got.end_line) == lines

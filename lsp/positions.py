"""LSP positions <-> repolens positions.

LSP counts a position's ``character`` in code units of the negotiated ``positionEncoding``:
UTF-16 unless the client offered another (``general.positionEncodings``); repolens counts
*characters* (code points), 1-based, like the CLI. Lines end at ``\\n``, ``\\r\\n`` or ``\\r``
in LSP; the completion engine splits on ``\\n`` only, so a buffer with other line ends is
normalized before it is handed over (line numbers stay the same).

Pure functions; the document store and the handlers use them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "UTF8",
    "UTF16",
    "UTF32",
    "LineRange",
    "line_starts",
    "normalize_newlines",
    "offset_at",
    "preferred_encoding",
    "range_to_lines",
    "split_lines",
    "to_character",
    "to_column",
    "word_start",
]

UTF8 = "utf-8"
UTF16 = "utf-16"
UTF32 = "utf-32"

_NEWLINE = re.compile(r"\r\n|\r|\n")
_WORD_TAIL = re.compile(r"[\w$]*$")


def preferred_encoding(offered: Sequence[str] | None) -> str:
    """The encoding to answer with: UTF-32 (characters, no conversion) when offered, else the
    client's first known choice, else UTF-16 (the protocol's default)."""
    offered = [str(e) for e in (offered or [])]
    if UTF32 in offered:
        return UTF32
    for encoding in offered:
        if encoding in (UTF8, UTF16):
            return encoding
    return UTF16


def _units(ch: str, encoding: str) -> int:
    if encoding == UTF32:
        return 1
    code = ord(ch)
    if encoding == UTF8:
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 2 if code >= 0x10000 else 1


def to_column(line: str, character: int, encoding: str = UTF16) -> int:
    """The 0-based character index in ``line`` (no line end) for a client ``character``.

    Past the end of the line clamps to its end (as the protocol says); a position inside a
    character (half a surrogate pair, a byte inside a UTF-8 sequence) rounds down to it.
    """
    if character <= 0:
        return 0
    if encoding == UTF32 or (encoding == UTF16 and line.isascii()):
        return min(character, len(line))
    units = 0
    for index, ch in enumerate(line):
        units += _units(ch, encoding)
        if units == character:
            return index + 1
        if units > character:
            return index
    return len(line)


def to_character(line: str, column: int, encoding: str = UTF16) -> int:
    """The client ``character`` for a 0-based character index ``column`` in ``line``."""
    column = max(0, min(column, len(line)))
    if encoding == UTF32 or line.isascii():
        return column
    return sum(_units(ch, encoding) for ch in line[:column])


def split_lines(text: str) -> list[str]:
    """Lines as LSP counts them (``\\n``, ``\\r\\n`` and ``\\r`` end a line), without ends."""
    return _NEWLINE.split(text)


def normalize_newlines(text: str) -> str:
    """``text`` with every line end as ``\\n`` (a no-op for most buffers)."""
    if "\r" not in text:
        return text
    return _NEWLINE.sub("\n", text)


def line_starts(text: str) -> list[int]:
    """Offsets (in characters) where each LSP line of ``text`` starts."""
    starts = [0]
    starts.extend(m.end() for m in _NEWLINE.finditer(text))
    # "\r\n" split across nothing: finditer already prefers \r\n over \r
    return starts


def offset_at(
    text: str, starts: Sequence[int], line: int, character: int, encoding: str = UTF16
) -> int:
    """The offset in ``text`` of an LSP position (clamped into the text)."""
    if line < 0:
        return 0
    if line >= len(starts):
        return len(text)
    begin = starts[line]
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    body = text[begin:end]
    if body.endswith("\r\n"):
        body = body[:-2]
    elif body.endswith(("\n", "\r")):
        body = body[:-1]
    return begin + to_column(body, character, encoding)


def word_start(line_before: str) -> int:
    """Where the identifier the cursor is in starts (0-based), for clients that replace it."""
    match = _WORD_TAIL.search(line_before)
    return match.start() if match else len(line_before)


@dataclass(frozen=True, slots=True)
class LineRange:
    """1-based inclusive lines, the shape the chat actions take."""

    start_line: int
    end_line: int


def range_to_lines(start_line: int, end_line: int, end_character: int) -> LineRange:
    """An LSP range (0-based lines) as whole 1-based lines.

    A selection that ends at column 0 of a later line does not include that line.
    """
    first = max(start_line, 0) + 1
    last = max(end_line, 0) + 1
    if end_character == 0 and end_line > start_line:
        last -= 1
    return LineRange(first, max(first, last))

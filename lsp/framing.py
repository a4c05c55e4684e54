"""The LSP base protocol's framing: a header block, then that many bytes of JSON.

A header block is ``Name: value`` lines ended by an empty line; the specification knows two
names, ``Content-Length`` (required, the body's size in bytes) and ``Content-Type``, and header
names are case-insensitive. pygls' own reader matches ``Content-Length: (\\d+)`` exactly and
skips every other line, so ``Content-Length: abc`` made it read the next message's header as
part of a body (two requests lost without a word), a lower-case header was never seen, and a
length of a terabyte made it wait for ever. :class:`FrameReader` reads frames itself and says
what went wrong:

- :class:`BadHeader`: the block is readable but gives no usable length (not a number, none,
  two that differ), or a line is no header at all. The caller reports it (a ParseError with a
  null id) and reads on: the reader first skips to the next ``Content-Length: N`` line. That
  line cannot occur inside a JSON body, since a JSON string holds no raw line break and
  outside strings ``Content-Length`` is no JSON, so the frame it starts is the next message
  the client sent (the broken one is lost: its id is unknowable).
- :class:`FramingError`: reading on is impossible or pointless: a body beyond
  :data:`MAX_MESSAGE_BYTES` (the connection is closed before a byte of it is awaited), a header
  line longer than :data:`MAX_HEADER_LINE_BYTES`, the stream ending inside a message, or, with
  ``strict=True`` (TCP), any line that is not one of the two LSP headers: an HTTP request line
  (``POST / HTTP/1.1``) or header (``Host:``, ``Origin:``) is refused at its first bytes.

On stdio (``strict=False``) a well-formed header with another name is skipped, as pygls did:
the editor started the server and may add headers of its own.
"""

from __future__ import annotations

import re
from typing import Protocol

__all__ = [
    "MAX_HEADER_LINE_BYTES",
    "MAX_MESSAGE_BYTES",
    "BadHeader",
    "ByteSource",
    "FrameReader",
    "FramingError",
    "NotLsp",
]

#: Largest message body accepted; a longer announced length closes the connection.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: Longest header line accepted (real ones are under 100 bytes).
MAX_HEADER_LINE_BYTES = 64 * 1024

_CHUNK = 64 * 1024
_MiB = 1024 * 1024

#: A header field name (an RFC 7230 token) and its colon.
_NAME = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]*")
#: Where the next frame starts after a broken one.
_NEXT_FRAME = re.compile(rb"content-length[ \t]*:[ \t]*[0-9]+[ \t]*\r?\n", re.IGNORECASE)
_LENGTH = re.compile(rb"[0-9]{1,20}")
_KNOWN = (b"content-length", b"content-type")


class ByteSource(Protocol):
    """Where the bytes come from: ``read(n)`` returns up to ``n`` bytes, ``b""`` at the end
    (``asyncio.StreamReader`` is one)."""

    async def read(self, n: int) -> bytes: ...


class FramingError(Exception):
    """The stream cannot be read on; the connection should be closed."""


class NotLsp(FramingError):
    """A line no LSP client sends (``strict`` mode): HTTP, or anything else."""


class BadHeader(Exception):
    """A header block without a usable length; the next :meth:`FrameReader.read` resyncs."""


class FrameReader:
    """Message bodies from a byte stream, one :meth:`read` at a time."""

    def __init__(
        self,
        source: ByteSource,
        *,
        strict: bool = False,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.source = source
        self.strict = strict
        self.max_message_bytes = max_message_bytes
        self._buffer = bytearray()
        self._eof = False
        self._resync = False

    async def read(self) -> bytes | None:
        """The next message body, or None when the stream ends between messages.

        Raises :class:`BadHeader` (read on: the next call finds the next frame) or
        :class:`FramingError` (close).
        """
        if self._resync:
            self._resync = False
            if not await self._skip_to_next_frame():
                return None
        length = await self._header()
        if length is None:
            return None
        while len(self._buffer) < length:
            if not await self._fill(length - len(self._buffer)):
                raise FramingError(
                    f"the stream ended inside a message ({len(self._buffer)} of {length} bytes)"
                )
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        return body

    # -- headers ------------------------------------------------------------------------------

    async def _header(self) -> int | None:
        """The body length of the next header block (None: the stream ended before one)."""
        lengths: list[bytes] = []
        first = True
        while True:
            line = await self._line(at_start=first)
            if line is None:
                return None  # only at the start of a block
            if not line:
                if first:
                    continue  # a stray line end between messages
                return self._length(lengths)  # the empty line: the block is complete
            first = False
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                lengths.append(value.strip())
            elif key in _KNOWN:
                continue
            elif self.strict:
                raise NotLsp(f"not an LSP header: {_show(line)}")
            # stdio: a header of the client's own, skipped

    def _length(self, values: list[bytes]) -> int:
        if not values:
            self._resync = True
            raise BadHeader("a message header without Content-Length; skipped to the next one")
        if len(set(values)) > 1:
            self._resync = True
            shown = ", ".join(_show(v) for v in values)
            raise BadHeader(f"two different Content-Length values ({shown}); skipped the message")
        value = values[0]
        if not _LENGTH.fullmatch(value):
            self._resync = True
            raise BadHeader(
                f"Content-Length {_show(value)} is not a number of bytes; skipped the message"
            )
        length = int(value)
        if length > self.max_message_bytes:
            raise FramingError(
                f"the client announced a message of {length} bytes, more than the "
                f"{self.max_message_bytes // _MiB} MiB limit"
            )
        return length

    async def _line(self, *, at_start: bool) -> bytes | None:
        """The next header line without its line end (None: the stream ended first)."""
        scanned = 0
        while True:
            end = self._buffer.find(b"\n", scanned)
            if end >= 0:
                line = bytes(self._buffer[:end]).rstrip(b"\r")
                self._check_start(line, complete=True)
                del self._buffer[: end + 1]
                return line
            self._check_start(bytes(self._buffer), complete=False)
            if len(self._buffer) > MAX_HEADER_LINE_BYTES:
                raise FramingError(
                    f"a header line longer than {MAX_HEADER_LINE_BYTES // 1024} KiB: "
                    f"{_show(bytes(self._buffer[:60]))}..."
                )
            scanned = len(self._buffer)
            if not await self._fill(_CHUNK):
                if not self._buffer and at_start:
                    return None
                raise FramingError("the stream ended inside a message header")

    def _check_start(self, line: bytes, *, complete: bool) -> None:
        """Refuse a line as soon as its first bytes show it is no ``Name: value`` header."""
        if complete and not line:
            return  # the empty line ends the block
        name_end = _NAME.match(line)
        assert name_end is not None  # the pattern matches the empty string
        end = name_end.end()
        if end == len(line) and not complete:
            return  # still a name: wait for more
        if end > 0 and end < len(line) and line[end : end + 1] == b":":
            if self.strict and line[:end].lower() not in _KNOWN:
                raise NotLsp(f"not an LSP header: {_show(line)}")
            return
        # no name and a colon: HTTP's request line, a body where a header should be
        if self.strict:
            raise NotLsp(f"not an LSP header: {_show(line)}")
        self._resync = True
        raise BadHeader(f"not a message header: {_show(line)}; skipped to the next message")

    # -- bytes --------------------------------------------------------------------------------

    async def _fill(self, want: int) -> bool:
        """Read more into the buffer; False at the end of the stream."""
        if self._eof:
            return False
        chunk = await self.source.read(max(want, _CHUNK))
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    async def _skip_to_next_frame(self) -> bool:
        """Drop bytes up to the next ``Content-Length: N`` line; False if the stream ends."""
        dropped = 0
        while True:
            found = _NEXT_FRAME.search(self._buffer)
            if found is not None:
                del self._buffer[: found.start()]
                return True
            keep = 64  # a header cut in two by a read
            if len(self._buffer) > keep:
                dropped += len(self._buffer) - keep
                del self._buffer[:-keep]
            if dropped > self.max_message_bytes:
                raise FramingError(
                    f"no message header in the {self.max_message_bytes // _MiB} MiB after a "
                    "broken one"
                )
            if not await self._fill(_CHUNK):
                return False


def _show(data: bytes, limit: int = 60) -> str:
    text = repr(data[:limit])[1:]  # b'...' -> '...'
    return text if len(data) <= limit else text[:-1] + "...'"

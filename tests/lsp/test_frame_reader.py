"""FrameReader on an in-memory stream: what each kind of broken framing gives (no process)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from repolens.lsp.framing import BadHeader, FrameReader, FramingError, NotLsp


def _source(data: bytes, *, eof: bool = True) -> asyncio.StreamReader:
    stream = asyncio.StreamReader()
    stream.feed_data(data)
    if eof:
        stream.feed_eof()
    return stream


def _frame(obj: object) -> bytes:
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_all(data: bytes, **options: Any) -> list[Any]:
    """Every body (parsed when it is JSON) and every BadHeader, up to the end of the stream."""

    async def go() -> list[Any]:
        frames = FrameReader(_source(data), **options)
        out: list[Any] = []
        while True:
            try:
                body = await frames.read()
            except BadHeader as exc:
                out.append(exc)
                continue
            if body is None:
                return out
            try:
                out.append(json.loads(body))
            except ValueError:
                out.append(body)

    return asyncio.run(go())


def reads(data: bytes, *, eof: bool = True, times: int = 1, **options: Any) -> None:
    """Read ``times`` frames from ``data`` (a stream left open unless ``eof``), 2 s at most."""

    async def go() -> None:
        frames = FrameReader(_source(data, eof=eof), **options)
        for _ in range(times):
            try:
                await frames.read()
            except BadHeader:
                continue

    asyncio.run(asyncio.wait_for(go(), 2))


def test_frames_in_a_row_with_the_headers_the_spec_allows() -> None:
    body = b'{"id": 2}'
    data = (
        _frame({"id": 1})
        + b"\r\n"  # a stray line end between messages
        + b"content-type: application/vscode-jsonrpc; charset=utf-8\r\n"
        + b"CONTENT-LENGTH:%d\n\n" % len(body)  # any case, bare line feeds
        + body
    )
    for strict in (False, True):
        assert read_all(data, strict=strict) == [{"id": 1}, {"id": 2}]


def test_a_bad_length_resyncs_at_the_next_frame() -> None:
    data = b"Content-Length: abc\r\n\r\n" + b'{"id": 1}' + _frame({"id": 2}) + _frame({"id": 3})
    result = read_all(data)
    assert isinstance(result[0], BadHeader)
    assert result[1:] == [{"id": 2}, {"id": 3}]


def test_a_too_short_length_loses_one_message_only() -> None:
    # the rest of the body sits where a header should be: found as garbage, skipped
    data = b'Content-Length: 4\r\n\r\n{"id": 1}' + _frame({"id": 2})
    result = read_all(data)
    assert result[0] == b'{"id'  # the 4 bytes are the (broken) first body
    assert isinstance(result[1], BadHeader)
    assert result[2:] == [{"id": 2}]


def test_content_length_inside_a_json_string_is_no_frame() -> None:
    lost = json.dumps({"text": "Content-Length: 5\\r\\n\\r\\nhello"}).encode()
    data = b"Content-Length: x\r\n\r\n" + lost + _frame({"id": 2})
    result = read_all(data)
    assert isinstance(result[0], BadHeader)
    assert result[1:] == [{"id": 2}]


@pytest.mark.parametrize(
    "first",
    [b"POST / HTTP/1.1\r\n", b"GET /", b"Host: 127.0.0.1\r\n", b'{"jsonrpc"'],
    ids=["request-line", "request-line-unfinished", "http-header", "body-first"],
)
def test_strict_mode_refuses_anything_else_at_its_first_bytes(first: bytes) -> None:
    # no line end needed, and no end of stream: the first bytes decide
    with pytest.raises(NotLsp):
        reads(first, eof=False, strict=True)


def test_strict_mode_refuses_an_unknown_header_after_content_length() -> None:
    with pytest.raises(NotLsp):
        reads(b"Content-Length: 2\r\nOrigin: x\r\n\r\n{}", strict=True)


def test_lenient_mode_skips_an_unknown_header() -> None:
    data = b"X-Editor: 1\r\nContent-Length: 2\r\n\r\n{}"
    assert read_all(data) == [{}]


def test_a_huge_length_fails_before_any_body_arrives() -> None:
    with pytest.raises(FramingError, match="64 MiB"):
        reads(b"Content-Length: 1000000000000\r\n\r\n", eof=False)


def test_the_limit_is_the_readers() -> None:
    with pytest.raises(FramingError):
        reads(_frame({"text": "x" * 100}), max_message_bytes=50)


def test_an_endless_header_line_fails() -> None:
    with pytest.raises(FramingError, match="header line"):
        reads(b"Content-Length: " + b"1" * (70 * 1024), eof=False)


def test_the_end_of_the_stream() -> None:
    assert read_all(b"") == []
    with pytest.raises(FramingError, match="inside a message"):
        reads(b"Content-Length: 10\r\n\r\n{}")
    with pytest.raises(FramingError, match="header"):
        reads(b"Content-Length: 10\r\n")


def test_resync_gives_up_after_the_limit() -> None:
    junk = b"Content-Length: ?\r\n\r\n" + b"x" * 5000
    with pytest.raises(FramingError, match="no message header"):
        reads(junk, eof=False, times=2, max_message_bytes=1000)

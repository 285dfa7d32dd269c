"""What a misbehaving server does to an upstream call, over a real socket: each way of
failing below HTTP becomes the `sources.errors` class that says what to do, and a good
answer after a bad one is read as usual (the pool drops the broken connection)."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from sources.config import BreakerPolicy, RetryPolicy, SourceSettings, Timeouts
from sources.errors import SourceError, SourceTimeout, SourceUnavailable
from sources.http import SourceClient
from sources.records import SourceSystem

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok": 42}\n'


@asynccontextmanager
async def server(answer: Answer) -> AsyncIterator[str]:
    """A loopback server that reads one request head per connection and runs `answer`."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    listening = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield f"http://127.0.0.1:{port}"


def client(base_url: str) -> SourceClient:
    return SourceClient(
        SourceSystem.PSA,
        SourceSettings(
            base_url=base_url,
            timeouts=Timeouts(connect=0.5, read=0.5, total=2.0),
            retry=RetryPolicy(attempts=1),
            breaker=BreakerPolicy(failure_threshold=100),
        ),
    )


async def failure_of(answer: Answer) -> SourceError:
    async with server(answer) as url:
        http = client(url)
        try:
            with pytest.raises(SourceError) as raised:
                await http.json("GET", "/things")
        finally:
            await http.aclose()
    return raised.value


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    pass  # closes without a byte


async def not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    await writer.drain()


async def short_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"ok":')
    await writer.drain()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(5)


async def stalls_mid_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"ok":')
    await writer.drain()
    await asyncio.sleep(5)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(hang_up, SourceUnavailable, id="hangs-up"),
        pytest.param(not_http, SourceUnavailable, id="not-http"),
        pytest.param(short_body, SourceUnavailable, id="body-cut-short"),
        pytest.param(silent, SourceTimeout, id="never-answers"),
        pytest.param(stalls_mid_body, SourceTimeout, id="stalls-mid-body"),
    ],
)
async def test_a_server_failing_below_http_is_a_retriable_source_error(
    answer: Answer, expected: type[SourceError]
) -> None:
    error = await failure_of(answer)

    assert type(error) is expected, repr(error)
    assert error.retriable
    assert error.system is SourceSystem.PSA


async def test_a_closed_port_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        http = client(f"http://127.0.0.1:{port}")
        try:
            with pytest.raises(SourceUnavailable):
                await http.json("GET", "/things")
        finally:
            await http.aclose()


async def test_a_connection_the_server_closed_after_answering_is_not_reused() -> None:
    # One answer per connection, then the server closes it (no "Connection: close"): the
    # pool's idle connection is dead when the next call comes.
    async with server(ok) as url:
        http = client(url)
        try:
            first = await http.json("GET", "/things")
            await asyncio.sleep(0.1)
            second = await http.json("GET", "/things")
        finally:
            await http.aclose()

    assert first == second == {"ok": 42}


async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(OK)
    await writer.drain()


def answering(head: bytes, body: bytes) -> Answer:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head + body)
        await writer.drain()

    return answer


def chunked(body: bytes, size: int) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


ITEMS = b'{"items": [' + b",".join(b'{"n": %d}' % n for n in range(500)) + b"]}"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(
            answering(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(ITEMS), ITEMS),
            id="plain",
        ),
        pytest.param(
            answering(
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
                % len(gzip.compress(ITEMS)),
                gzip.compress(ITEMS),
            ),
            id="gzip",
        ),
        pytest.param(
            answering(
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
                chunked(gzip.compress(ITEMS), 100),
            ),
            id="gzip-chunked",
        ),
    ],
)
async def test_a_body_is_read_as_its_content_encoding_says(answer: Answer) -> None:
    async with server(answer) as url:
        http = client(url)
        try:
            body = await http.json("GET", "/things")
        finally:
            await http.aclose()

    assert body == json.loads(ITEMS)


async def test_a_body_that_is_not_the_gzip_it_claims_is_a_data_error_not_a_crash() -> None:
    garbled = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\n"
    error = await failure_of(answering(garbled, b"not gzip!"))

    assert error.system is SourceSystem.PSA
    assert "decod" in str(error).lower() or "gzip" in str(error).lower(), repr(error)

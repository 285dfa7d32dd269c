"""httpx's API over aiohttp's connection pool, with every aiohttp failure raised as the
httpx exception it means.

Why: under load, httpcore/h11/anyio cost more gateway CPU per upstream call than anything
else the gateway does for a simple query (profiled; docs/architecture.md, "Sources").
aiohttp parses HTTP in C. `httpx_aiohttp` does the translation of requests and
responses; its table of exceptions leaves some aiohttp failures loose (a server that
hangs up, a malformed answer, a total timeout) and reports a dropped connection as a
connect timeout, so the table here decides instead, and the body is read in one piece.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport as _AiohttpTransport

# Most specific first: the first class an aiohttp exception is an instance of decides.
_TABLE: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (TimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientOSError, httpx.NetworkError),
    (aiohttp.ClientError, httpx.NetworkError),
)


def _mapped(error: BaseException) -> httpx.TransportError | None:
    for aiohttp_class, httpx_class in _TABLE:
        if isinstance(error, aiohttp_class):
            return httpx_class(f"{type(error).__name__}: {error}")
    return None


@contextmanager
def httpx_errors() -> Iterator[None]:
    try:
        yield
    except httpx.TransportError as error:
        # httpx_aiohttp's own mapping ran first: decide again from the aiohttp original.
        mapped = _mapped(error.__cause__) if error.__cause__ is not None else None
        if mapped is None:
            raise
        raise mapped from error.__cause__
    except (aiohttp.ClientError, TimeoutError) as error:
        mapped = _mapped(error)
        assert mapped is not None  # ClientError and TimeoutError are rows of the table
        raise mapped from error


class _WholeBody(httpx.AsyncByteStream):
    """The response body read at once (our vendors' bodies are read whole anyway)."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with httpx_errors():
            body = await self._response.read()
        yield body

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(_AiohttpTransport):
    """`limits` as httpx's own transport takes them. The aiohttp session is made on the
    first request (inside the running loop) and keeps no cookies: httpx keeps those."""

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, client=lambda: self._session(limits))

    @staticmethod
    def _session(limits: httpx.Limits) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            keepalive_timeout=limits.keepalive_expiry or 15.0,
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with httpx_errors():
            response = await super().handle_async_request(request)
        stream = response.stream
        if isinstance(stream, httpx.AsyncByteStream) and hasattr(stream, "_aiohttp_response"):
            response.stream = _WholeBody(stream._aiohttp_response)
        return response

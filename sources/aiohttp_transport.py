"""httpx's API over aiohttp's connection pool, with every aiohttp failure raised as the
httpx exception it means.

Why: under load, httpcore/h11/anyio cost more gateway CPU per upstream call than anything
else the gateway does for a simple query (profiled; docs/architecture.md, "Sources").
aiohttp parses HTTP in C. The translation is done here rather than by a general adapter
(httpx-aiohttp, which this replaced): a request goes over as its method, URL, headers
and bytes, the body comes back read in one piece, and one table decides which httpx
exception each aiohttp failure is (a server that hangs up, a malformed answer, a total
timeout, a dropped connection rather than a connect timeout).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import httpx

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
    except (aiohttp.ClientError, TimeoutError) as error:
        mapped = _mapped(error)
        assert mapped is not None  # ClientError and TimeoutError are rows of the table
        raise mapped from error


class AiohttpTransport(httpx.AsyncBaseTransport):
    """`limits` as httpx's own transport takes them. The aiohttp session is made on the
    first request (inside the running loop) and keeps no cookies: httpx keeps those.

    The body is read whole before the response is handed back (our vendors' bodies are
    read whole anyway), so the connection is back in the pool by then."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None
        # httpx's trust store (certifi), as httpx's own transport would verify with.
        self._ssl = httpx.create_ssl_context()

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry or 15.0,
            ssl=self._ssl,
        )
        self._session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar()
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open()
        timeout = request.extensions.get("timeout", {})
        with httpx_errors():
            async with session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=request.content or None,
                allow_redirects=False,
                auto_decompress=False,  # httpx decodes, by the headers it is given
                compress=False,
                timeout=aiohttp.ClientTimeout(
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                    connect=timeout.get("pool"),
                ),
            ) as response:
                body = await response.read()
        reason = (response.reason or "").encode()
        # As content, not as a stream: httpx decodes it (by its Content-Encoding) once,
        # here, rather than through the async iterators `aread` would walk it with.
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            content=body,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

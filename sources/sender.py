"""What a source call needs of an HTTP client, and no more.

`httpx.AsyncClient` does work per request that no source call uses: it merges every URL
with the base URL through its parser, extracts cookies from every response (building
urllib request and response objects to do so), runs redirect and event-hook loops, and
logs. Profiled under load, that was ~17% of the gateway's CPU for a two-call query, more
than the aiohttp transport beneath it. `Sender` keeps httpx's public parts, the ones the
connectors and tests are written against: `httpx.Request` and `httpx.Response`, an
`httpx.Auth` flow, and any httpx transport (aiohttp's in service, a `MockTransport` in unit
tests). It follows no redirects and keeps no cookies, like the vendors' own clients.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

# As httpx's client asks by default: vendors may compress, and httpx decodes.
_DEFAULT_HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate"}

Query = tuple[tuple[str, Any], ...]


def query_of(params: Mapping[str, Any] | None) -> Query:
    """`params` as httpx's pairs (a list value repeats its key), hashable."""
    if not params:
        return ()
    return tuple(
        (name, item)
        for name, value in params.items()
        for item in (value if isinstance(value, list | tuple) else (value,))
    )


@functools.lru_cache(maxsize=1024)
def parsed_url(url: str, query: Query) -> httpx.URL:
    """httpx's URL for `url` and its query, parsed once: httpx parses (and validates the
    host of) every URL it is given, ~60 µs a call, and a page or report is asked for again
    and again with the same URL. `httpx.URL` is immutable, so one may serve every request."""
    parsed = httpx.URL(url)
    return parsed.copy_merge_params(list(query)) if query else parsed


class Sender:
    def __init__(
        self,
        base_url: str,
        transport: httpx.AsyncBaseTransport,
        *,
        auth: httpx.Auth | None,
        timeout: httpx.Timeout,
        headers: Mapping[str, str],
    ) -> None:
        self._base = base_url.rstrip("/")
        self._transport = transport
        self._auth = auth
        self._timeout = timeout.as_dict()
        self._headers = {**_DEFAULT_HEADERS, **headers}

    def url(self, url: str) -> str:
        """`url` under the base URL, as httpx's `base_url` places it; absolute ones as they are."""
        if url.startswith(("http://", "https://")):
            return url
        return f"{self._base}/{url.lstrip('/')}"

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The response, its body read; httpx's exceptions as the transport raises them."""
        merged: Any = self._headers
        if headers or json is not None:
            merged = httpx.Headers(self._headers)
            merged.update(headers or {})
        content = None
        if json is not None:
            # orjson: httpx's encoder (the standard library's) took ~2.5x as long.
            content = orjson.dumps(json, option=orjson.OPT_NON_STR_KEYS)
            merged.setdefault("Content-Type", "application/json")
        request = httpx.Request(
            method,
            parsed_url(self.url(url), query_of(params)),
            content=content,
            data=data,
            headers=merged,
            extensions={"timeout": self._timeout},
        )
        if self._auth is None:
            return await self._send(request)
        flow = self._auth.async_auth_flow(request)
        try:
            request = await flow.__anext__()
            while True:
                response = await self._send(request)
                try:
                    request = await flow.asend(response)
                except StopAsyncIteration:
                    return response
        finally:
            await flow.aclose()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        request.extensions.setdefault("timeout", self._timeout)  # an auth flow's own request
        response = await self._transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()

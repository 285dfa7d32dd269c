"""Every httpx exception, mapped once to the `sources.errors` class it means.

The table is ordered most specific first: the first class an exception is an instance of
decides. Anything httpx raises that is not listed still maps (to `SourceRequestError`), so
no httpx exception escapes a connector as a bug.
"""

from __future__ import annotations

import httpx

from sources.errors import (
    SourceDataError,
    SourceError,
    SourceRequestError,
    SourceTimeout,
    SourceUnavailable,
)
from sources.records import SourceSystem

# Every exception httpx may raise from a request: its documented roots.
HTTPX_ERRORS: tuple[type[Exception], ...] = (
    httpx.HTTPError,
    httpx.InvalidURL,
    httpx.CookieConflict,
    httpx.StreamError,
)

_TABLE: tuple[tuple[type[Exception], type[SourceError], str], ...] = (
    (httpx.TimeoutException, SourceTimeout, "no answer from"),
    # Ours to fix, not the source's: retrying would only repeat them.
    (httpx.UnsupportedProtocol, SourceRequestError, "cannot send to"),
    (httpx.LocalProtocolError, SourceRequestError, "could not send a valid request to"),
    (httpx.TransportError, SourceUnavailable, "cannot reach"),
    (httpx.DecodingError, SourceDataError, "undecodable answer from"),
    (httpx.TooManyRedirects, SourceDataError, "endless redirects from"),
    (httpx.RequestError, SourceUnavailable, "request failed to"),
    (httpx.HTTPStatusError, SourceUnavailable, "error status from"),
    (httpx.InvalidURL, SourceRequestError, "invalid URL"),
    (httpx.CookieConflict, SourceRequestError, "conflicting cookies for"),
    (httpx.StreamError, SourceRequestError, "stream misused for"),
)


def source_error(system: SourceSystem, error: Exception, url: str) -> SourceError:
    """The `SourceError` that `error`, raised by httpx while calling `url`, stands for."""
    for httpx_class, source_class, what in _TABLE:
        if isinstance(error, httpx_class):
            return source_class(system, f"{what} {url}: {error!r}")
    return SourceRequestError(system, f"unexpected httpx error for {url}: {error!r}")

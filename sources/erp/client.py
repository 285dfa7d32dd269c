"""NetSuite's side of the HTTP exchange: bearer auth, and what its failures mean.

NetSuite answers failures as `{"type", "title", "status", "o:errorDetails": [{"detail",
"o:errorCode", ...}]}`. Its governance limits concurrency per account: past the limit a
request is refused (429 here; RESTlets say 400 SSS_REQUEST_LIMIT_EXCEEDED), without a
Retry-After, so it is retried with the client's backoff.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from decimal import Decimal
from typing import Any

import httpx

from sources.errors import RateLimited, SourceDataError, SourceError, SourceRejected
from sources.http import classify_status, retry_after_seconds
from sources.records import SourceSystem

RATE_LIMIT_CODES = frozenset({"CONCURRENCY_LIMIT_EXCEEDED", "SSS_REQUEST_LIMIT_EXCEEDED"})


class NetSuiteBearerAuth(httpx.Auth):
    """An OAuth 2.0 access token sent as a bearer token.

    Obtaining the token (NetSuite's machine-to-machine flow posts a JWT assertion signed
    with the integration's certificate key to `/services/rest/auth/oauth2/v1/token`) is
    out of scope here: the token comes from configuration.
    """

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


def error_detail(response: httpx.Response) -> tuple[str, str | None]:
    """(message, o:errorCode) from a NetSuite error body, or the raw text if it is not one."""
    try:
        body = response.json()
    except ValueError:
        return (response.text[:500] or response.reason_phrase, None)
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    first = details[0] if isinstance(details, list) and details else None
    if not isinstance(first, dict):
        return (response.text[:500] or response.reason_phrase, None)
    title = body.get("title") or response.reason_phrase
    code = first.get("o:errorCode")
    return (f"{title}: {first.get('detail', '')}", None if code is None else str(code))


def classify(system: SourceSystem, response: httpx.Response) -> SourceError | None:
    status = response.status_code
    if status < 400:
        return None
    message, code = error_detail(response)
    if status == 429 or code in RATE_LIMIT_CODES:
        return RateLimited(system, message, retry_after_seconds(response))
    if 400 <= status < 500 and status != 408:
        return SourceRejected(system, message, status=status, vendor_code=code)
    return classify_status(system, response)


def parse_body(system: SourceSystem, response: httpx.Response) -> Any:
    """The JSON body with exact decimals; SourceDataError when it is not JSON."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError as error:
        raise SourceDataError(system, f"malformed JSON from {response.url}") from error

"""Workday's error answers, classified by what the caller should do.

Workday REST errors are `{"error": message, "code": code}` (sometimes with
`"errors": [{"error", "field"}]`); its OAuth token route answers in the OAuth 2.0 shape
`{"error": code, "error_description": message}`. Both become `SourceRejected` carrying
the vendor's message and code (`TokenRejectedError` when it is the token exchange that was
refused, so a 404 for an unknown tenant is never mistaken for a missing worker); 429 is
`RateLimited`; 408, 504 and 5xx follow the shared table in `sources.http`.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from sources.errors import RateLimited, SourceError, SourceRejected
from sources.http import classify_status, retry_after_seconds
from sources.records import SourceSystem

_TOKEN_PATH = re.compile(r"/ccx/oauth2/[^/]+/token$")


class TokenRejectedError(SourceRejected):
    """The OAuth token route refused the refresh token (or the tenant)."""


def vendor_error(response: httpx.Response) -> tuple[str, str | None]:
    """The vendor's (message, code) from an error answer, or the raw text and None."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        if isinstance(body.get("error_description"), str):
            return body["error_description"], body["error"]
        message: str = body["error"]
        details = [
            f"{item.get('field')}: {item.get('error')}" if item.get("field") else item["error"]
            for item in body.get("errors") or []
            if isinstance(item, dict) and isinstance(item.get("error"), str)
        ]
        if details:
            message = f"{message} ({'; '.join(details)})"
        code = body.get("code")
        return message, code if isinstance(code, str) else None
    return (response.text[:500] or response.reason_phrase), None


def classify_workday(system: SourceSystem, response: httpx.Response) -> SourceError | None:
    status = response.status_code
    if status < 400:
        return None
    if status == 429:
        message, _ = vendor_error(response)
        return RateLimited(system, message, retry_after_seconds(response))
    if status in (408, 504) or status >= 500:
        return classify_status(system, response)
    message, code = vendor_error(response)
    if _TOKEN_PATH.search(response.request.url.path):
        return TokenRejectedError(
            system, f"token exchange refused: {message}", status=status, vendor_code=code
        )
    return SourceRejected(system, message, status=status, vendor_code=code)

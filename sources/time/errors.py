"""Harvest's error answers, classified by what the caller should do.

Harvest answers auth failures in the OAuth 2.0 shape `{"error", "error_description"}`
and other refusals as `{"message"}` (the sandbox adds `status` and `error`). 429 is
`RateLimited` with its `Retry-After`; 400, 401, 403, 404, 422 and other 4xx are
`SourceRejected` carrying Harvest's message; 408, 504 and 5xx follow `sources.http`.
"""

from __future__ import annotations

from typing import Any

import httpx

from sources.errors import RateLimited, SourceError, SourceRejected
from sources.http import classify_status, retry_after_seconds
from sources.records import SourceSystem


def vendor_error(response: httpx.Response) -> tuple[str, str | None]:
    """Harvest's (message, code) from an error answer, or the raw text and None."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = body.get("error")
        for key in ("error_description", "message", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key], code if isinstance(code, str) else None
    return (response.text[:500] or response.reason_phrase), None


def classify_harvest(system: SourceSystem, response: httpx.Response) -> SourceError | None:
    status = response.status_code
    if status < 400:
        return None
    if status == 429:
        message, _ = vendor_error(response)
        return RateLimited(system, message, retry_after_seconds(response))
    if status in (408, 504) or status >= 500:
        return classify_status(system, response)
    message, code = vendor_error(response)
    return SourceRejected(system, message, status=status, vendor_code=code)

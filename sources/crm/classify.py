"""Salesforce's answers, classified by what the caller should do.

| answer                               | becomes                                      |
| ------------------------------------ | -------------------------------------------- |
| 2xx with a JSON (or empty) body      | success                                      |
| 2xx with any other body              | SourceDataError (not the API answering)      |
| 300 (upsert met several records)     | SourceRejected, vendor_code MULTIPLE_CHOICES |
| 403 REQUEST_LIMIT_EXCEEDED           | RateLimited, no Retry-After (daily quota)    |
| 429                                  | RateLimited, with Retry-After if given       |
| 408, 504                             | SourceTimeout                                |
| 5xx                                  | SourceUnavailable                            |
| other 4xx (401 after a refresh too)  | SourceRejected with errorCode and message    |
"""

from __future__ import annotations

from typing import Any

import httpx

from sources.errors import RateLimited, SourceDataError, SourceError, SourceRejected
from sources.http import classify_status
from sources.records import SourceSystem


def vendor_error(response: httpx.Response) -> tuple[str | None, str]:
    """(errorCode, message) from a Salesforce error array; (None, the text) otherwise."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        first = body[0]
        code = first.get("errorCode")
        message = first.get("message")
        return (
            code if isinstance(code, str) else None,
            message if isinstance(message, str) else str(first),
        )
    return None, response.text[:500] or response.reason_phrase


def classify(system: SourceSystem, response: httpx.Response) -> SourceError | None:
    status = response.status_code
    if status < 300:
        content_type = response.headers.get("content-type", "")
        if response.content and "json" not in content_type:
            return SourceDataError(system, f"expected JSON, got {content_type or 'no type'}")
        return None
    if status == 300:
        return SourceRejected(
            system,
            f"several records match the external id: {response.text[:500]}",
            status=300,
            vendor_code="MULTIPLE_CHOICES",
        )
    if status < 400:
        return None
    code, message = vendor_error(response)
    if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        return RateLimited(system, message)
    if status in (408, 429) or status >= 500:
        return classify_status(system, response)
    text = f"{code}: {message}" if code else message
    return SourceRejected(system, text, status=status, vendor_code=code)

"""Kantata's side of the HTTP exchange: bearer auth, and what its failures mean.

Kantata answers failures as `{"errors": [{"type": "...", "message": "..."}]}`, 429 when a
token goes past its rate (no Retry-After documented, but honoured when present).
"""

from __future__ import annotations

from collections.abc import Generator

import httpx

from sources.errors import RateLimited, SourceError, SourceRejected
from sources.http import classify_status, retry_after_seconds
from sources.records import SourceSystem


class BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


def vendor_errors(response: httpx.Response) -> list[tuple[str | None, str]]:
    """(type, message) of each error in a Kantata error body; [] when it has none."""
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    found = []
    for error in errors:
        if isinstance(error, dict) and error.get("message"):
            kind = error.get("type")
            found.append((str(kind) if kind is not None else None, str(error["message"])))
        elif isinstance(error, str):
            found.append((None, error))
    return found


# Kantata documents no Retry-After, only "retry after a short delay". The client's own
# backoff (tens of milliseconds) would retry inside the same rate window and fail again,
# so a 429 without one is waited out as a window of one second would be.
UNDATED_RATE_LIMIT_WAIT_S = 1.0


def classify(system: SourceSystem, response: httpx.Response) -> SourceError | None:
    status = response.status_code
    if status < 400:
        return None
    errors = vendor_errors(response)
    message = "; ".join(text for _, text in errors) or response.text[:500] or response.reason_phrase
    if status == 429:
        wait = retry_after_seconds(response)
        return RateLimited(system, message, UNDATED_RATE_LIMIT_WAIT_S if wait is None else wait)
    if 400 <= status < 500 and status != 408:
        vendor_code = errors[0][0] if errors else None
        return SourceRejected(system, message, status=status, vendor_code=vendor_code)
    return classify_status(system, response)

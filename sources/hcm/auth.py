"""Workday OAuth: a non-expiring refresh token swapped for short-lived access tokens.

The swap happens inside the request flow (`httpx.Auth`), so it travels through the same
client, limits and error mapping as every other call, and connectors never touch headers.
"""

from __future__ import annotations

import asyncio
import base64
import math
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import Any

import httpx

from sources.errors import SourceDataError
from sources.records import SourceSystem

# Refresh this long before the vendor's stated expiry, at most (a tenth of short lifetimes).
EXPIRY_MARGIN_S = 60.0


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # on the auth's clock; inf when the vendor did not say


class WorkdayRefreshTokenAuth(httpx.Auth):
    """Bearer auth that exchanges the refresh token for an access token when it has none,
    when the one it has is about to expire, and once more when a request answers 401.

    Concurrent requests share one exchange. A failed exchange ends the flow with the
    token route's own answer, so the client classifies it like any other vendor error; a
    2xx answer without an access token raises `SourceDataError`.
    """

    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        refresh_token: str,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self._refresh_token = refresh_token
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._lock = asyncio.Lock()
        self._access: AccessToken | None = None

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("WorkdayRefreshTokenAuth needs an async client")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        rejected: str | None = None  # the access token the vendor answered 401 to
        for _ in range(2):
            async with self._lock:
                if self._needs_exchange(rejected):
                    reply = yield self._token_request(request)
                    await reply.aread()
                    if not reply.is_success:
                        return
                    self._access = self._parse(reply)
                assert self._access is not None
                token = self._access.value
            request.headers["Authorization"] = f"Bearer {token}"
            response = yield request
            if response.status_code != 401:
                return
            rejected = token

    def _needs_exchange(self, rejected: str | None) -> bool:
        access = self._access
        if access is None or access.value == rejected:
            return True
        return self._clock() >= access.expires_at

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
        headers = {"Accept": "application/json"}
        if self._client_id is not None and self._client_secret is not None:
            pair = f"{self._client_id}:{self._client_secret}".encode()
            headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
        elif self._client_id is not None:
            form["client_id"] = self._client_id
        return httpx.Request(
            "POST",
            self.token_url,
            data=form,
            headers=headers,
            # the caller's timeouts, which the client set on its own request only
            extensions={k: v for k, v in request.extensions.items() if k == "timeout"},
        )

    def _parse(self, reply: httpx.Response) -> AccessToken:
        try:
            body: Any = reply.json()
        except ValueError:
            body = None
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise SourceDataError(SourceSystem.HCM, "token answer without an access_token")
        expires_in = body.get("expires_in")
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            margin = min(EXPIRY_MARGIN_S, expires_in / 10)
            return AccessToken(value, self._clock() + expires_in - margin)
        return AccessToken(value, math.inf)

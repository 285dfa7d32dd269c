"""OAuth 2.0 client credentials for Salesforce, as an `httpx.Auth`.

The first request fetches a token from `/services/oauth2/token`; later ones reuse it.
Salesforce tokens carry no expiry, so a 401 INVALID_SESSION_ID is the signal: fetch a
fresh token once and resend. Concurrent requests share one fetch and one refresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator

import httpx

from sources.errors import SourceDataError, SourceRejected
from sources.http import classify_status
from sources.records import SourceSystem

SYSTEM = SourceSystem.CRM


class ClientCredentialsAuth(httpx.Auth):
    requires_response_body = True  # a 401's body tells a stale token from bad credentials

    def __init__(self, token_url: str, client_id: str, client_secret: str) -> None:
        self.token_url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._token: str | None = None
        self._lock = asyncio.Lock()

    def token_request(self) -> httpx.Request:
        return httpx.Request("POST", self.token_url, data=self._form)

    def accept_token(self, response: httpx.Response) -> str:
        """Keep the token from the token endpoint's answer, or raise the SourceError it means."""
        self._token = read_token(response)
        return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The same flow for synchronous clients, without the shared-fetch lock."""
        token = self._token or self.accept_token((yield self.token_request()))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if session_expired(response):
            token = self.accept_token((yield self.token_request()))
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        async with self._lock:
            token = self._token
            if token is None:
                answer = yield self.token_request()
                token = self.accept_token(await _read(answer))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if not session_expired(await _read(response)):
            return
        async with self._lock:
            if self._token == token:  # nobody refreshed it while we waited
                answer = yield self.token_request()
                self.accept_token(await _read(answer))
            token = self._token
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


async def _read(response: httpx.Response) -> httpx.Response:
    await response.aread()
    return response


def session_expired(response: httpx.Response) -> bool:
    """A 401 whose body names INVALID_SESSION_ID: the token is stale, not the credentials."""
    if response.status_code != 401:
        return False
    try:
        errors = response.json()
    except (ValueError, httpx.ResponseNotRead):
        return False
    return isinstance(errors, list) and any(
        isinstance(e, dict) and e.get("errorCode") == "INVALID_SESSION_ID" for e in errors
    )


def read_token(response: httpx.Response) -> str:
    if response.status_code in (408, 429) or response.status_code >= 500:
        # Throttled, timed out or down: worth another try, as for any call (the shared
        # status table); only a refusal of the credentials themselves is final.
        failure = classify_status(SYSTEM, response)
        assert failure is not None
        raise failure
    try:
        body = response.json()
    except ValueError as error:
        raise SourceDataError(SYSTEM, "token endpoint answered with non-JSON") from error
    if response.status_code != 200 or not isinstance(body, dict):
        fields = body if isinstance(body, dict) else {}
        code = fields.get("error")
        raise SourceRejected(
            SYSTEM,
            f"token request refused: {code}: {fields.get('error_description')}",
            status=response.status_code,
            vendor_code=code if isinstance(code, str) else None,
        )
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise SourceDataError(SYSTEM, "token endpoint answered without an access_token")
    return token

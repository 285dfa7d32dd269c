"""Harvest's credentials on every request: a bearer token and the account it acts in."""

from __future__ import annotations

from collections.abc import Generator

import httpx

from sources.time.harvest import ACCOUNT_HEADER


class HarvestAuth(httpx.Auth):
    """A personal access token (or an OAuth 2.0 access token) plus `Harvest-Account-Id`."""

    def __init__(self, token: str, account_id: str) -> None:
        self._authorization = f"Bearer {token}"
        self._account_id = account_id

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._authorization
        request.headers[ACCOUNT_HEADER] = self._account_id
        yield request

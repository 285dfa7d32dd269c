"""Client-credentials auth: one token fetch, shared; one refresh when the session dies."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx
import pytest

from sources.crm.auth import ClientCredentialsAuth
from sources.errors import RateLimited, SourceDataError, SourceRejected, SourceUnavailable

TOKEN_URL = "https://org.test/services/oauth2/token"
SECRET = "s3cret"


@dataclass
class FakeOrg:
    """Issues numbered tokens and accepts only the newest one."""

    issued: int = 0
    token_status: int = 200
    always_expired: bool = False
    seen: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            self.seen.append("token")
            form = dict(httpx.QueryParams(request.content.decode()))
            if self.token_status >= 500:
                return httpx.Response(self.token_status, text="down")
            if self.token_status == 429:
                return httpx.Response(429, headers={"Retry-After": "2"}, text="slow down")
            if form.get("client_secret") != SECRET or self.token_status != 200:
                return httpx.Response(
                    400, json={"error": "invalid_client", "error_description": "bad secret"}
                )
            self.issued += 1
            return httpx.Response(
                200, json={"access_token": f"t{self.issued}", "token_type": "Bearer"}
            )
        self.seen.append(request.headers.get("authorization", ""))
        if self.always_expired or request.headers.get("authorization") != f"Bearer t{self.issued}":
            return httpx.Response(
                401,
                json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
            )
        return httpx.Response(200, json={"ok": True})

    def expire(self) -> None:
        self.issued += 1  # the token in use is no longer the newest


def client(org: FakeOrg, secret: str = SECRET) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.MockTransport(org),
        auth=ClientCredentialsAuth(TOKEN_URL, "psgraph", secret),
        base_url="https://org.test/services/data/v62.0",
    )


async def test_the_first_call_fetches_a_token_and_later_calls_reuse_it() -> None:
    org = FakeOrg()
    async with client(org) as http:
        first = await http.get("/limits")
        second = await http.get("/limits")

    assert first.status_code == second.status_code == 200
    assert org.seen == ["token", "Bearer t1", "Bearer t1"]


async def test_concurrent_first_calls_share_one_token_fetch() -> None:
    org = FakeOrg()
    async with client(org) as http:
        answers = await asyncio.gather(*(http.get("/limits") for _ in range(8)))

    assert {a.status_code for a in answers} == {200}
    assert org.seen.count("token") == 1


async def test_an_expired_session_is_refreshed_once_and_the_call_resent() -> None:
    org = FakeOrg()
    async with client(org) as http:
        await http.get("/limits")
        org.expire()
        answer = await http.get("/limits")

    assert answer.status_code == 200
    assert org.seen.count("token") == 2
    assert org.seen[-1] == f"Bearer t{org.issued}"


async def test_concurrent_calls_on_an_expired_session_share_one_refresh() -> None:
    org = FakeOrg()
    async with client(org) as http:
        await http.get("/limits")
        org.expire()
        answers = await asyncio.gather(*(http.get("/limits") for _ in range(5)))

    assert {a.status_code for a in answers} == {200}
    assert org.seen.count("token") == 2


async def test_a_session_refused_after_refresh_is_answered_not_refreshed_again() -> None:
    org = FakeOrg(always_expired=True)
    async with client(org) as http:
        answer = await http.get("/limits")

    assert answer.status_code == 401
    assert org.seen.count("token") == 2


async def test_a_401_that_is_not_a_stale_session_is_not_refreshed() -> None:
    token_fetches = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal token_fetches
        if request.url.path.endswith("/token"):
            token_fetches += 1
            return httpx.Response(200, json={"access_token": "t"})
        return httpx.Response(401, json=[{"message": "no", "errorCode": "INVALID_AUTH_HEADER"}])

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(handler),
        auth=ClientCredentialsAuth(TOKEN_URL, "psgraph", SECRET),
    ) as http:
        answer = await http.get("https://org.test/services/data/v62.0/limits")

    assert answer.status_code == 401
    assert token_fetches == 1


async def test_refused_credentials_raise_the_oauth_error() -> None:
    async with client(FakeOrg(), secret="wrong") as http:
        with pytest.raises(SourceRejected) as raised:
            await http.get("/limits")

    assert raised.value.vendor_code == "invalid_client"
    assert raised.value.status == 400


async def test_a_failing_token_endpoint_is_retriable() -> None:
    async with client(FakeOrg(token_status=503)) as http:
        with pytest.raises(SourceUnavailable):
            await http.get("/limits")


async def test_a_throttled_token_endpoint_is_waited_out_not_refused() -> None:
    async with client(FakeOrg(token_status=429)) as http:
        with pytest.raises(RateLimited) as raised:
            await http.get("/limits")

    assert raised.value.retriable
    assert raised.value.retry_after == 2.0


async def test_a_token_answer_without_a_token_is_a_data_error() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"token_type": "Bearer"}))
    async with httpx.AsyncClient(
        transport=transport, auth=ClientCredentialsAuth(TOKEN_URL, "psgraph", SECRET)
    ) as http:
        with pytest.raises(SourceDataError):
            await http.get("https://org.test/services/data/v62.0/limits")


def test_synchronous_clients_get_the_same_flow() -> None:
    org = FakeOrg()
    with httpx.Client(
        transport=httpx.MockTransport(org), auth=ClientCredentialsAuth(TOKEN_URL, "psgraph", SECRET)
    ) as http:
        http.get("https://org.test/services/data/v62.0/limits")
        org.expire()
        answer = http.get("https://org.test/services/data/v62.0/limits")

    assert answer.status_code == 200
    assert org.seen.count("token") == 2

"""Refresh token in, short-lived access tokens out, inside the request flow."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from sources.errors import SourceDataError, SourceRejected
from sources.hcm.auth import WorkdayRefreshTokenAuth
from sources.hcm.errors import classify_workday
from sources.http import SourceClient
from sources.records import SourceSystem
from tests.unit.hcm.conftest import FakeClock, settings

TOKEN_URL = "http://hcm.test/ccx/oauth2/acme/token"


@dataclass
class FakeWorkday:
    """Issues numbered access tokens and serves `/data` to the latest one only."""

    expires_in: Any = 3600
    token_answer: httpx.Response | None = None
    reject_every_token: bool = False
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    data_calls: int = 0
    generation: int = 0  # which access token is current

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ccx/oauth2/acme/token":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            self.exchanges.append({"form": form, "auth": request.headers.get("authorization")})
            self.generation += 1
            if self.token_answer is not None:
                return self.token_answer
            return httpx.Response(
                200,
                json={
                    "access_token": self.current,
                    "token_type": "Bearer",
                    "expires_in": self.expires_in,
                },
            )
        self.data_calls += 1
        if self.reject_every_token or request.headers["authorization"] != f"Bearer {self.current}":
            return httpx.Response(401, json={"error": "invalid token", "code": "INVALID_AUTH"})
        return httpx.Response(200, json={"ok": True})

    @property
    def current(self) -> str:
        return f"access-{self.generation}"

    def revoke(self) -> None:
        self.generation += 1


def client(
    vendor: FakeWorkday, clock: FakeClock | None = None, **auth: Any
) -> tuple[SourceClient, WorkdayRefreshTokenAuth]:
    flow = WorkdayRefreshTokenAuth(
        TOKEN_URL, "the-refresh-token", clock=clock or FakeClock(), **auth
    )
    source = SourceClient(
        SourceSystem.HCM,
        settings(),
        auth=flow,
        classify=classify_workday,
        transport=httpx.MockTransport(vendor),
    )
    return source, flow


async def test_the_first_call_exchanges_the_refresh_token() -> None:
    vendor = FakeWorkday()
    source, _ = client(vendor)

    assert await source.json("GET", "/data") == {"ok": True}

    assert [e["form"] for e in vendor.exchanges] == [
        {"grant_type": "refresh_token", "refresh_token": "the-refresh-token"}
    ]


async def test_concurrent_calls_share_one_exchange() -> None:
    vendor = FakeWorkday()
    source, _ = client(vendor)

    await asyncio.gather(*(source.json("GET", "/data") for _ in range(10)))

    assert len(vendor.exchanges) == 1
    assert vendor.data_calls == 10


async def test_a_token_is_replaced_shortly_before_it_expires() -> None:
    vendor, clock = FakeWorkday(expires_in=100), FakeClock()
    source, _ = client(vendor, clock)
    await source.json("GET", "/data")

    clock.advance(89)  # inside the lifetime less its margin (a tenth, here 10 s)
    await source.json("GET", "/data")
    assert len(vendor.exchanges) == 1

    clock.advance(2)
    await source.json("GET", "/data")
    assert len(vendor.exchanges) == 2
    assert vendor.data_calls == 3  # no call was wasted on an expired token


async def test_a_401_refreshes_once_and_repeats_the_call() -> None:
    vendor = FakeWorkday()
    source, _ = client(vendor)
    await source.json("GET", "/data")
    vendor.revoke()

    assert await source.json("GET", "/data") == {"ok": True}

    assert vendor.data_calls == 3  # the first, the refused one, its repeat
    assert len(vendor.exchanges) == 2


async def test_concurrent_401s_share_one_refresh() -> None:
    vendor = FakeWorkday()
    source, _ = client(vendor)
    await source.json("GET", "/data")
    vendor.revoke()

    await asyncio.gather(*(source.json("GET", "/data") for _ in range(5)))

    assert len(vendor.exchanges) == 2


async def test_a_second_401_is_the_answer() -> None:
    vendor = FakeWorkday(reject_every_token=True)
    source, _ = client(vendor)

    with pytest.raises(SourceRejected) as caught:
        await source.json("GET", "/data")

    assert (caught.value.status, caught.value.vendor_code) == (401, "INVALID_AUTH")
    assert len(vendor.exchanges) == 2
    assert vendor.data_calls == 2


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        pytest.param(
            httpx.Response(400, json={"error": "invalid_grant", "error_description": "revoked"}),
            400,
            "invalid_grant",
            id="invalid-grant",
        ),
        pytest.param(
            httpx.Response(
                404, json={"error": "tenant 'acme' not found", "code": "INVALID_TENANT"}
            ),
            404,
            "INVALID_TENANT",
            id="unknown-tenant",
        ),
    ],
)
async def test_a_refused_exchange_is_the_vendors_rejection(
    answer: httpx.Response, status: int, code: str
) -> None:
    vendor = FakeWorkday(token_answer=answer)
    source, _ = client(vendor)

    with pytest.raises(SourceRejected) as caught:
        await source.json("GET", "/data")

    assert (caught.value.status, caught.value.vendor_code) == (status, code)
    assert vendor.data_calls == 0


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(httpx.Response(200, text="<html>login</html>"), id="not-json"),
        pytest.param(httpx.Response(200, json={"token_type": "Bearer"}), id="no-access-token"),
        pytest.param(httpx.Response(200, json=["access"]), id="not-an-object"),
    ],
)
async def test_a_garbled_token_answer_is_a_data_error(answer: httpx.Response) -> None:
    vendor = FakeWorkday(token_answer=answer)
    source, _ = client(vendor)

    with pytest.raises(SourceDataError):
        await source.json("GET", "/data")
    assert vendor.data_calls == 0


async def test_a_token_without_a_lifetime_lasts_until_refused() -> None:
    vendor, clock = FakeWorkday(expires_in=None), FakeClock()
    source, _ = client(vendor, clock)
    await source.json("GET", "/data")

    clock.advance(10**9)
    await source.json("GET", "/data")

    assert len(vendor.exchanges) == 1


async def test_client_credentials_go_in_a_basic_header() -> None:
    vendor = FakeWorkday()
    source, _ = client(vendor, client_id="isu-client", client_secret="s3cret")

    await source.json("GET", "/data")

    expected = base64.b64encode(b"isu-client:s3cret").decode()
    assert vendor.exchanges[0]["auth"] == f"Basic {expected}"
    assert "client_id" not in vendor.exchanges[0]["form"]


async def test_a_public_client_names_itself_in_the_form() -> None:
    vendor = FakeWorkday()
    source, _ = client(vendor, client_id="isu-client")

    await source.json("GET", "/data")

    assert vendor.exchanges[0]["auth"] is None
    assert vendor.exchanges[0]["form"]["client_id"] == "isu-client"


def test_a_sync_client_is_refused() -> None:
    flow = WorkdayRefreshTokenAuth(TOKEN_URL, "the-refresh-token")
    with httpx.Client(auth=flow, transport=httpx.MockTransport(FakeWorkday())) as sync:
        with pytest.raises(RuntimeError, match="async"):
            sync.get("http://hcm.test/data")

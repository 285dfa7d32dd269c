"""The Workday-shaped sandbox: OAuth, paging limits, error shapes, touch and reset."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandboxes.hcm.server import AccessTokens, HcmSandbox
from sandboxes.world.model import World
from tests.unit.hcm.conftest import REFRESH_TOKEN, TENANT, FakeClock

API = f"/ccx/api/staffing/v6/{TENANT}"
TOKEN = f"/ccx/oauth2/{TENANT}/token"


class RecordingSandbox(HcmSandbox):
    """Keeps the change notifications it would push."""

    def __init__(self, world: World, **kwargs: Any) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        super().__init__(world, **kwargs)

    def changed(self, event_type: str, data: dict[str, Any]) -> None:
        self.events.append((event_type, data))


@pytest.fixture
def sandbox(world: World) -> RecordingSandbox:
    return RecordingSandbox(world, token=REFRESH_TOKEN, tenant=TENANT)


@pytest.fixture
async def http(sandbox: HcmSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://hcm.test") as client:
        yield client


async def access_token(http: httpx.AsyncClient) -> str:
    answer = await http.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN}
    )
    assert answer.status_code == 200
    token: str = answer.json()["access_token"]
    return token


@pytest.fixture
async def authed(http: httpx.AsyncClient) -> httpx.AsyncClient:
    http.headers["Authorization"] = f"Bearer {await access_token(http)}"
    return http


# --- OAuth -------------------------------------------------------------------------


async def test_the_refresh_token_buys_a_bearer_access_token(http: httpx.AsyncClient) -> None:
    answer = await http.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN}
    )

    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"] != REFRESH_TOKEN
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "form", "status", "error"),
    [
        pytest.param(
            TOKEN,
            {"grant_type": "refresh_token", "refresh_token": "guess"},
            400,
            {"error": "invalid_grant", "error_description": "refresh token is invalid or revoked"},
            id="wrong-refresh-token",
        ),
        pytest.param(
            TOKEN,
            {"grant_type": "client_credentials"},
            400,
            {
                "error": "unsupported_grant_type",
                "error_description": "only refresh_token is supported",
            },
            id="other-grant",
        ),
        pytest.param(
            "/ccx/oauth2/elsewhere/token",
            {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN},
            404,
            {"error": "tenant 'elsewhere' not found", "code": "INVALID_TENANT"},
            id="unknown-tenant",
        ),
    ],
)
async def test_bad_exchanges_are_refused(
    http: httpx.AsyncClient, path: str, form: dict[str, str], status: int, error: dict[str, str]
) -> None:
    answer = await http.post(path, data=form)

    assert (answer.status_code, answer.json()) == (status, error)


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="none"),
        pytest.param("Bearer made-up", id="made-up"),
        pytest.param(f"Bearer {REFRESH_TOKEN}", id="the-refresh-token-itself"),
        pytest.param("Basic dXNlcjpwYXNz", id="basic"),
    ],
)
async def test_data_routes_take_only_issued_access_tokens(
    http: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    answer = await http.get(f"{API}/workers", headers=headers)

    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid or expired access token", "code": "INVALID_AUTH"}
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_access_tokens_expire_after_their_lifetime() -> None:
    clock = FakeClock()
    tokens = AccessTokens(lifetime=60, clock=clock)
    token, lifetime = tokens.issue()

    clock.advance(59.9)
    assert tokens.valid(token)
    clock.advance(0.1)
    assert not tokens.valid(token)
    assert lifetime == 60


async def test_the_admin_route_shortens_lifetimes_and_revokes_tokens(
    authed: httpx.AsyncClient,
) -> None:
    assert (await authed.get(f"{API}/workers")).status_code == 200

    shortened = await authed.post("/_sandbox/tokens", json={"access_token_lifetime_s": 0.5})
    assert shortened.json() == {"access_token_lifetime_s": 0.5, "active": 1}
    assert (await authed.get(f"{API}/workers")).status_code == 200  # issued before

    revoked = await authed.delete("/_sandbox/tokens")
    assert revoked.json()["active"] == 0
    assert (await authed.get(f"{API}/workers")).status_code == 401

    fresh = await authed.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN}
    )
    assert fresh.json()["expires_in"] == 1  # whole seconds, rounded up


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"access_token_lifetime_s": 0}, id="zero"),
        pytest.param({"access_token_lifetime_s": "long"}, id="not-a-number"),
        pytest.param({}, id="missing"),
    ],
)
async def test_the_admin_route_refuses_nonsense_lifetimes(
    http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    assert (await http.post("/_sandbox/tokens", json=body)).status_code == 400


# --- workers -----------------------------------------------------------------------


async def test_workers_page_twenty_at_a_time_by_default(authed: httpx.AsyncClient) -> None:
    body = (await authed.get(f"{API}/workers")).json()

    assert body["total"] == 250
    assert len(body["data"]) == 20
    assert body["data"][0]["id"] == f"{0:032x}"


async def test_limit_and_offset_choose_the_page(authed: httpx.AsyncClient) -> None:
    body = (await authed.get(f"{API}/workers", params={"limit": 100, "offset": 200})).json()

    assert body["total"] == 250
    assert [w["id"] for w in body["data"]] == [f"{k:032x}" for k in range(200, 250)]


async def test_an_offset_past_the_end_is_an_empty_page(authed: httpx.AsyncClient) -> None:
    body = (await authed.get(f"{API}/workers", params={"offset": 999})).json()

    assert body == {"total": 250, "data": []}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"limit": 101}, "limit must be between 1 and 100, not 101", id="limit-101"),
        pytest.param({"limit": 0}, "limit must be between 1 and 100, not 0", id="limit-0"),
        pytest.param({"limit": "all"}, "limit must be an integer, not 'all'", id="limit-text"),
        pytest.param({"offset": -1}, "offset must be at least 0, not -1", id="offset-negative"),
    ],
)
async def test_paging_outside_the_limits_is_refused(
    authed: httpx.AsyncClient, params: dict[str, Any], message: str
) -> None:
    answer = await authed.get(f"{API}/workers", params=params)

    assert answer.status_code == 400
    assert answer.json() == {"error": message, "code": "INVALID_PARAMETER"}


async def test_search_matches_the_start_of_a_name_word(authed: httpx.AsyncClient) -> None:
    body = (await authed.get(f"{API}/workers", params={"search": "surname6", "limit": 100})).json()

    assert body["total"] == len(range(6, 250, 7))
    assert all(w["descriptor"].endswith("Surname6") for w in body["data"])


async def test_a_worker_is_served_with_its_href(authed: httpx.AsyncClient) -> None:
    wid = f"{7:032x}"

    worker = (await authed.get(f"{API}/workers/{wid}")).json()

    assert worker["id"] == wid
    assert worker["descriptor"] == "Person007 Surname0"
    assert worker["manager"] == {"id": f"{0:032x}", "descriptor": "Person000 Surname0"}
    assert worker["compensation"]["costRate"] == {"amount": "87.50", "currency": "USD"}
    assert worker["href"] == f"http://hcm.test{API}/workers/{wid}"


@pytest.mark.parametrize(
    ("path", "error"),
    [
        pytest.param(
            f"{API}/workers/{'f' * 32}",
            {"error": f"worker '{'f' * 32}' not found", "code": "NOT_FOUND"},
            id="unknown-worker",
        ),
        pytest.param(
            "/ccx/api/staffing/v6/elsewhere/workers",
            {"error": "tenant 'elsewhere' not found", "code": "INVALID_TENANT"},
            id="unknown-tenant",
        ),
    ],
)
async def test_what_is_not_there_is_a_workday_404(
    authed: httpx.AsyncClient, path: str, error: dict[str, str]
) -> None:
    answer = await authed.get(path)

    assert (answer.status_code, answer.json()) == (404, error)


async def test_there_is_no_batch_by_id_route(authed: httpx.AsyncClient) -> None:
    answer = await authed.get(f"{API}/workers/{0:032x},{1:032x}")

    assert answer.status_code == 404


# --- touch and reset ---------------------------------------------------------------


async def test_touch_updates_last_updated_and_notifies(
    authed: httpx.AsyncClient, sandbox: RecordingSandbox
) -> None:
    wids = [f"{3:032x}", f"{4:032x}"]
    before = [sandbox.workers[w]["lastUpdated"] for w in wids]

    answer = await authed.post(
        "/_sandbox/touch", json={"entity": "worker", "ids": [*wids, "nobody"]}
    )

    assert answer.json() == {"touched": 2}
    after = [sandbox.workers[w]["lastUpdated"] for w in wids]
    assert after[0] > before[0]
    assert after[1] > after[0]
    assert sandbox.events == [
        ("worker.updated", {"id": wid, "changed_fields": ["lastUpdated"]}) for wid in wids
    ]


async def test_touching_another_entity_is_refused(authed: httpx.AsyncClient) -> None:
    answer = await authed.post("/_sandbox/touch", json={"entity": "job", "ids": ["x"]})

    assert answer.status_code == 400


async def test_reset_restores_the_workers_and_revokes_tokens(
    authed: httpx.AsyncClient, sandbox: RecordingSandbox
) -> None:
    wid = f"{3:032x}"
    seeded = sandbox.workers[wid]["lastUpdated"]
    await authed.post("/_sandbox/touch", json={"entity": "worker", "ids": [wid]})

    await authed.post("/_sandbox/reset")

    assert sandbox.workers[wid]["lastUpdated"] == seeded
    assert (await authed.get(f"{API}/workers")).status_code == 401


async def test_openapi_lists_the_vendor_routes(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]

    assert set(paths) == {
        "/ccx/oauth2/{tenant}/token",
        "/ccx/api/staffing/v6/{tenant}/workers",
        "/ccx/api/staffing/v6/{tenant}/workers/{worker_id}",
    }

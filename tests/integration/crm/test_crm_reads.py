"""The CRM over real HTTP: OAuth sessions, batched reads, paging, quota and errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sandboxes.world.model import World
from sources.crm.connector import CrmConnector
from sources.errors import RateLimited, SourceRejected
from sources.records import Opportunity
from tests.integration.crm.conftest import Spent

API = "/services/data/v62.0"
TOKEN = "POST /services/oauth2/token"
COLLECTIONS = f"POST {API}/composite/sobjects/{{sobject}}"
QUERIES = f"GET {API}/query"


async def test_the_first_call_fetches_a_token_and_later_calls_reuse_it(
    crm: CrmConnector, world: World, requests_since: Callable[[], Spent]
) -> None:
    spent = requests_since()

    await crm.get_many("account", [world.clients[0].crm_id])
    await crm.get_many("account", [world.clients[1].crm_id])

    assert spent() == {TOKEN: 1, COLLECTIONS: 2}


async def test_an_expired_session_is_renewed_once(
    crm: CrmConnector, world: World, requests_since: Callable[[], Spent], admin: Any
) -> None:
    admin("sessions", {"lifetime_s": 0.2})
    await crm.get_many("account", [world.clients[0].crm_id])
    await asyncio.sleep(0.3)
    spent = requests_since()

    (record,) = await crm.get_many("account", [world.clients[0].crm_id])

    assert record is not None
    assert spent() == {TOKEN: 1, COLLECTIONS: 2}  # refused once, then resent


async def test_sessions_expired_all_at_once_are_renewed(
    crm: CrmConnector, world: World, requests_since: Callable[[], Spent], admin: Any
) -> None:
    await crm.get_many("opportunity", [world.opportunities[0].crm_id])
    admin("sessions", {"expire": True})
    spent = requests_since()

    await asyncio.gather(
        *(crm.get_many("opportunity", [o.crm_id]) for o in world.opportunities[:4])
    )

    assert spent()[TOKEN] == 1


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="none"),
        pytest.param("Bearer not-a-session", id="unknown-token"),
        pytest.param("Bearer crm-sandbox-secret", id="client-secret"),
    ],
)
def test_calls_without_a_session_get_salesforces_401(
    crm_url: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    answer = httpx.get(
        f"{crm_url}{API}/query", params={"q": "SELECT Id FROM Account"}, headers=headers
    )

    assert answer.status_code == 401
    assert answer.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}
    ]
    assert answer.headers["Sforce-Limit-Info"].startswith("api-usage=")


async def test_500_ids_cost_one_request_and_the_token(
    crm: CrmConnector, world: World, requests_since: Callable[[], Spent]
) -> None:
    ids = [o.crm_id for o in world.opportunities[:500]]
    spent = requests_since()

    records = await crm.get_many("opportunity", ids)

    assert [r.id if r else None for r in records] == ids
    assert all(isinstance(r, Opportunity) for r in records)
    assert spent() == {TOKEN: 1, COLLECTIONS: 1}


async def test_short_ids_read_as_their_18_char_records(crm: CrmConnector, world: World) -> None:
    ids = [c.crm_id for c in world.clients[:3]]

    records = await crm.get_many("account", [i[:15] for i in ids])

    assert [r.id if r else None for r in records] == ids


async def test_paging_returns_every_account_exactly_once(
    crm: CrmConnector, world: World, requests_since: Callable[[], Spent]
) -> None:
    spent = requests_since()
    seen: list[str] = []
    totals: set[int | None] = set()
    cursor: str | None = None
    pages = 0
    while True:
        page = await crm.list("account", page_size=120, cursor=cursor)
        seen.extend(r.id for r in page.items)
        totals.add(page.total)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break

    assert len(seen) == len(set(seen))
    assert set(seen) >= {c.crm_id for c in world.clients}
    assert totals == {len(seen)}
    assert spent()[QUERIES] == pages


async def test_won_opportunities_of_some_accounts_are_listed(
    crm: CrmConnector, world: World
) -> None:
    accounts = [c.crm_id for c in world.clients[:20]]
    expected = {
        o.crm_id for o in world.opportunities if o.stage == "CLOSED_WON" and o.client_key < 20
    }

    page = await crm.list(
        "opportunity", {"account_id": accounts, "stage": "CLOSED_WON"}, page_size=2000
    )

    assert {r.id for r in page.items} == expected
    assert page.total == len(expected)


async def test_a_spent_daily_quota_is_rate_limiting(
    crm: CrmConnector, world: World, crm_url: str, admin: Any
) -> None:
    await crm.get_many("account", [world.clients[0].crm_id])
    admin("quota", {"limit": 10, "used": 10})

    with pytest.raises(RateLimited) as raised:
        await crm.get_many("account", [world.clients[0].crm_id])

    assert raised.value.retry_after is None
    answer = httpx.get(f"{crm_url}{API}/query", params={"q": "SELECT Id FROM Account"})
    assert answer.headers["Sforce-Limit-Info"] == "api-usage=10/10"


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        pytest.param("SELECT Id FROM Account WHERE", "MALFORMED_QUERY", id="malformed"),
        pytest.param("SELECT Id, Revenue__c FROM Account", "INVALID_FIELD", id="unknown-field"),
        pytest.param("SELECT Id FROM Lead", "INVALID_TYPE", id="unknown-object"),
    ],
)
async def test_bad_soql_is_rejected_with_the_vendor_code(
    crm: CrmConnector, soql: str, code: str
) -> None:
    with pytest.raises(SourceRejected) as raised:
        await crm.query(soql)

    assert raised.value.status == 400
    assert raised.value.vendor_code == code


async def test_raw_soql_reads_answer_plain_rows_in_as_few_batches_as_fit(
    crm: CrmConnector, world: World, requests_since: Callable[[], Spent]
) -> None:
    spent = requests_since()

    rows = await crm.query("SELECT Id, StageName FROM Opportunity ORDER BY Id", max_rows=5000)

    assert len(rows) == len(world.opportunities)
    assert set(rows[0]) == {"Id", "StageName"}
    assert spent() == {TOKEN: 1, QUERIES: 1}  # one batch of 2,000 holds them all

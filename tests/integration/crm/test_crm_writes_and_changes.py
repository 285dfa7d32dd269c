"""CRM writes and change scans over real HTTP: each write is seen once by the next scan,
upserts stay single, and only writes safe to repeat are retried."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from gateway.settings import Settings
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from sources.config import RetryPolicy
from sources.crm.connector import CrmConnector, Upserted
from sources.crm.formats import format_datetime
from sources.errors import SourceRejected, SourceUnavailable
from sources.records import Opportunity
from tests.integration.conftest import sandbox_faults
from tests.integration.crm.conftest import Spent, make_crm

pytestmark = pytest.mark.usefixtures("restores_crm")

API = "/services/data/v62.0"


@pytest.fixture
def faults(crm_url: str) -> Iterator[Callable[..., None]]:
    with sandbox_faults(crm_url) as inject:
        yield inject


def new_deal(world: World, **fields: Any) -> dict[str, Any]:
    return {
        "account_id": world.clients[0].crm_id,
        "name": f"Integration deal {uuid4().hex[:8]}",
        "stage": "NEGOTIATION",
        "close_date": "2026-03-31",
        "amount": "125000.00",
        "contract_type": "FIXED_FEE",
        **fields,
    }


async def test_each_write_is_seen_once_by_the_next_scan(crm: CrmConnector, world: World) -> None:
    start = await crm.changes("opportunity", None)

    created = await crm.create_opportunity(new_deal(world))
    after_create = await crm.changes("opportunity", start.cursor)
    await crm.set_opportunity_project(created, "PSA-WS-1")
    after_update = await crm.changes("opportunity", after_create.cursor)
    quiet = await crm.changes("opportunity", after_update.cursor)

    assert [r.id for r in after_create.records] == [created]
    (updated,) = after_update.records
    assert isinstance(updated, Opportunity)
    assert (updated.id, updated.psa_project_id) == (created, "PSA-WS-1")
    assert quiet.records == []


async def test_touched_accounts_and_contacts_show_up_in_their_scans(
    crm: CrmConnector, world: World, crm_url: str
) -> None:
    accounts = [c.crm_id for c in world.clients[10:13]]
    contacts = [c.crm_id for c in world.contacts[20:22]]
    starts = {e: await crm.changes(e, None) for e in ("account", "contact")}

    for entity, ids in (("account", accounts), ("contact", contacts)):
        answer = httpx.post(f"{crm_url}/_sandbox/touch", json={"entity": entity, "ids": ids})
        assert answer.json() == {"touched": len(ids)}

    changed_accounts = await crm.changes("account", starts["account"].cursor)
    changed_contacts = await crm.changes("contact", starts["contact"].cursor)
    assert sorted(r.id for r in changed_accounts.records) == sorted(accounts)
    assert sorted(r.id for r in changed_contacts.records) == sorted(contacts)


async def test_a_cursor_older_than_30_days_is_refused(crm: CrmConnector) -> None:
    stale = format_datetime(datetime.now(UTC) - timedelta(days=31))

    with pytest.raises(SourceRejected) as raised:
        await crm.changes("account", stale)

    assert raised.value.vendor_code == "INVALID_REPLICATION_DATE"


async def test_a_won_deal_is_listed_among_the_won(crm: CrmConnector, world: World) -> None:
    account = world.clients[1].crm_id
    created = await crm.create_opportunity(new_deal(world, account_id=account))

    await crm.close_opportunity_won(created)
    await crm.close_opportunity_won(created)  # repeating it changes nothing

    page = await crm.list("opportunity", {"account_id": account, "stage": "CLOSED_WON"})
    assert created in {r.id for r in page.items}


async def test_upserting_twice_leaves_one_account(crm: CrmConnector) -> None:
    key = f"it-{uuid4().hex}"

    first = await crm.upsert_account_by_external_id(
        "Psgraph_Key__c", key, {"name": "Upsert Ltd", "region": "EMEA"}
    )
    second = await crm.upsert_account_by_external_id(
        "Psgraph_Key__c", key, {"name": "Upsert Ltd", "owner": "Dana Lee"}
    )

    assert first == Upserted(first.id, created=True)
    assert second == Upserted(first.id, created=False)
    rows = await crm.query(f"SELECT Id, Name FROM Account WHERE Psgraph_Key__c = '{key}'")
    assert rows == [{"Id": first.id, "Name": "Upsert Ltd"}]
    (account,) = await crm.get_many("account", [first.id])
    assert account is not None
    assert account.model_dump(include={"region", "owner"}) == {
        "region": "EMEA",
        "owner": "Dana Lee",
    }


async def test_an_upsert_meeting_two_records_is_rejected_as_ambiguous(
    crm: CrmConnector, crm_url: str
) -> None:
    key = f"twin-{uuid4().hex}"
    token = httpx.post(
        f"{crm_url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "psgraph-test",
            "client_secret": "crm-sandbox-secret",
        },
    ).json()["access_token"]
    for _ in range(2):
        httpx.post(
            f"{crm_url}{API}/sobjects/Account",
            json={"Name": "Twin", "Psgraph_Key__c": key},
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()

    with pytest.raises(SourceRejected) as raised:
        await crm.upsert_account_by_external_id("Psgraph_Key__c", key, {"name": "Twin"})

    assert raised.value.status == 300


async def test_creates_are_sent_once_and_updates_are_retried(
    sandboxes: SandboxCluster,
    demo_settings: Settings,
    world: World,
    faults: Callable[..., None],
    requests_since: Callable[[], Spent],
) -> None:
    retry = RetryPolicy(attempts=3, backoff_initial=0.01, backoff_max=0.02, jitter=0.01)
    async with make_crm(sandboxes, demo_settings, retry=retry) as crm:
        await crm.get_many("account", [world.clients[0].crm_id])  # the token, before faults
        faults(error_rate=1.0, status=503)
        spent = requests_since()

        with pytest.raises(SourceUnavailable):
            await crm.create_opportunity(new_deal(world))
        with pytest.raises(SourceUnavailable):
            await crm.update_opportunity(world.opportunities[0].crm_id, {"name": "never applied"})

    assert spent() == {
        f"POST {API}/sobjects/{{sobject}}": 1,
        f"PATCH {API}/sobjects/{{sobject}}/{{record_id}}": 3,
    }

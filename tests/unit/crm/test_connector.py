"""The CRM connector against the in-process sandbox: canonical records, batching, paging,
change scans, idempotent writes and errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest

from sandboxes.crm.server import CrmSandbox
from sandboxes.crm.sobjects import ACCOUNT
from sandboxes.world.model import World
from sources.config import Credentials
from sources.connector import Page
from sources.crm.connector import CrmConnector, Upserted
from sources.errors import RateLimited, SourceDataError, SourceRejected
from sources.records import Account, Contact, Opportunity, Record
from tests.unit.crm.conftest import BASE_URL, settings

COLLECTIONS = "POST /services/data/v62.0/composite/sobjects/{sobject}"
QUERIES = "GET /services/data/v62.0/query"
TOKENS = "POST /services/oauth2/token"


def calls(sandbox: CrmSandbox, route: str) -> int:
    return sandbox.runtime.counts[route]


# --- reading by id -----------------------------------------------------------------------


async def test_records_come_back_aligned_with_the_ids_asked(
    connector: CrmConnector, world: World
) -> None:
    deals = world.opportunities
    asked = [deals[3].crm_id, "006000000000000AAA", deals[1].crm_id[:15], "junk", deals[3].crm_id]

    records = await connector.get_many("opportunity", asked)

    assert [r.id if r else None for r in records] == [
        deals[3].crm_id,
        None,
        deals[1].crm_id,
        None,
        deals[3].crm_id,
    ]


async def test_an_opportunity_reads_as_its_canonical_record(
    connector: CrmConnector, world: World
) -> None:
    deal = world.opportunities[4]

    (record,) = await connector.get_many("opportunity", [deal.crm_id])

    assert isinstance(record, Opportunity)
    assert record.model_dump(exclude={"modified_at"}) == {
        "id": deal.crm_id,
        "url": f"{BASE_URL}/lightning/r/Opportunity/{deal.crm_id}/view",
        "account_id": world.clients[deal.client_key].crm_id,
        "name": deal.name,
        "stage": "CLOSED_WON",
        "amount": deal.amount,
        "currency": "USD",
        "close_date": deal.close_date,
        "practice": "Data",
        "region": "EMEA",
        "contract_type": "TIME_AND_MATERIALS",
        "psa_project_id": world.projects[0].psa_id,
    }
    assert record.modified_at is not None


async def test_accounts_and_contacts_read_as_canonical_records(
    connector: CrmConnector, world: World
) -> None:
    client, contact = world.clients[1], world.contacts[1]

    (account,) = await connector.get_many("account", [client.crm_id])
    (person,) = await connector.get_many("contact", [contact.crm_id])

    assert account == Account(
        id=client.crm_id,
        modified_at=account.modified_at if account else None,
        url=f"{BASE_URL}/lightning/r/Account/{client.crm_id}/view",
        name=client.name,
        industry=client.industry,
        region=client.region,
        owner=client.owner,
    )
    assert isinstance(person, Contact)
    assert (person.name, person.email) == (contact.name, contact.email)
    assert person.account_id == world.clients[contact.client_key].crm_id


async def test_ids_are_read_in_chunks_of_the_batch_size(sandbox: CrmSandbox, world: World) -> None:
    ids = [o.crm_id for o in world.opportunities]  # 12
    async with CrmConnector(
        settings(batch_size=5), transport=httpx.ASGITransport(app=sandbox.app())
    ) as connector:
        records = await connector.get_many("opportunity", ids)

    assert [r.id for r in records if r] == ids
    assert calls(sandbox, COLLECTIONS) == 3
    assert calls(sandbox, TOKENS) == 1


async def test_reading_no_ids_costs_nothing(connector: CrmConnector, sandbox: CrmSandbox) -> None:
    assert await connector.get_many("account", ["junk"]) == [None]
    assert sandbox.runtime.counts.total() == 0


async def test_unknown_entities_are_a_caller_error(connector: CrmConnector) -> None:
    with pytest.raises(ValueError, match="lead"):
        await connector.get_many("lead", [])


# --- listing -----------------------------------------------------------------------------


async def list_all(
    connector: CrmConnector, entity: str, filters: dict[str, object], size: int
) -> list[Page[Record]]:
    pages: list[Page[Record]] = []
    cursor = None
    while True:
        page = await connector.list(entity, filters, page_size=size, cursor=cursor)
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            return pages


async def test_paging_returns_every_record_once_with_the_total_on_every_page(
    connector: CrmConnector, sandbox: CrmSandbox, world: World
) -> None:
    pages = await list_all(connector, "opportunity", {}, size=5)

    ids = [r.id for page in pages for r in page.items]
    assert sorted(ids) == sorted(o.crm_id for o in world.opportunities)
    assert len(ids) == len(set(ids))
    assert [len(p.items) for p in pages] == [5, 5, 2]
    assert {p.total for p in pages} == {12}
    assert calls(sandbox, QUERIES) == 3


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param(
            {"account_id": "CLIENT0"},
            lambda w: {o.crm_id for o in w.opportunities if o.client_key == 0},
            id="one-account",
        ),
        pytest.param(
            {"account_id": ["CLIENT0", "CLIENT2"]},
            lambda w: {o.crm_id for o in w.opportunities if o.client_key in (0, 2)},
            id="several-accounts",
        ),
        pytest.param(
            {"stage": "CLOSED_WON"},
            lambda w: {o.crm_id for o in w.opportunities if o.stage == "CLOSED_WON"},
            id="closed-won",
        ),
        pytest.param(
            {"stage": "CLOSED_LOST"},
            lambda w: {o.crm_id for o in w.opportunities if o.stage == "CLOSED_LOST"},
            id="closed-lost",
        ),
        pytest.param(
            {"stage": "PROPOSAL", "account_id": "CLIENT2"},
            lambda w: {
                o.crm_id for o in w.opportunities if o.stage == "PROPOSAL" and o.client_key == 2
            },
            id="stage-and-account",
        ),
    ],
)
async def test_opportunities_are_filtered_by_account_and_stage(
    connector: CrmConnector, world: World, filters: dict[str, object], expected
) -> None:
    def resolve(value: object) -> object:
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, str) and value.startswith("CLIENT"):
            return world.clients[int(value[6:])].crm_id[:15]  # the short form works too
        return value

    page = await connector.list(
        "opportunity", {k: resolve(v) for k, v in filters.items()}, page_size=100
    )

    assert {r.id for r in page.items} == expected(world)
    assert page.total == len(page.items)


async def test_accounts_are_searched_by_name(connector: CrmConnector, world: World) -> None:
    page = await connector.list("account", {"search": "nt 1 hold"})

    assert [r.id for r in page.items] == [world.clients[1].crm_id]


async def test_contacts_are_listed_by_account(connector: CrmConnector, world: World) -> None:
    page = await connector.list("contact", {"account_id": world.clients[0].crm_id})

    assert {r.id for r in page.items} == {c.crm_id for c in world.contacts if c.client_key == 0}


async def test_filters_that_can_match_nothing_cost_nothing(
    connector: CrmConnector, sandbox: CrmSandbox
) -> None:
    page = await connector.list("opportunity", {"account_id": ["junk"]})

    assert (page.items, page.next_cursor, page.total) == ([], None, 0)
    assert sandbox.runtime.counts.total() == 0


@pytest.mark.parametrize(
    ("entity", "filters", "cursor", "complaint"),
    [
        pytest.param(
            "account", {"stage": "PROSPECTING"}, None, "filtered by stage", id="filter-not-offered"
        ),
        pytest.param("opportunity", {"stage": "WON"}, None, "stage 'WON'", id="unknown-stage"),
        pytest.param("account", {}, "page-2", "cursor", id="foreign-cursor"),
    ],
)
async def test_bad_list_requests_are_caller_errors(
    connector: CrmConnector,
    entity: str,
    filters: dict[str, object],
    cursor: str | None,
    complaint: str,
) -> None:
    with pytest.raises(ValueError, match=complaint):
        await connector.list(entity, filters, cursor=cursor)


# --- change scans ------------------------------------------------------------------------


async def test_a_scan_without_a_cursor_starts_now(
    connector: CrmConnector, sandbox: CrmSandbox
) -> None:
    start = await connector.changes("opportunity", None)

    assert start.records == []
    assert start.cursor
    assert sandbox.runtime.counts.total() == 0


async def test_scans_return_what_changed_since_the_cursor_exactly_once(
    connector: CrmConnector, world: World
) -> None:
    start = await connector.changes("opportunity", None)
    deal = world.opportunities[0]
    await connector.close_opportunity_won(deal.crm_id)

    after = await connector.changes("opportunity", start.cursor)
    quiet = await connector.changes("opportunity", after.cursor)

    (record,) = after.records
    assert isinstance(record, Opportunity)
    assert (record.id, record.stage) == (deal.crm_id, "CLOSED_WON")
    assert quiet.records == []


# --- writes ------------------------------------------------------------------------------


async def test_opportunities_are_updated_from_canonical_fields(
    connector: CrmConnector, world: World
) -> None:
    deal = world.opportunities[0].crm_id

    await connector.update_opportunity(
        deal,
        {"stage": "NEGOTIATION", "amount": Decimal("99.95"), "close_date": date(2025, 1, 31)},
    )
    await connector.set_opportunity_project(deal, "7777")

    (record,) = await connector.get_many("opportunity", [deal])
    assert isinstance(record, Opportunity)
    assert (record.stage, record.amount, record.close_date, record.psa_project_id) == (
        "NEGOTIATION",
        Decimal("99.95"),
        date(2025, 1, 31),
        "7777",
    )


async def test_a_record_read_again_shows_its_change_and_an_unchanged_one_is_reused(
    connector: CrmConnector, world: World
) -> None:
    deal, other = world.opportunities[0].crm_id, world.opportunities[1].crm_id
    before = await connector.get_many("opportunity", [deal, other])
    await connector.update_opportunity(deal, {"amount": Decimal("12.34")})

    after = await connector.get_many("opportunity", [deal, other])

    assert isinstance(after[0], Opportunity)
    assert after[0].amount == Decimal("12.34")
    assert after[1] is before[1]


async def test_unknown_canonical_fields_are_refused_before_any_call(
    connector: CrmConnector, sandbox: CrmSandbox, world: World
) -> None:
    with pytest.raises(ValueError, match="IsWon"):
        await connector.update_opportunity(world.opportunities[0].crm_id, {"IsWon": True})
    assert sandbox.runtime.counts.total() == 0


async def test_created_opportunities_can_be_read_back(
    connector: CrmConnector, world: World
) -> None:
    new_id = await connector.create_opportunity(
        {
            "account_id": world.clients[0].crm_id,
            "name": "Fresh deal",
            "stage": "PROSPECTING",
            "close_date": "2025-06-30",
            "contract_type": "MILESTONE",
        }
    )

    (record,) = await connector.get_many("opportunity", [new_id])
    assert isinstance(record, Opportunity)
    assert (record.name, record.contract_type) == ("Fresh deal", "MILESTONE")


async def test_a_create_missing_required_fields_is_rejected_with_the_vendor_code(
    connector: CrmConnector, world: World
) -> None:
    with pytest.raises(SourceRejected) as raised:
        await connector.create_opportunity({"account_id": world.clients[0].crm_id, "name": "x"})

    assert raised.value.vendor_code == "REQUIRED_FIELD_MISSING"
    assert raised.value.status == 400


async def test_upserting_twice_creates_once(connector: CrmConnector) -> None:
    first = await connector.upsert_account_by_external_id(
        "Psgraph_Key__c", "acme emea 1", {"name": "Acme"}
    )
    second = await connector.upsert_account_by_external_id(
        "Psgraph_Key__c", "acme emea 1", {"name": "Acme", "region": "EMEA"}
    )

    assert first == Upserted(first.id, created=True)
    assert second == Upserted(first.id, created=False)
    page = await connector.list("account", {"search": "Acme"})
    assert [r.id for r in page.items] == [first.id]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("Psgraph_Key__c", "a/b", id="slash-in-value"),
        pytest.param("Psgraph_Key__c", "", id="empty-value"),
        pytest.param("Key__c/../Id", "a", id="not-a-field-name"),
    ],
)
async def test_upserts_the_rest_path_cannot_carry_are_refused(
    connector: CrmConnector, sandbox: CrmSandbox, field: str, value: str
) -> None:
    with pytest.raises(ValueError, match=r"upserted|field name"):
        await connector.upsert_account_by_external_id(field, value, {"name": "x"})
    assert sandbox.runtime.counts.total() == 0


async def test_an_upsert_meeting_several_records_is_rejected(
    connector: CrmConnector, sandbox: CrmSandbox
) -> None:
    for _ in range(2):
        sandbox.org.create(ACCOUNT, {"Name": "Twin", "Psgraph_Key__c": "twin"})

    with pytest.raises(SourceRejected) as raised:
        await connector.upsert_account_by_external_id("Psgraph_Key__c", "twin", {"name": "x"})

    assert raised.value.status == 300


# --- errors ------------------------------------------------------------------------------


async def test_an_expired_session_is_renewed_without_the_caller_noticing(
    connector: CrmConnector, sandbox: CrmSandbox, world: World
) -> None:
    await connector.get_many("account", [world.clients[0].crm_id])
    sandbox.sessions.expire_all()

    (record,) = await connector.get_many("account", [world.clients[0].crm_id])

    assert record is not None
    assert calls(sandbox, TOKENS) == 2


async def test_a_spent_quota_is_rate_limiting(connector: CrmConnector, sandbox: CrmSandbox) -> None:
    sandbox.quota.limit = 0

    with pytest.raises(RateLimited) as raised:
        await connector.list("account")

    assert raised.value.retry_after is None


async def test_a_malformed_query_is_rejected_with_the_vendor_message(
    connector: CrmConnector,
) -> None:
    with pytest.raises(SourceRejected) as raised:
        await connector.query("SELECT Id FROM Account WHERE")

    assert raised.value.vendor_code == "MALFORMED_QUERY"


async def test_wrong_credentials_are_rejected(sandbox: CrmSandbox) -> None:
    wrong = settings(credentials=Credentials(client_id="psgraph", client_secret="wrong"))
    async with CrmConnector(wrong, transport=httpx.ASGITransport(app=sandbox.app())) as connector:
        with pytest.raises(SourceRejected) as raised:
            await connector.list("account")

    assert raised.value.vendor_code == "invalid_client"


async def test_an_answer_that_is_not_json_is_a_data_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t"})
        return httpx.Response(200, text="<html>Log in to Salesforce</html>")

    async with CrmConnector(settings(), transport=httpx.MockTransport(handler)) as connector:
        with pytest.raises(SourceDataError):
            await connector.list("account")


def answering(content: bytes) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t"})
        return httpx.Response(200, content=content, headers={"Content-Type": "application/json"})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        pytest.param(b"[]", "without records", id="a-list"),
        pytest.param(b'{"totalSize": 1, "done": true}', "without records", id="no-records"),
        pytest.param(
            b'{"records": {}, "totalSize": 0}', "without records", id="records-not-a-list"
        ),
        pytest.param(b'{"records": [], "done": true}', "without totalSize", id="no-total"),
        pytest.param(b'{"records": [], "totalSize": true}', "without totalSize", id="total-bool"),
        pytest.param(
            b'{"records": [], "totalSize": 9, "done": false}', "nextRecordsUrl", id="no-next"
        ),
        pytest.param(
            b'{"records": [7], "totalSize": 1}', "not an object", id="record-not-an-object"
        ),
        pytest.param(b'{"records": [', "malformed JSON", id="cut-short"),
    ],
)
async def test_a_query_answer_that_is_not_salesforces_is_a_data_error_saying_what(
    content: bytes, says: str
) -> None:
    async with CrmConnector(settings(), transport=answering(content)) as connector:
        with pytest.raises(SourceDataError, match=says):
            await connector.list("account")
        with pytest.raises(SourceDataError, match=says):
            await connector.query("SELECT Id FROM Account")


@pytest.mark.parametrize(
    "content",
    [b'{"ids": []}', b"[null]", b'[{"Id": 1}, null]'],
    ids=["not-a-list", "fewer-rows", "not-aligned"],
)
async def test_a_collection_that_is_not_aligned_with_the_ids_is_a_data_error(
    content: bytes,
) -> None:
    ids = ["001000000000001AAA", "001000000000002AAA", "001000000000003AAA"]
    async with CrmConnector(settings(), transport=answering(content)) as connector:
        with pytest.raises(SourceDataError):
            await connector.get_many("account", ids)


def test_the_connector_needs_client_credentials() -> None:
    with pytest.raises(ValueError, match="client_secret"):
        CrmConnector(settings(credentials=Credentials(client_id="x")))

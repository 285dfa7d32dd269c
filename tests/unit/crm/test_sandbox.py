"""The CRM sandbox speaks Salesforce: its routes, shapes, limits and error bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sandboxes.crm.server import CrmSandbox
from sandboxes.world.model import World
from sources.crm.formats import format_datetime, parse_datetime
from tests.unit.crm.conftest import BASE_URL, SECRET, small_world

API = "/services/data/v62.0"


def assert_vendor_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, list)
    assert body[0]["errorCode"] == code
    assert set(body[0]) == {"message", "errorCode", "fields"}


async def query(api: httpx.AsyncClient, soql: str, **headers: str) -> httpx.Response:
    return await api.get(f"{API}/query", params={"q": soql}, headers=headers)


# --- OAuth -----------------------------------------------------------------------------


async def test_the_token_endpoint_grants_client_credentials(sandbox: CrmSandbox) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app()), base_url=BASE_URL
    ) as http:
        answer = await http.post(
            "/services/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": "x", "client_secret": SECRET},
        )
        body = answer.json()
        data = await http.get(
            f"{API}/sobjects/Account/{sandbox.world.clients[0].crm_id}",
            headers={"Authorization": f"Bearer {body['access_token']}"},
        )

    assert answer.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == BASE_URL
    assert {"issued_at", "signature", "id"} <= set(body)
    assert data.status_code == 200


@pytest.mark.parametrize(
    ("form", "error"),
    [
        pytest.param(
            {"grant_type": "client_credentials", "client_id": "x", "client_secret": "nope"},
            "invalid_client",
            id="wrong-secret",
        ),
        pytest.param(
            {"grant_type": "password", "client_id": "x", "client_secret": SECRET},
            "unsupported_grant_type",
            id="wrong-grant",
        ),
        pytest.param(
            {"grant_type": "client_credentials", "client_secret": SECRET},
            "invalid_client_id",
            id="no-client-id",
        ),
    ],
)
async def test_the_token_endpoint_refuses_in_oauth_shape(
    sandbox: CrmSandbox, form: dict[str, str], error: str
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app()), base_url=BASE_URL
    ) as http:
        answer = await http.post("/services/oauth2/token", data=form)

    assert answer.status_code == 400
    assert answer.json()["error"] == error


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-header"),
        pytest.param({"Authorization": "Bearer not-a-session"}, id="unknown-token"),
        pytest.param({"Authorization": f"Bearer {SECRET}"}, id="client-secret-is-not-a-token"),
        pytest.param({"Authorization": "Basic dXNlcjpwdw=="}, id="basic-auth"),
    ],
)
async def test_calls_without_a_live_session_get_invalid_session_id(
    sandbox: CrmSandbox, headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app()), base_url=BASE_URL
    ) as http:
        answer = await http.get(
            f"{API}/query", params={"q": "SELECT Id FROM Account"}, headers=headers
        )

    assert_vendor_error(answer, 401, "INVALID_SESSION_ID")


async def test_sessions_expire_after_their_lifetime(
    sandbox: CrmSandbox, api: httpx.AsyncClient
) -> None:
    sandbox.sessions.lifetime_s = 0.0
    token = sandbox.sessions.issue()

    answer = await api.get(
        f"{API}/query",
        params={"q": "SELECT Id FROM Account"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert_vendor_error(answer, 401, "INVALID_SESSION_ID")


async def test_the_sessions_knob_expires_every_session(api: httpx.AsyncClient) -> None:
    before = await query(api, "SELECT Id FROM Account")
    knob = await api.post("/_sandbox/sessions", json={"expire": True})
    after = await query(api, "SELECT Id FROM Account")

    assert before.status_code == 200
    assert knob.json()["active"] == 0
    assert_vendor_error(after, 401, "INVALID_SESSION_ID")


# --- limits ----------------------------------------------------------------------------


async def test_every_vendor_response_reports_api_usage(api: httpx.AsyncClient) -> None:
    first = await query(api, "SELECT Id FROM Account")
    second = await api.get(f"{API}/sobjects/Account/001000000000000AAA")

    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/1000000"
    assert second.headers["Sforce-Limit-Info"] == "api-usage=2/1000000"
    assert "Sforce-Limit-Info" not in (await api.get("/_sandbox/stats")).headers


async def test_a_spent_daily_quota_answers_403_request_limit_exceeded(
    api: httpx.AsyncClient,
) -> None:
    await api.post("/_sandbox/quota", json={"limit": 5, "used": 5})

    answer = await query(api, "SELECT Id FROM Account")

    assert_vendor_error(answer, 403, "REQUEST_LIMIT_EXCEEDED")
    assert "Retry-After" not in answer.headers
    assert answer.headers["Sforce-Limit-Info"] == "api-usage=5/5"


async def test_reset_restores_the_quota(api: httpx.AsyncClient) -> None:
    await api.post("/_sandbox/quota", json={"limit": 5, "used": 5})
    await api.post("/_sandbox/reset")

    assert (await api.get("/_sandbox/quota")).json() == {"limit": 1_000_000, "used": 0}


async def test_injected_faults_answer_in_the_vendor_shape(api: httpx.AsyncClient) -> None:
    await api.post("/_sandbox/faults", json={"outage": True})

    answer = await query(api, "SELECT Id FROM Account")

    assert_vendor_error(answer, 503, "SERVER_UNAVAILABLE")


# --- SOQL ------------------------------------------------------------------------------


async def test_a_query_answers_records_with_their_attributes(
    api: httpx.AsyncClient, world: World
) -> None:
    client = world.clients[0]
    answer = await query(
        api, f"SELECT Id, Name, Region__c FROM Account WHERE Id = '{client.crm_id[:15]}'"
    )

    assert answer.json() == {
        "totalSize": 1,
        "done": True,
        "records": [
            {
                "attributes": {"type": "Account", "url": f"{API}/sobjects/Account/{client.crm_id}"},
                "Id": client.crm_id,
                "Name": client.name,
                "Region__c": client.region,
            }
        ],
    }


async def test_opportunities_carry_salesforce_field_values(
    api: httpx.AsyncClient, world: World
) -> None:
    deal = world.opportunities[4]
    answer = await query(
        api,
        "SELECT StageName, IsClosed, IsWon, Amount, CloseDate, Contract_Type__c, "
        f"PSA_Project_Id__c, SystemModstamp FROM Opportunity WHERE Id = '{deal.crm_id}'",
    )

    (record,) = answer.json()["records"]
    assert record["StageName"] == "Closed Won"
    assert record["IsClosed"] is record["IsWon"] is True
    assert record["Amount"] == float(deal.amount)
    assert record["CloseDate"] == deal.close_date.isoformat()
    assert record["Contract_Type__c"] == "Time and Materials"
    assert record["PSA_Project_Id__c"] == world.projects[0].psa_id
    assert record["SystemModstamp"].endswith("+0000")


async def test_count_queries_answer_only_a_total(api: httpx.AsyncClient, world: World) -> None:
    account = world.clients[0].crm_id
    answer = await query(api, f"SELECT COUNT() FROM Opportunity WHERE AccountId = '{account}'")

    expected = sum(1 for o in world.opportunities if o.client_key == 0)
    assert answer.json() == {"totalSize": expected, "done": True, "records": []}


async def test_order_limit_and_offset(api: httpx.AsyncClient, world: World) -> None:
    answer = await query(api, "SELECT Name FROM Opportunity ORDER BY Amount DESC LIMIT 3 OFFSET 1")

    by_amount = sorted(world.opportunities, key=lambda o: o.amount, reverse=True)
    assert [r["Name"] for r in answer.json()["records"]] == [o.name for o in by_amount[1:4]]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        pytest.param("SELECT Id FROM Account WHERE", "MALFORMED_QUERY", id="malformed"),
        pytest.param("SELECT Nope__c FROM Account", "INVALID_FIELD", id="unknown-field"),
        pytest.param(
            "SELECT Id FROM Account WHERE Nope = 'x'", "INVALID_FIELD", id="unknown-filter"
        ),
        pytest.param("SELECT Id FROM Account ORDER BY Nope", "INVALID_FIELD", id="unknown-order"),
        pytest.param("SELECT Id FROM Lead", "INVALID_TYPE", id="unknown-object"),
        pytest.param(
            "SELECT Id FROM Opportunity WHERE Amount = '5'", "MALFORMED_QUERY", id="quoted-number"
        ),
        pytest.param(
            "SELECT Id FROM Opportunity WHERE SystemModstamp > '2024-01-01T00:00:00Z'",
            "MALFORMED_QUERY",
            id="quoted-datetime",
        ),
        pytest.param(
            "SELECT Id FROM Account WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR", id="bad-id"
        ),
        pytest.param(
            "SELECT Id FROM Opportunity WHERE Amount LIKE '5%'",
            "INVALID_QUERY_FILTER_OPERATOR",
            id="like-on-number",
        ),
        pytest.param(
            "SELECT Id FROM Account OFFSET 5000", "NUMBER_OUTSIDE_VALID_RANGE", id="offset"
        ),
    ],
)
async def test_bad_queries_are_refused_with_salesforce_codes(
    api: httpx.AsyncClient, soql: str, code: str
) -> None:
    assert_vendor_error(await query(api, soql), 400, code)


async def test_a_query_without_q_is_malformed(api: httpx.AsyncClient) -> None:
    assert_vendor_error(await api.get(f"{API}/query"), 400, "MALFORMED_QUERY")


@pytest.fixture
def many() -> CrmSandbox:
    return CrmSandbox(small_world(clients=50, opportunities_per_client=9), token=SECRET)


@pytest.fixture
def many_api(many: CrmSandbox) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=many.app()),
        base_url=BASE_URL,
        headers={"Authorization": f"Bearer {many.sessions.issue()}"},
    )


@pytest.mark.parametrize(
    ("options", "batches"),
    [
        pytest.param("batchSize=200", [200, 200, 50], id="200"),
        pytest.param("batchSize=50", [200, 200, 50], id="raised-to-200"),
        pytest.param("batchSize=300", [300, 150], id="300"),
        pytest.param("batchSize=9000", [450], id="lowered-to-2000"),
        pytest.param("", [450], id="default-2000"),
    ],
)
async def test_results_come_in_batches_with_a_next_records_url(
    many_api: httpx.AsyncClient, options: str, batches: list[int]
) -> None:
    headers = {"Sforce-Query-Options": options} if options else {}
    answer = (await query(many_api, "SELECT Id FROM Opportunity ORDER BY Id", **headers)).json()
    sizes, ids = [len(answer["records"])], [r["Id"] for r in answer["records"]]
    while not answer["done"]:
        answer = (await many_api.get(answer["nextRecordsUrl"])).json()
        sizes.append(len(answer["records"]))
        ids.extend(r["Id"] for r in answer["records"])

    assert sizes == batches
    assert answer["totalSize"] == 450
    assert ids == sorted(ids, key=str.casefold)
    assert len(set(ids)) == 450


async def test_an_unknown_query_locator_is_refused(api: httpx.AsyncClient) -> None:
    answer = await api.get(f"{API}/query/01gdeadbeef-200")

    assert_vendor_error(answer, 400, "INVALID_QUERY_LOCATOR")


# --- sObject collections and single records ----------------------------------------------


async def test_collections_answer_aligned_with_the_ids_and_null_for_unknown_ones(
    api: httpx.AsyncClient, world: World
) -> None:
    deals = world.opportunities
    asked = [deals[2].crm_id, "006000000000000AAA", deals[0].crm_id[:15], "junk", deals[1].crm_id]

    posted = await api.post(
        f"{API}/composite/sobjects/Opportunity", json={"ids": asked, "fields": ["Name"]}
    )
    got = await api.get(
        f"{API}/composite/sobjects/Opportunity",
        params={"ids": ",".join(asked), "fields": "Name"},
    )

    for answer in (posted, got):
        records = answer.json()
        assert [r and r["Id"] for r in records] == [
            deals[2].crm_id,
            None,
            deals[0].crm_id,
            None,
            deals[1].crm_id,
        ]
        assert records[0]["Name"] == deals[2].name


async def test_ids_of_another_object_are_null_in_a_collection(
    api: httpx.AsyncClient, world: World
) -> None:
    answer = await api.post(
        f"{API}/composite/sobjects/Opportunity",
        json={"ids": [world.clients[0].crm_id], "fields": ["Name"]},
    )

    assert answer.json() == [None]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param({"ids": [], "fields": ["Nope"]}, 400, "INVALID_FIELD", id="unknown-field"),
        pytest.param({"ids": []}, 400, "MISSING_ARGUMENT", id="no-fields"),
        pytest.param({"fields": ["Name"]}, 400, "MISSING_ARGUMENT", id="no-ids"),
        pytest.param(
            {"ids": ["006000000000000AAA"] * 2001, "fields": ["Name"]},
            400,
            "LIMIT_EXCEEDED",
            id="over-2000",
        ),
    ],
)
async def test_bad_collection_requests_are_refused(
    api: httpx.AsyncClient, body: dict[str, Any], status: int, code: str
) -> None:
    answer = await api.post(f"{API}/composite/sobjects/Opportunity", json=body)

    assert_vendor_error(answer, status, code)


async def test_a_single_record_is_read_by_either_id_form(
    api: httpx.AsyncClient, world: World
) -> None:
    contact = world.contacts[0]

    answer = await api.get(f"{API}/sobjects/contact/{contact.crm_id[:15]}")

    body = answer.json()
    assert body["Id"] == contact.crm_id
    assert body["Name"] == contact.name
    assert body["AccountId"] == world.clients[contact.client_key].crm_id


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("sobjects/Account/001000000000000AAA", id="unknown-id"),
        pytest.param("sobjects/Account/junk", id="malformed-id"),
        pytest.param("sobjects/Lead/00Q000000000000AAA", id="unknown-object"),
    ],
)
async def test_missing_records_are_not_found(api: httpx.AsyncClient, path: str) -> None:
    assert_vendor_error(await api.get(f"{API}/{path}"), 404, "NOT_FOUND")


# --- change detection --------------------------------------------------------------------


def _window(start: datetime, end: datetime) -> dict[str, str]:
    return {"start": format_datetime(start), "end": format_datetime(end)}


async def test_updated_lists_what_changed_in_the_window(
    sandbox: CrmSandbox, api: httpx.AsyncClient, world: World
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    touched = [o.crm_id for o in world.opportunities[:2]]
    await api.post("/_sandbox/touch", json={"entity": "opportunity", "ids": touched})

    answer = await api.get(
        f"{API}/sobjects/Opportunity/updated/",
        params=_window(start, datetime.now(UTC) + timedelta(seconds=5)),
    )

    body = answer.json()
    assert sorted(body["ids"]) == sorted(touched)
    assert parse_datetime(body["latestDateCovered"]) <= datetime.now(UTC) + timedelta(seconds=1)


async def test_consecutive_windows_neither_lose_nor_repeat_a_change(
    api: httpx.AsyncClient, world: World
) -> None:
    cursor = datetime.now(UTC) - timedelta(seconds=1)
    seen: list[str] = []
    for deal in world.opportunities[:4]:
        await api.post("/_sandbox/touch", json={"entity": "opportunity", "ids": [deal.crm_id]})
        answer = (
            await api.get(
                f"{API}/sobjects/Opportunity/updated/",
                params=_window(cursor, datetime.now(UTC) + timedelta(hours=1)),
            )
        ).json()
        seen.extend(answer["ids"])
        cursor = parse_datetime(answer["latestDateCovered"])

    assert seen == [deal.crm_id for deal in world.opportunities[:4]]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(timedelta(days=-31), timedelta(0), id="more-than-30-days-back"),
        pytest.param(timedelta(hours=-1), timedelta(hours=-2), id="end-before-start"),
    ],
)
async def test_updated_refuses_windows_salesforce_refuses(
    api: httpx.AsyncClient, start: timedelta, end: timedelta
) -> None:
    now = datetime.now(UTC)
    answer = await api.get(
        f"{API}/sobjects/Account/updated/", params=_window(now + start, now + end)
    )

    assert_vendor_error(answer, 400, "INVALID_REPLICATION_DATE")


async def test_touch_knows_the_three_entities(api: httpx.AsyncClient, world: World) -> None:
    for entity, record_id in [
        ("account", world.clients[0].crm_id),
        ("contact", world.contacts[0].crm_id),
        ("opportunity", world.opportunities[0].crm_id[:15]),
    ]:
        answer = await api.post("/_sandbox/touch", json={"entity": entity, "ids": [record_id]})
        assert answer.json() == {"touched": 1}
    unknown = await api.post("/_sandbox/touch", json={"entity": "lead", "ids": []})
    assert unknown.status_code == 400


# --- writes ------------------------------------------------------------------------------


async def test_create_answers_201_with_the_new_id(api: httpx.AsyncClient, world: World) -> None:
    answer = await api.post(
        f"{API}/sobjects/Opportunity",
        json={
            "AccountId": world.clients[0].crm_id,
            "Name": "New deal",
            "StageName": "Prospecting",
            "CloseDate": "2025-03-31",
            "Amount": 1200.5,
        },
    )

    body = answer.json()
    assert answer.status_code == 201
    assert body["success"] is True
    assert body["errors"] == []
    created = (await api.get(f"{API}/sobjects/Opportunity/{body['id']}")).json()
    assert created["Amount"] == 1200.5
    assert created["IsClosed"] is False


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        pytest.param({"CloseDate": None}, "REQUIRED_FIELD_MISSING", id="required-missing"),
        pytest.param({"IsWon": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", id="read-only"),
        pytest.param({"Nope__c": 1}, "INVALID_FIELD", id="unknown-field"),
        pytest.param(
            {"StageName": "Won-ish"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", id="picklist"
        ),
        pytest.param({"CloseDate": "31/03/2025"}, "JSON_PARSER_ERROR", id="bad-date"),
        pytest.param({"Amount": "lots"}, "JSON_PARSER_ERROR", id="bad-number"),
        pytest.param({"AccountId": "001000000000000AAA"}, "INVALID_CROSS_REFERENCE_KEY", id="ref"),
        pytest.param({"AccountId": "nope"}, "MALFORMED_ID", id="malformed-ref"),
    ],
)
async def test_bad_writes_are_refused_with_salesforce_codes(
    api: httpx.AsyncClient, world: World, fields: dict[str, Any], code: str
) -> None:
    valid = {
        "AccountId": world.clients[0].crm_id,
        "Name": "Deal",
        "StageName": "Prospecting",
        "CloseDate": "2025-03-31",
    }
    answer = await api.post(f"{API}/sobjects/Opportunity", json={**valid, **fields})

    assert_vendor_error(answer, 400, code)


async def test_update_answers_204_and_moves_the_modstamp(
    api: httpx.AsyncClient, world: World
) -> None:
    deal = world.opportunities[0]
    old = (await api.get(f"{API}/sobjects/Opportunity/{deal.crm_id}")).json()

    answer = await api.patch(
        f"{API}/sobjects/Opportunity/{deal.crm_id[:15]}", json={"StageName": "Closed Won"}
    )

    new = (await api.get(f"{API}/sobjects/Opportunity/{deal.crm_id}")).json()
    assert answer.status_code == 204
    assert new["StageName"] == "Closed Won"
    assert new["IsWon"] is True
    assert parse_datetime(new["SystemModstamp"]) > parse_datetime(old["SystemModstamp"])


async def test_updating_an_unknown_record_is_not_found(api: httpx.AsyncClient) -> None:
    answer = await api.patch(f"{API}/sobjects/Opportunity/006000000000000AAA", json={"Name": "x"})

    assert_vendor_error(answer, 404, "NOT_FOUND")


async def test_upsert_creates_then_updates_the_same_record(api: httpx.AsyncClient) -> None:
    path = f"{API}/sobjects/Account/Psgraph_Key__c/acme-42"

    created = await api.patch(path, json={"Name": "Acme"})
    updated = await api.patch(path, json={"Name": "Acme Ltd"})

    assert created.status_code == 201
    assert created.json()["created"] is True
    assert updated.status_code == 200
    assert updated.json() == {
        "id": created.json()["id"],
        "success": True,
        "errors": [],
        "created": False,
    }
    found = await query(api, "SELECT Name FROM Account WHERE Psgraph_Key__c = 'acme-42'")
    assert [r["Name"] for r in found.json()["records"]] == ["Acme Ltd"]


async def test_upsert_meeting_several_records_answers_300_with_their_urls(
    api: httpx.AsyncClient,
) -> None:
    for _ in range(2):
        await api.post(f"{API}/sobjects/Account", json={"Name": "Twin", "Psgraph_Key__c": "twin"})

    answer = await api.patch(f"{API}/sobjects/Account/Psgraph_Key__c/twin", json={"Name": "x"})

    assert answer.status_code == 300
    assert len(answer.json()) == 2
    assert all(url.startswith(f"{API}/sobjects/Account/001") for url in answer.json())


async def test_upsert_needs_an_external_id_field(api: httpx.AsyncClient) -> None:
    answer = await api.patch(f"{API}/sobjects/Account/Name/Acme", json={"Industry": "Banking"})

    assert_vendor_error(answer, 404, "NOT_FOUND")


async def test_writes_notify_subscribers_with_the_changed_fields(
    sandbox: CrmSandbox, api: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(sandbox, "changed", lambda kind, data: events.append((kind, data)))
    deal = world.opportunities[0]

    await api.patch(f"{API}/sobjects/Opportunity/{deal.crm_id}", json={"Name": "Renamed"})
    await api.patch(f"{API}/sobjects/Account/Psgraph_Key__c/new-one", json={"Name": "New"})

    assert events[0] == ("opportunity.updated", {"id": deal.crm_id, "changed_fields": ["Name"]})
    assert events[1][0] == "account.created"

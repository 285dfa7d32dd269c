"""The ERP sandbox speaks NetSuite's REST shapes and keeps its business rules."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandboxes.erp.server import ErpSandbox
from sandboxes.world.model import World


async def suiteql(vendor: httpx.AsyncClient, q: str, **params: Any) -> dict[str, Any]:
    response = await vendor.post("/query/v1/suiteql", params=params, json={"q": q})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_code(response: httpx.Response) -> str:
    return str(response.json()["o:errorDetails"][0]["o:errorCode"])


def active_job(world: World) -> tuple[str, str]:
    """(job id, customer id) of an active project with a finance code."""
    project = next(p for p in world.projects if p.status == "ACTIVE" and p.erp_job_id)
    assert project.erp_job_id is not None
    return project.erp_job_id, world.clients[project.client_key].erp_id


async def new_timebill(vendor: httpx.AsyncClient, job_id: str, ext: str, hours: float = 2) -> str:
    body = {"job": {"id": job_id}, "hours": hours, "rate": 150, "tranDate": "2026-01-10"}
    response = await vendor.put(f"/record/v1/timebill/eid:{ext}", json=body)
    assert response.status_code == 204, response.text
    return response.headers["Location"].rsplit("/", 1)[-1]


# --- reading ---------------------------------------------------------------------------------


async def test_records_read_by_id_or_external_id_with_refs(
    vendor: httpx.AsyncClient, small_world: World
) -> None:
    client = small_world.clients[0]
    by_id = (await vendor.get(f"/record/v1/customer/{client.erp_id}")).json()
    by_eid = (await vendor.get(f"/record/v1/customer/eid:{client.crm_id}")).json()
    assert by_id == by_eid
    assert by_id["externalId"] == client.crm_id
    assert by_id["terms"]["refName"] == client.payment_terms
    assert by_id["links"][0]["href"].endswith(f"/record/v1/customer/{client.erp_id}")


async def test_sublists_are_links_unless_expanded_and_fields_can_be_picked(
    vendor: httpx.AsyncClient, small_world: World
) -> None:
    schedule = small_world.billing_schedules[0]
    plain = (await vendor.get(f"/record/v1/billingschedule/{schedule.erp_id}")).json()
    assert set(plain["recurrence"]) == {"links"}
    expanded = (
        await vendor.get(
            f"/record/v1/billingschedule/{schedule.erp_id}", params={"expandSubResources": "true"}
        )
    ).json()
    assert len(expanded["recurrence"]["items"]) == len(schedule.lines)
    picked = (
        await vendor.get(f"/record/v1/billingschedule/{schedule.erp_id}", params={"fields": "job"})
    ).json()
    assert set(picked) == {"links", "id", "job"}


async def test_collections_page_ids_with_links(
    vendor: httpx.AsyncClient, small_world: World
) -> None:
    body = (await vendor.get("/record/v1/invoice", params={"limit": 10, "offset": 20})).json()
    assert body["count"] == 10
    assert body["offset"] == 20
    assert body["totalResults"] == len(small_world.invoices)
    assert body["hasMore"] is True
    assert {link["rel"] for link in body["links"]} == {"self", "first", "previous", "next", "last"}
    assert [item["id"] for item in body["items"]] == [i.erp_id for i in small_world.invoices[20:30]]


async def test_suiteql_rows_are_text_without_nulls(
    vendor: httpx.AsyncClient, small_world: World
) -> None:
    invoice = next(i for i in small_world.invoices if i.blocked_reason is None)
    body = await suiteql(
        vendor,
        "SELECT id, total, custbody_blocked_reason, trandate FROM invoice "
        f"WHERE id = {invoice.erp_id}",
    )
    assert body["items"] == [
        {
            "links": [],
            "id": invoice.erp_id,
            "total": str(invoice.amount),
            "trandate": invoice.issue_date.isoformat(),
        }
    ]


def test_a_sublist_index_answers_the_integer_ids_a_subquery_gives(sandbox: ErpSandbox) -> None:
    lines = sandbox.store.table("billingschedulerecurrence")
    schedule = next(row.get("billingschedule") for row in lines.rows)
    assert isinstance(schedule, int)
    assert lines.lookup is not None
    found = lines.lookup("billingschedule", [schedule])
    assert found == [row for row in lines.rows if row.get("billingschedule") == schedule]


@pytest.mark.parametrize(
    ("request_args", "status", "code"),
    [
        pytest.param(
            {"method": "POST", "url": "/query/v1/suiteql", "json": {"q": "SELECT id FROM job"},
             "headers": {"Prefer": "respond-async"}},
            400, "INVALID_HEADER", id="suiteql-without-prefer-transient",
        ),
        pytest.param(
            {"method": "POST", "url": "/query/v1/suiteql", "params": {"limit": 1001},
             "json": {"q": "SELECT id FROM job"}},
            400, "INVALID_PARAMETER", id="limit-over-1000",
        ),
        pytest.param(
            {"method": "POST", "url": "/query/v1/suiteql", "json": {"q": "SELEC id FROM job"}},
            400, "INVALID_PARAMETER", id="bad-suiteql",
        ),
        pytest.param(
            {"method": "POST", "url": "/query/v1/suiteql", "json": {"query": "SELECT 1"}},
            400, "INVALID_CONTENT", id="body-without-q",
        ),
        pytest.param(
            {"method": "GET", "url": "/record/v1/customer/999999999"},
            404, "NONEXISTENT_ID", id="missing-record",
        ),
        pytest.param(
            {"method": "GET", "url": "/record/v1/spaceship/1"},
            404, "INVALID_RCRD_TYPE", id="unknown-record-type",
        ),
        pytest.param(
            {"method": "PUT", "url": "/record/v1/customer/101", "json": {}},
            405, "INVALID_METHOD", id="put-needs-an-external-id",
        ),
        pytest.param(
            {"method": "POST", "url": "/record/v1/customer", "json": {"nickname": "x"}},
            400, "INVALID_FIELD", id="unknown-field",
        ),
        pytest.param(
            {"method": "POST", "url": "/record/v1/customer", "json": {"terms": {"id": "1"}}},
            400, "USER_ERROR", id="missing-mandatory-field",
        ),
        pytest.param(
            {"method": "POST", "url": "/record/v1/job",
             "json": {"companyName": "X", "parent": {"id": "999999"}}},
            400, "INVALID_KEY_OR_REF", id="dangling-reference",
        ),
        pytest.param(
            {"method": "POST", "url": "/record/v1/customer", "content": b"{not json"},
            400, "INVALID_CONTENT", id="malformed-json",
        ),
        pytest.param(
            {"method": "POST", "url": "/record/v1/currency", "json": {"name": "XBT"}},
            405, "METHOD_NOT_ALLOWED", id="read-only-list",
        ),
    ],
)  # fmt: skip
async def test_refusals_come_in_netsuite_error_bodies(
    vendor: httpx.AsyncClient, request_args: dict[str, Any], status: int, code: str
) -> None:
    response = await vendor.request(**request_args)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"type", "title", "status", "o:errorDetails"}
    assert body["status"] == status
    assert error_code(response) == code


async def test_a_wrong_token_is_401(sandbox: ErpSandbox, vendor: httpx.AsyncClient) -> None:
    response = await vendor.get("/record/v1/customer/101", headers={"Authorization": "Bearer no"})
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"


# --- writing -----------------------------------------------------------------------------------


async def test_create_answers_204_with_the_new_records_location(
    vendor: httpx.AsyncClient,
) -> None:
    response = await vendor.post("/record/v1/customer", json={"companyName": "Fresh Co"})
    assert response.status_code == 204
    assert response.content == b""
    new_id = response.headers["Location"].rsplit("/", 1)[-1]
    record = (await vendor.get(f"/record/v1/customer/{new_id}")).json()
    assert record["companyName"] == "Fresh Co"
    assert record["subsidiary"]["id"] == "1"  # the primary subsidiary by default
    assert record["currency"]["refName"] == "USD"


async def test_upsert_by_external_id_creates_once_then_updates(vendor: httpx.AsyncClient) -> None:
    first = await vendor.put("/record/v1/customer/eid:CRM-1", json={"companyName": "One"})
    second = await vendor.put("/record/v1/customer/eid:CRM-1", json={"companyName": "One Ltd"})
    assert first.headers["Location"] == second.headers["Location"]
    body = await suiteql(vendor, "SELECT id, companyname FROM customer WHERE externalid = 'CRM-1'")
    assert [row["companyname"] for row in body["items"]] == ["One Ltd"]


async def test_an_idempotency_key_replays_the_first_outcome_and_refuses_another_body(
    vendor: httpx.AsyncClient,
) -> None:
    key = {"X-NetSuite-Idempotency-Key": "6f1c2a9e-0000-4000-8000-000000000001"}
    body = {"companyName": "Once Only"}
    first = await vendor.post("/record/v1/customer", json=body, headers=key)
    again = await vendor.post("/record/v1/customer", json=body, headers=key)
    assert again.status_code == 204
    assert again.headers["Location"] == first.headers["Location"]
    count = await suiteql(
        vendor, "SELECT COUNT(*) AS n FROM customer WHERE companyname = 'Once Only'"
    )
    assert count["items"][0]["n"] == "1"

    other = await vendor.post("/record/v1/customer", json={"companyName": "Twice"}, headers=key)
    assert other.status_code == 400
    assert other.json()["title"] == "Conflict"
    assert error_code(other) == "IDEMPOTENCY_ERROR"


async def test_async_writes_answer_with_a_finished_job_and_keep_their_key(
    vendor: httpx.AsyncClient,
) -> None:
    headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": "async-key-1"}
    accepted = await vendor.post(
        "/record/v1/customer", json={"companyName": "Async"}, headers=headers
    )
    assert accepted.status_code == 202
    assert accepted.headers["Preference-Applied"] == "respond-async"
    job_url = accepted.headers["Location"]
    assert "/async/v1/job/" in job_url

    job = (await vendor.get(job_url)).json()
    assert (job["completed"], job["progress"]) == (True, "succeeded")
    result = await vendor.get(job["task"]["links"][0]["href"] + "/result")
    assert result.status_code == 204
    assert "/record/v1/customer/" in result.headers["Location"]

    repeat = await vendor.post(
        "/record/v1/customer", json={"companyName": "Async"}, headers=headers
    )
    assert repeat.headers["Location"] == job_url
    other = await vendor.post("/record/v1/customer", json={"companyName": "Other"}, headers=headers)
    assert other.status_code == 400
    assert error_code(other) == "IDEMPOTENCY_ERROR"
    assert other.headers["Location"] == job_url


async def test_writes_bump_last_modified_and_a_no_op_is_not_a_change(
    vendor: httpx.AsyncClient, small_world: World
) -> None:
    client = small_world.clients[1]
    path = f"/record/v1/customer/{client.erp_id}"
    before = (await vendor.get(path)).json()["lastModifiedDate"]
    await vendor.patch(path, json={"companyName": client.name})  # unchanged
    assert (await vendor.get(path)).json()["lastModifiedDate"] == before
    await vendor.patch(path, json={"companyName": f"{client.name} (renamed)"})
    assert (await vendor.get(path)).json()["lastModifiedDate"] > before


async def test_time_cannot_be_entered_on_a_closed_project(
    vendor: httpx.AsyncClient, small_world: World
) -> None:
    closed = next(p for p in small_world.projects if p.status == "COMPLETED" and p.erp_job_id)
    body = {"job": {"id": closed.erp_job_id}, "hours": 1, "rate": 100, "tranDate": "2026-01-10"}
    response = await vendor.put("/record/v1/timebill/eid:T-closed", json=body)
    assert response.status_code == 400
    assert "closed project" in response.json()["o:errorDetails"][0]["detail"]


async def test_an_invoice_bills_posted_time_once(
    vendor: httpx.AsyncClient, small_world: World
) -> None:
    job_id, customer_id = active_job(small_world)
    first = await new_timebill(vendor, job_id, "T-bill-1", hours=2)
    second = await new_timebill(vendor, job_id, "T-bill-2", hours=3)
    body = {
        "entity": {"id": customer_id},
        "job": {"id": job_id},
        "time": {"items": [{"doc": {"id": first}, "apply": True}, {"doc": {"id": second}}]},
        "item": {"items": [{"description": "Travel", "amount": 99.5}]},
    }
    created = await vendor.post("/record/v1/invoice", json=body)
    assert created.status_code == 204, created.text
    invoice = (await vendor.get(created.headers["Location"])).json()
    assert invoice["status"]["refName"] == "Open"
    assert Decimal(str(invoice["total"])) == Decimal("849.5")  # 5 h x 150 + 99.50
    billed = (await vendor.get(f"/record/v1/timebill/{first}")).json()
    assert billed["invoice"]["id"] == invoice["id"]

    again = await vendor.post("/record/v1/invoice", json=body)
    assert again.status_code == 400
    assert "already billed" in again.json()["o:errorDetails"][0]["detail"]
    changed = await vendor.patch(f"/record/v1/timebill/{first}", json={"hours": 9})
    assert changed.status_code == 400

    await vendor.delete(created.headers["Location"])
    released = (await vendor.get(f"/record/v1/timebill/{first}")).json()
    assert "invoice" not in released


async def test_time_of_another_customer_cannot_be_billed(
    vendor: httpx.AsyncClient, small_world: World
) -> None:
    job_id, _ = active_job(small_world)
    timebill = await new_timebill(vendor, job_id, "T-other")
    other = next(c for c in small_world.clients if c.erp_id != active_job(small_world)[1])
    body = {"entity": {"id": other.erp_id}, "time": {"items": [{"doc": {"id": timebill}}]}}
    response = await vendor.post("/record/v1/invoice", json=body)
    assert response.status_code == 400


async def test_payments_pay_invoices_down(vendor: httpx.AsyncClient, small_world: World) -> None:
    job_id, customer_id = active_job(small_world)
    body = {
        "entity": {"id": customer_id},
        "job": {"id": job_id},
        "item": {"items": [{"amount": 1000}]},
    }
    location = (await vendor.post("/record/v1/invoice", json=body)).headers["Location"]
    invoice_id = location.rsplit("/", 1)[-1]

    async def pay(amount: int) -> httpx.Response:
        payment = {
            "customer": {"id": customer_id},
            "payment": amount,
            "apply": {"items": [{"doc": {"id": invoice_id}, "apply": True}]},
        }
        return await vendor.post("/record/v1/customerpayment", json=payment)

    assert (await pay(400)).status_code == 204
    partly = (await vendor.get(location)).json()
    assert (partly["status"]["id"], partly["amountRemaining"]) == ("A", 600.0)
    assert (await pay(600)).status_code == 204
    paid = (await vendor.get(location)).json()
    assert (paid["status"]["id"], paid["amountRemaining"]) == ("B", 0.0)
    assert "custbody_paid_at" in paid
    assert (await pay(1)).status_code == 400  # nothing left open to pay
    refused = await vendor.delete(location)
    assert error_code(refused) == "THIS_RECORD_CANNOT_BE_DELETED"


async def test_a_blocked_reason_holds_an_unpaid_invoice_and_clearing_it_releases(
    vendor: httpx.AsyncClient, small_world: World
) -> None:
    job_id, customer_id = active_job(small_world)
    body = {
        "entity": {"id": customer_id},
        "job": {"id": job_id},
        "item": {"items": [{"amount": 10}]},
        "custbody_blocked_reason": "MISSING_PO",
    }
    location = (await vendor.post("/record/v1/invoice", json=body)).headers["Location"]
    assert (await vendor.get(location)).json()["status"]["id"] == "D"
    await vendor.patch(location, json={"custbody_blocked_reason": None})
    assert (await vendor.get(location)).json()["status"]["id"] == "A"


# --- admin and limits --------------------------------------------------------------------------


async def test_touch_marks_records_modified_now(
    sandbox: ErpSandbox, vendor: httpx.AsyncClient, small_world: World
) -> None:
    ids = [i.erp_id for i in small_world.invoices[:3]]
    assert sandbox.touch("invoice", [*ids, "999999999"]) == 3
    body = await suiteql(
        vendor, "SELECT id FROM invoice ORDER BY lastmodifieddate DESC, id", limit=3
    )
    assert sorted(row["id"] for row in body["items"]) == sorted(ids)
    with pytest.raises(KeyError):
        sandbox.touch("spaceship", ids)


async def test_requests_past_the_concurrency_limit_get_429(
    sandbox: ErpSandbox, vendor: httpx.AsyncClient
) -> None:
    sandbox.concurrency_limit = 2
    sandbox.runtime.faults.latency_ms = 100
    answers = await asyncio.gather(*(vendor.get("/record/v1/customer/101") for _ in range(5)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200, 200, 429, 429, 429]
    refused = next(r for r in answers if r.status_code == 429)
    assert error_code(refused) == "CONCURRENCY_LIMIT_EXCEEDED"
    assert "Retry-After" not in refused.headers
    assert sandbox.in_flight == 0

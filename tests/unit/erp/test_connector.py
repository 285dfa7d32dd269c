"""What the ERP connector sends, request by request, against the in-process sandbox."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import httpx
import pytest

from sandboxes.erp.server import ErpSandbox
from sandboxes.world.model import World
from sources.erp.connector import ErpConnector, InvoiceLine
from sources.errors import SourceDataError, SourceRejected
from sources.records import BillingSchedule, BillingScheduleLine, Invoice, TimePosting
from tests.unit.erp.conftest import RecordingTransport


def posted_time_ids(world: World) -> list[str]:
    return [e.erp_posting_id for e in world.time_entries if e.erp_posting_id]


async def test_get_many_sends_one_suiteql_request_per_1000_ids(
    connector: ErpConnector, transport: RecordingTransport, small_world: World
) -> None:
    ids = posted_time_ids(small_world)[:1500]
    wanted = [ids[0], "not-an-id", *ids[1:], "999999999"]

    records = await connector.get_many("time_posting", wanted)

    assert [r.id if r else None for r in records] == [ids[0], None, *ids[1:], None]
    assert len(transport.requests) == 2
    for request in transport.requests:
        assert request.url.path == "/services/rest/query/v1/suiteql"
        assert request.headers["Prefer"] == "transient"
        assert request.headers["Authorization"] == "Bearer unit-erp-token"
        statement = json.loads(request.content)["q"]
        in_list = re.search(r"WHERE id IN \(([^)]*)\)", statement)
        assert in_list is not None
        assert len(in_list.group(1).split(",")) <= 1000
        assert "not-an-id" not in statement


async def test_ids_that_cannot_exist_cost_no_request(
    connector: ErpConnector, transport: RecordingTransport
) -> None:
    assert await connector.get_many("invoice", ["abc", "1 OR 1=1"]) == [None, None]
    assert await connector.get_many("invoice", []) == []
    assert transport.requests == []


async def test_billing_schedules_come_with_their_lines(
    connector: ErpConnector, transport: RecordingTransport, small_world: World
) -> None:
    schedules = small_world.billing_schedules[:5]
    records = await connector.get_many("billing_schedule", [s.erp_id for s in schedules])
    assert [len(r.lines) for r in records if isinstance(r, BillingSchedule)] == [
        len(s.lines) for s in schedules
    ]
    assert len(transport.requests) == 2  # the schedules, then their lines


async def test_the_schedules_of_a_few_jobs_and_their_lines_are_asked_for_together(
    connector: ErpConnector, transport: RecordingTransport, small_world: World
) -> None:
    schedules = small_world.billing_schedules[:5]
    projects = {p.key: p for p in small_world.projects}
    jobs = [projects[s.project_key].erp_job_id for s in schedules]

    page = await connector.list("billing_schedule", {"job_id": jobs}, page_size=1000)
    by_id = await connector.get_many("billing_schedule", [r.id for r in page.items])

    assert page.items == by_id
    assert sorted(len(r.lines) for r in page.items if isinstance(r, BillingSchedule)) == sorted(
        len(s.lines) for s in schedules
    )
    statements = [json.loads(r.content)["q"] for r in transport.requests[:2]]
    # Both found by the jobs' filter, so neither waited for the other's answer.
    assert all("job IN" in statement for statement in statements)


async def test_payments_found_through_their_lines_come_with_all_their_lines(
    connector: ErpConnector, transport: RecordingTransport, small_world: World
) -> None:
    # The filter is on the sublist itself, so the lines' query nests two subqueries.
    invoices = {i.key: i for i in small_world.invoices}
    wanted = sorted({invoices[p.invoice_key].erp_id for p in small_world.payments[:4]})

    page = await connector.list("payment", {"invoice_id": wanted}, page_size=1000)
    by_id = await connector.get_many("payment", [r.id for r in page.items])

    assert page.items
    assert page.items == by_id
    listed = [json.loads(r.content)["q"] for r in transport.requests[:2]]
    assert all("doc IN" in statement for statement in listed)  # neither waited for the other


async def test_an_unknown_entity_or_filter_is_a_programming_error(
    connector: ErpConnector,
) -> None:
    with pytest.raises(ValueError, match="no entity"):
        await connector.get_many("spaceship", ["1"])
    with pytest.raises(ValueError, match="cannot be filtered"):
        await connector.list("invoice", {"owner": ["x"]})


async def test_garbage_from_the_source_is_a_data_error(
    connector: ErpConnector, sandbox: ErpSandbox, small_world: World
) -> None:
    sandbox.runtime.faults.garbage = True
    with pytest.raises(SourceDataError):
        await connector.get_many("invoice", [small_world.invoices[0].erp_id])


async def test_post_time_writes_dimensions_by_name(
    connector: ErpConnector, transport: RecordingTransport, small_world: World
) -> None:
    project = next(p for p in small_world.projects if p.status == "ACTIVE" and p.erp_job_id)
    assert project.erp_job_id is not None
    fields = {
        "job_id": project.erp_job_id,
        "hours": 6.5,
        "rate": Decimal("200.00"),
        "work_date": small_world.today,
        "practice": project.practice,
        "region": project.region,
    }
    posting = await connector.post_time("T-900", fields)
    assert isinstance(posting, TimePosting)
    assert (posting.time_entry_id, posting.practice, posting.region) == (
        "T-900",
        project.practice,
        project.region,
    )
    assert posting.amount == Decimal("1300.00")
    assert posting.customer_id == small_world.clients[project.client_key].erp_id
    puts = [r for r in transport.requests if r.method == "PUT"]
    assert [r.url.path for r in puts] == ["/services/rest/record/v1/timebill/eid:T-900"]

    with pytest.raises(SourceRejected) as rejected:
        await connector.post_time("T-901", {**fields, "practice": "Astrology"})
    assert rejected.value.vendor_code == "INVALID_KEY_OR_REF"


async def test_invoice_creation_carries_the_idempotency_key(
    connector: ErpConnector, transport: RecordingTransport, small_world: World
) -> None:
    project = next(p for p in small_world.projects if p.status == "ACTIVE" and p.erp_job_id)
    assert project.erp_job_id is not None
    customer_id = small_world.clients[project.client_key].erp_id
    lines = [InvoiceLine(amount=Decimal("10.00"), description="Setup")]

    invoice = await connector.create_invoice(
        project.erp_job_id, customer_id, lines, idempotency_key="key-1"
    )

    assert isinstance(invoice, Invoice)
    assert (invoice.status, invoice.amount, invoice.job_id) == (
        "POSTED",
        Decimal("10.00"),
        project.erp_job_id,
    )
    post = next(r for r in transport.requests if r.method == "POST" and "record" in r.url.path)
    assert post.headers["X-NetSuite-Idempotency-Key"] == "key-1"


async def test_a_billing_schedule_upsert_replaces_the_jobs_schedule(
    connector: ErpConnector, small_world: World
) -> None:
    seeded = small_world.billing_schedules[0]
    job_id = small_world.projects[seeded.project_key].erp_job_id
    assert job_id is not None
    lines = [BillingScheduleLine(amount=Decimal("5000"), milestone_id="5000001")]

    schedule = await connector.upsert_billing_schedule(job_id, "MILESTONE", lines)

    assert schedule.id == seeded.erp_id
    assert (schedule.kind, schedule.lines) == ("MILESTONE", lines)


async def test_a_long_answer_is_read_whole_with_every_other_page_asked_for_at_once(
    connector: ErpConnector, transport: RecordingTransport, vendor: httpx.AsyncClient
) -> None:
    statement = "SELECT id, job, hours FROM timebill ORDER BY id"
    expected = []
    offset = 0
    while True:  # the answer as a page-by-page client reads it
        body = (
            await vendor.post(
                "/query/v1/suiteql", params={"limit": 1000, "offset": offset}, json={"q": statement}
            )
        ).json()
        expected.extend(body["items"])
        if not body["hasMore"]:
            break
        offset += 1000
    transport.requests.clear()

    rows = await connector._rows(statement)

    offsets = [int(r.url.params["offset"]) for r in transport.requests]
    assert len(expected) > 2000  # three pages at least
    assert rows == expected
    assert sorted(offsets) == list(range(0, len(expected), 1000))


async def test_a_record_read_again_shows_its_change_and_an_unchanged_one_is_reused(
    connector: ErpConnector, small_world: World
) -> None:
    changed, same = small_world.billing_schedules[:2]
    job_id = small_world.projects[changed.project_key].erp_job_id
    assert job_id is not None
    before = await connector.get_many("billing_schedule", [changed.erp_id, same.erp_id])
    lines = [BillingScheduleLine(amount=Decimal("5000.10"), milestone_id="5000001")]
    await connector.upsert_billing_schedule(job_id, "MILESTONE", lines)  # its lines only

    after = await connector.get_many("billing_schedule", [changed.erp_id, same.erp_id])

    assert isinstance(after[0], BillingSchedule)
    assert after[0].lines == lines
    assert after[1] is before[1]

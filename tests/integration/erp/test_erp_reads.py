"""Reading the ERP over real HTTP: batches, pages, filters and aggregates match the world."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sandboxes.world.model import World
from sources.erp.connector import ErpConnector
from sources.records import Customer, Invoice, Job, Record


async def page_through(
    erp: ErpConnector, entity: str, filters: dict[str, Any], page_size: int
) -> tuple[list[Record], set[int | None], int]:
    records: list[Record] = []
    totals: set[int | None] = set()
    cursor: str | None = None
    pages = 0
    while True:
        page = await erp.list(entity, filters, page_size=page_size, cursor=cursor)
        records.extend(page.items)
        totals.add(page.total)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return records, totals, pages


async def test_500_invoices_by_id_cost_one_request(
    erp: ErpConnector, world: World, requests_since: Callable[[], Callable[[], int]]
) -> None:
    ids = [invoice.erp_id for invoice in world.invoices[:500]]
    spent = requests_since()

    records = await erp.get_many("invoice", ids)

    assert spent() == 1
    assert [r.id if r else None for r in records] == ids
    first, world_first = records[0], world.invoices[0]
    assert isinstance(first, Invoice)
    assert (first.number, first.status, first.amount, first.currency) == (
        world_first.number,
        world_first.status,
        world_first.amount,
        world_first.currency,
    )
    assert first.url is not None
    assert first.url.endswith(f"custinvc.nl?id={world_first.erp_id}")


async def test_paging_returns_every_invoice_exactly_once(erp: ErpConnector, world: World) -> None:
    records, totals, pages = await page_through(erp, "invoice", {}, page_size=1000)

    ids = [r.id for r in records]
    assert len(ids) == len(set(ids))
    assert set(ids) >= {i.erp_id for i in world.invoices}
    assert totals == {len(ids)}
    assert pages == -(-len(ids) // 1000)


async def test_a_status_filter_finds_exactly_the_blocked_invoices(
    erp: ErpConnector, world: World
) -> None:
    records, _, _ = await page_through(erp, "invoice", {"status": ["BLOCKED"]}, page_size=50)

    by_id = {i.erp_id: i for i in world.invoices}
    blocked = {i.erp_id for i in world.invoices if i.status == "BLOCKED"}
    seen = {r.id for r in records}
    assert seen >= blocked
    assert all(by_id[i].status == "BLOCKED" for i in seen if i in by_id)
    assert {world.invoices[k].erp_id for k in world.defects.blocked_invoices} <= seen
    assert all(isinstance(r, Invoice) and r.blocked_reason for r in records)


async def test_filters_follow_the_links_the_erp_keeps(erp: ErpConnector, world: World) -> None:
    project = next(p for p in world.projects if p.erp_job_id and p.status == "ACTIVE")
    client = world.clients[project.client_key]

    jobs = (await erp.list("job", {"psa_project_id": [project.psa_id]})).items
    assert [j.id for j in jobs] == [project.erp_job_id]
    assert isinstance(jobs[0], Job)
    assert jobs[0].customer_id == client.erp_id

    customers = (await erp.list("customer", {"crm_account_id": [client.crm_id]})).items
    assert [c.id for c in customers] == [client.erp_id]

    postings, _, _ = await page_through(
        erp, "time_posting", {"job_id": [project.erp_job_id]}, page_size=500
    )
    expected = {
        e.erp_posting_id
        for e in world.time_entries
        if e.project_key == project.key and e.erp_posting_id
    }
    assert {p.id for p in postings} >= expected

    invoice = next(i for i in world.invoices if any(p.invoice_key == i.key for p in world.payments))
    payments = (await erp.list("payment", {"invoice_id": [invoice.erp_id]})).items
    assert {p.id for p in payments} == {
        p.erp_id for p in world.payments if p.invoice_key == invoice.key
    }


async def test_duplicate_customers_show_as_a_second_record_without_the_crm_link(
    erp: ErpConnector, world: World
) -> None:
    client = world.clients[min(world.defects.duplicate_customers)]
    assert client.duplicate_erp_id is not None

    main, duplicate = await erp.get_many("customer", [client.erp_id, client.duplicate_erp_id])

    assert isinstance(main, Customer)
    assert isinstance(duplicate, Customer)
    assert main.crm_account_id == client.crm_id
    assert duplicate.crm_account_id is None
    assert duplicate.name != main.name
    found = await erp.find_by_external_id("customer", client.crm_id)
    assert found is not None
    assert found.id == client.erp_id


async def test_receivables_per_customer_match_the_world(
    erp: ErpConnector, world: World, requests_since: Callable[[], Callable[[], int]]
) -> None:
    paid: dict[int, Decimal] = defaultdict(Decimal)
    for payment in world.payments:
        paid[payment.invoice_key] += payment.amount
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in world.invoices:
        if invoice.status == "POSTED":
            expected[world.clients[invoice.client_key].erp_id] += invoice.amount - paid[invoice.key]
    customer_ids = [c.erp_id for c in world.clients]
    spent = requests_since()

    receivables = await erp.receivables(customer_ids)

    assert spent() == 1
    assert receivables == {cid: expected.get(cid, Decimal(0)) for cid in customer_ids}
    assert sum(receivables.values()) > 0


async def test_which_jobs_have_a_billing_schedule_is_one_grouped_request(
    erp: ErpConnector, world: World, requests_since: Callable[[], Callable[[], int]]
) -> None:
    scheduled = {s.project_key for s in world.billing_schedules}
    jobs = {p.erp_job_id: p.key in scheduled for p in world.projects if p.erp_job_id}
    assert set(jobs.values()) == {True, False}  # the world has both kinds
    spent = requests_since()

    found = await erp.scheduled_jobs([*jobs, "not-an-id"])

    assert spent() == 1
    assert found == {**jobs, "not-an-id": False}


async def test_invoiced_totals_per_job_match_the_world(erp: ErpConnector, world: World) -> None:
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in world.invoices:
        project = None if invoice.project_key is None else world.projects[invoice.project_key]
        if project and project.erp_job_id and invoice.status in ("POSTED", "PAID"):
            expected[project.erp_job_id] += invoice.amount
    job_ids = [p.erp_job_id for p in world.projects if p.erp_job_id]

    totals = await erp.invoiced_totals(job_ids)

    assert totals == {jid: expected.get(jid, Decimal(0)) for jid in job_ids}

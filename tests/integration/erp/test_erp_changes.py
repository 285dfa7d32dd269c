"""Change scans over real HTTP: exactly what changed since the cursor, in order, once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import httpx

from sandboxes.world.model import World
from sources.erp.connector import ErpConnector, InvoiceLine
from sources.erp.cursors import ChangePosition
from tests.integration.erp.conftest import Account


def touch(erp_url: str, entity: str, ids: list[str]) -> None:
    answer = httpx.post(f"{erp_url}/_sandbox/touch", json={"entity": entity, "ids": ids})
    assert answer.json() == {"touched": len(ids)}


async def test_touched_records_are_exactly_the_changes(
    erp: ErpConnector, erp_url: str, world: World
) -> None:
    start = await erp.changes("time_posting", None)
    assert start.records == []
    posted = [e.erp_posting_id for e in world.time_entries if e.erp_posting_id]
    touched = [posted[40], posted[7], posted[1234]]

    touch(erp_url, "time_posting", touched)
    after = await erp.changes("time_posting", start.cursor)

    assert [r.id for r in after.records] == touched  # in the order they changed
    assert (await erp.changes("time_posting", after.cursor)).records == []


async def test_a_scan_pages_past_1000_changes_without_losing_any(
    erp: ErpConnector,
    erp_url: str,
    world: World,
    requests_since: Callable[[], Callable[[], int]],
) -> None:
    start = await erp.changes("invoice", None)
    touched = [i.erp_id for i in world.invoices[:1500]]
    touch(erp_url, "invoice", touched)
    spent = requests_since()

    after = await erp.changes("invoice", start.cursor)

    assert [r.id for r in after.records] == touched
    assert spent() == 2


async def test_writes_are_changes_and_no_op_writes_are_not(
    erp: ErpConnector, account: Account
) -> None:
    start = {entity: (await erp.changes(entity, None)).cursor for entity in ("customer", "job")}

    await erp.ensure_customer(account.crm_account_id, {"credit_status": "WATCH"})
    await erp.ensure_customer(account.crm_account_id, {"credit_status": "WATCH"})
    await erp.upsert_job(account.psa_project_id, account.customer_id, {"name": "Test engagement"})

    customers = await erp.changes("customer", start["customer"])
    assert [(c.id, getattr(c, "credit_status", None)) for c in customers.records] == [
        (account.customer_id, "WATCH")
    ]
    assert (await erp.changes("job", start["job"])).records == []


async def test_billing_time_changes_the_invoice_and_the_postings(
    erp: ErpConnector, account: Account
) -> None:
    fields = {
        "job_id": account.job_id,
        "hours": 3,
        "rate": Decimal("100"),
        "work_date": "2026-01-12",
    }
    postings = [await erp.post_time(f"T-{account.job_id}-{n}", fields) for n in range(2)]
    start = {e: (await erp.changes(e, None)).cursor for e in ("invoice", "time_posting")}

    invoice = await erp.create_invoice(
        account.job_id,
        account.customer_id,
        [InvoiceLine(time_posting_id=p.id) for p in postings],
        idempotency_key=f"changes-{account.job_id}",
    )

    invoices = await erp.changes("invoice", start["invoice"])
    assert [i.id for i in invoices.records] == [invoice.id]
    billed = await erp.changes("time_posting", start["time_posting"])
    assert sorted(p.id for p in billed.records) == sorted(p.id for p in postings)
    assert {getattr(p, "invoice_id", None) for p in billed.records} == {invoice.id}


async def test_records_sharing_a_timestamp_are_neither_skipped_nor_repeated(
    erp: ErpConnector, world: World
) -> None:
    # The generated time was recorded on the hour: many postings share a timestamp.
    by_moment: dict[datetime, list[int]] = defaultdict(list)
    for entry in world.time_entries:
        if entry.erp_posting_id:
            by_moment[entry.modified_at].append(int(entry.erp_posting_id))
    moment, ids = max(
        ((m, sorted(i)) for m, i in by_moment.items() if len(i) >= 3), key=lambda x: x[0]
    )
    cursor = ChangePosition(moment, str(ids[0])).encode()

    scan = await erp.changes("time_posting", cursor)

    seen = [int(r.id) for r in scan.records]
    assert seen[: len(ids) - 1] == ids[1:]
    assert ids[0] not in seen
    assert len(seen) == len(set(seen))

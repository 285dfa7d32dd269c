"""Writing to the ERP over real HTTP: every write the workflows make is idempotent."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from sandboxes.world.model import World
from sources.erp.connector import ErpConnector, InvoiceLine
from sources.errors import SourceRejected
from sources.records import BillingScheduleLine
from tests.integration.erp.conftest import Account

SuiteQL = Callable[[str], list[dict[str, Any]]]


def time_fields(account: Account, hours: float = 4.0) -> dict[str, Any]:
    return {
        "job_id": account.job_id,
        "hours": hours,
        "rate": Decimal("175.00"),
        "work_date": "2026-01-12",
        "practice": "Cloud",
        "region": "EMEA",
        "notes": "Design review",
    }


async def test_an_eid_upsert_twice_leaves_one_record(
    erp: ErpConnector, account: Account, suiteql: SuiteQL
) -> None:
    again = await erp.ensure_customer(account.crm_account_id, {"name": "Renamed Client"})

    assert again.id == account.customer_id
    assert again.name == "Renamed Client"
    assert again.payment_terms == "Net 30"  # untouched fields stay
    rows = suiteql(
        f"SELECT COUNT(*) AS n FROM customer WHERE externalid = '{account.crm_account_id}'"
    )
    assert rows == [{"links": [], "n": "1"}]

    job = await erp.upsert_job(account.psa_project_id, account.customer_id, {"status": "ON_HOLD"})
    assert (job.id, job.status, job.psa_project_id) == (
        account.job_id,
        "ON_HOLD",
        account.psa_project_id,
    )


async def test_posting_the_same_time_entry_twice_posts_it_once(
    erp: ErpConnector, account: Account
) -> None:
    entry_id = f"9{uuid4().int % 10**9:09d}"
    first = await erp.post_time(entry_id, time_fields(account))
    second = await erp.post_time(entry_id, time_fields(account))

    assert second == first
    assert (first.amount, first.practice, first.region, first.customer_id) == (
        Decimal("700.00"),
        "Cloud",
        "EMEA",
        account.customer_id,
    )
    page = await erp.list("time_posting", {"job_id": [account.job_id]})
    assert [p.id for p in page.items] == [first.id]


async def test_a_repeated_create_with_one_idempotency_key_makes_one_invoice(
    erp: ErpConnector, account: Account
) -> None:
    posting = await erp.post_time(f"9{uuid4().int % 10**9:09d}", time_fields(account, 2))
    lines = [InvoiceLine(time_posting_id=posting.id)]
    key = str(uuid4())
    before = (await erp.list("invoice", {"customer_id": [account.customer_id]})).total

    first = await erp.create_invoice(
        account.job_id, account.customer_id, lines, idempotency_key=key
    )
    again = await erp.create_invoice(
        account.job_id, account.customer_id, lines, idempotency_key=key
    )

    after = (await erp.list("invoice", {"customer_id": [account.customer_id]})).total
    assert again.id == first.id
    assert (before, after) == (0, 1)
    assert (first.amount, first.status) == (posting.amount, "POSTED")
    billed = await erp.get_many("time_posting", [posting.id])
    assert billed[0] is not None
    assert getattr(billed[0], "invoice_id", None) == first.id
    assert await erp.invoiced_totals([account.job_id]) == {account.job_id: posting.amount}
    assert await erp.receivables([account.customer_id]) == {account.customer_id: posting.amount}

    other = [InvoiceLine(amount=Decimal("1.00"), description="Something else")]
    with pytest.raises(SourceRejected) as conflict:
        await erp.create_invoice(account.job_id, account.customer_id, other, idempotency_key=key)
    assert conflict.value.vendor_code == "IDEMPOTENCY_ERROR"
    assert conflict.value.status == 400
    final = await erp.list("invoice", {"customer_id": [account.customer_id]})
    assert final.total == 1


async def test_billed_time_cannot_be_billed_again(erp: ErpConnector, account: Account) -> None:
    posting = await erp.post_time(f"9{uuid4().int % 10**9:09d}", time_fields(account, 1))
    lines = [InvoiceLine(time_posting_id=posting.id)]
    await erp.create_invoice(
        account.job_id, account.customer_id, lines, idempotency_key="a" + str(uuid4())
    )

    with pytest.raises(SourceRejected, match="already billed"):
        await erp.create_invoice(
            account.job_id, account.customer_id, lines, idempotency_key="b" + str(uuid4())
        )


async def test_time_on_a_closed_project_is_refused(erp: ErpConnector, world: World) -> None:
    closed = next(p for p in world.projects if p.status == "COMPLETED" and p.erp_job_id)
    fields = {"job_id": closed.erp_job_id, "hours": 1, "rate": 100, "work_date": "2026-01-12"}

    with pytest.raises(SourceRejected, match="closed project") as refused:
        await erp.post_time(f"9{uuid4().int % 10**9:09d}", fields)
    assert refused.value.vendor_code == "USER_ERROR"


async def test_a_milestone_is_billed_once_however_often_it_is_recorded(
    erp: ErpConnector, account: Account
) -> None:
    milestone_id = f"5{uuid4().int % 10**6:06d}"
    first = await erp.record_milestone_billing(account.job_id, milestone_id, Decimal("12000.00"))
    again = await erp.record_milestone_billing(account.job_id, milestone_id, Decimal("12000.00"))

    assert again.id == first.id
    assert (first.amount, first.customer_id, first.job_id) == (
        Decimal("12000.00"),
        account.customer_id,
        account.job_id,
    )
    assert (await erp.list("invoice", {"job_id": [account.job_id]})).total == 1


async def test_a_billing_schedule_is_one_per_job(erp: ErpConnector, account: Account) -> None:
    lines = [
        BillingScheduleLine(amount=Decimal("5000.00"), milestone_id="5000001"),
        BillingScheduleLine(amount=Decimal("7000.00"), milestone_id="5000002"),
    ]
    first = await erp.upsert_billing_schedule(account.job_id, "MILESTONE", lines)
    second = await erp.upsert_billing_schedule(account.job_id, "MILESTONE", lines[:1])

    assert second.id == first.id
    assert second.lines == lines[:1]
    page = await erp.list("billing_schedule", {"job_id": [account.job_id]})
    assert [s.id for s in page.items] == [first.id]

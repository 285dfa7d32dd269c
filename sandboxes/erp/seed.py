"""The ERP's slice of the generated world, as NetSuite records.

- clients become customers (external id = the CRM account id); a client with a duplicate
  ERP id also gets a second customer under a slightly different name and no external id;
- projects with a finance code become jobs (external id = the PSA workspace id);
- billing schedules, invoices and payments keep their world ERP ids;
- approved time that was posted becomes timebills (external id = the TIME entry id),
  priced at the person's bill rate in the project's currency.

The legal entities are the world's subsidiaries, one per region, in `REGIONS` order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sandboxes.erp.catalog import (
    INVOICE_OPEN,
    INVOICE_PAID,
    INVOICE_PENDING,
    INVOICE_VOIDED,
)
from sandboxes.erp.store import Record, RecordStore
from sandboxes.world.model import Client, Person, World
from sandboxes.world.names import (
    PAYMENT_TERMS,
    PRACTICES,
    REGION_CURRENCIES,
    REGIONS,
    USD_PER_UNIT,
)

CENT = Decimal("0.01")

JOB_STATUS_IDS = {"PLANNED": "1", "ACTIVE": "2", "ON_HOLD": "3", "COMPLETED": "4", "CANCELLED": "5"}
SCHEDULE_TYPE_IDS = {"FIXED_FEE": "FBI", "MILESTONE": "FBM", "TIME_AND_MATERIALS": "TM"}
INVOICE_STATUS_IDS = {
    "DRAFT": INVOICE_PENDING,
    "BLOCKED": INVOICE_PENDING,  # held in approval, with custbody_blocked_reason saying why
    "POSTED": INVOICE_OPEN,
    "PAID": INVOICE_PAID,
    "VOID": INVOICE_VOIDED,
}
SETTLED_STATUSES = frozenset({INVOICE_PAID, INVOICE_VOIDED})


def billing_schedule_external_id(job_id: str) -> str:
    """One billing schedule per job, found again by this external id."""
    return f"BS-{job_id}"


def seed_store(world: World) -> RecordStore:
    store = RecordStore()
    _reference_lists(store, world)
    for record_type, records in (
        ("customer", _customers(world)),
        ("job", _jobs(world)),
        ("billingschedule", _billing_schedules(world)),
        ("invoice", _invoices(world)),
        ("customerpayment", _payments(world)),
        ("timebill", _timebills(world)),
    ):
        store.load(record_type, records)
    return store


def _reference_lists(store: RecordStore, world: World) -> None:
    currency_ids = {code: str(i) for i, code in enumerate(world.currencies, start=1)}
    store.load(
        "currency",
        (
            {"id": currency_id, "name": code, "symbol": code}
            for code, currency_id in currency_ids.items()
        ),
    )
    for subsidiary_id, region in zip(world.subsidiary_ids, REGIONS, strict=False):
        home_currency = REGION_CURRENCIES[region][0][0]
        store.put(
            "subsidiary",
            {
                "id": subsidiary_id,
                "name": f"Northbeam {region}",
                "currency": currency_ids.get(home_currency),
            },
        )
    for i, (name, days) in enumerate(PAYMENT_TERMS, start=1):
        store.put("term", {"id": str(i), "name": name, "daysUntilNetDue": Decimal(days)})
    for i, practice in enumerate(PRACTICES, start=1):
        store.put("department", {"id": str(i), "name": practice})
    for i, region in enumerate(REGIONS, start=1):
        store.put("location", {"id": str(i), "name": region})


def _ids(names: Iterable[str]) -> dict[str, str]:
    return {name: str(i) for i, name in enumerate(names, start=1)}


def _subsidiary(world: World, region: str) -> str | None:
    index = REGIONS.index(region) if region in REGIONS else 0
    return world.subsidiary_ids[index] if index < len(world.subsidiary_ids) else None


def _currency(world: World, code: str) -> str:
    return str(world.currencies.index(code) + 1)


def _customers(world: World) -> Iterable[Record]:
    terms = _ids(name for name, _ in PAYMENT_TERMS)
    for client in world.clients:
        yield _customer(world, client, terms, client.erp_id, client.crm_id, client.name)
        if client.duplicate_erp_id:
            # Keyed in again by hand years ago: no external id, the name typed differently.
            yield _customer(
                world, client, terms, client.duplicate_erp_id, None, variant_name(client.name)
            )


def _customer(
    world: World,
    client: Client,
    terms: dict[str, str],
    erp_id: str,
    external_id: str | None,
    name: str,
) -> Record:
    return {
        "id": erp_id,
        "entityId": f"CUST{erp_id}",
        "externalId": external_id,
        "companyName": name,
        "terms": terms.get(client.payment_terms),
        "creditHoldOverride": "ON" if client.credit_status == "HOLD" else "AUTO",
        "custentity_credit_status": client.credit_status,
        "currency": _currency(world, client.currency),
        "subsidiary": _subsidiary(world, client.region),
        "isInactive": False,
        "dateCreated": client.modified_at,
        "lastModifiedDate": client.modified_at,
    }


def variant_name(name: str) -> str:
    """The same company as someone else would type it: "Apex Bank Inc." -> "Apex Bank, Inc"."""
    for suffix in ("Inc.", "Ltd", "plc", "AG", "Group", "Holdings", "Partners"):
        if name.endswith(f" {suffix}"):
            return f"{name[: -len(suffix) - 1]}, {suffix.rstrip('.')}"
    return f"{name} Inc"


def _jobs(world: World) -> Iterable[Record]:
    for project in world.projects:
        if project.erp_job_id is None:
            continue
        client = world.clients[project.client_key]
        yield {
            "id": project.erp_job_id,
            "entityId": project.code,
            "externalId": project.psa_id,
            "companyName": project.name,
            "parent": client.erp_id,
            "entityStatus": JOB_STATUS_IDS.get(project.status, "2"),
            "startDate": project.start_date,
            "projectedEndDate": project.end_date,
            "currency": _currency(world, project.currency),
            "subsidiary": _subsidiary(world, client.region),
            "dateCreated": project.modified_at,
            "lastModifiedDate": project.modified_at,
        }


def _billing_schedules(world: World) -> Iterable[Record]:
    for schedule in world.billing_schedules:
        project = world.projects[schedule.project_key]
        if project.erp_job_id is None:
            continue
        yield {
            "id": schedule.erp_id,
            "externalId": billing_schedule_external_id(project.erp_job_id),
            "name": f"{project.code} billing",
            "job": project.erp_job_id,
            "scheduleType": SCHEDULE_TYPE_IDS[schedule.kind],
            "recurrence": [
                {
                    "recurrenceDate": line.date,
                    "amount": line.amount,
                    "milestone": None
                    if line.milestone_key is None
                    else world.milestones[line.milestone_key].psa_id,
                }
                for line in schedule.lines
            ],
            "dateCreated": project.modified_at,
            "lastModifiedDate": project.modified_at,
        }


def _invoices(world: World) -> Iterable[Record]:
    paid: dict[int, Decimal] = defaultdict(Decimal)
    for payment in world.payments:
        paid[payment.invoice_key] += payment.amount
    for invoice in world.invoices:
        client = world.clients[invoice.client_key]
        project = None if invoice.project_key is None else world.projects[invoice.project_key]
        status = INVOICE_STATUS_IDS[invoice.status]
        remaining = (
            Decimal(0)
            if status in SETTLED_STATUSES
            else max(Decimal(0), invoice.amount - paid[invoice.key])
        )
        yield {
            "id": invoice.erp_id,
            "tranId": invoice.number,
            "entity": client.erp_id,
            "job": None if project is None else project.erp_job_id,
            "status": status,
            "total": invoice.amount,
            "amountRemaining": remaining,
            "currency": _currency(world, invoice.currency),
            "tranDate": invoice.issue_date,
            "dueDate": invoice.due_date,
            "custbody_paid_at": invoice.paid_at,
            "custbody_blocked_reason": invoice.blocked_reason,
            "dateCreated": _start_of(invoice.issue_date),
            "lastModifiedDate": invoice.modified_at,
        }


def _payments(world: World) -> Iterable[Record]:
    for payment in world.payments:
        invoice = world.invoices[payment.invoice_key]
        received = invoice.paid_at or _start_of(payment.received_on)
        yield {
            "id": payment.erp_id,
            "tranId": f"PYMT{payment.erp_id}",
            "customer": world.clients[invoice.client_key].erp_id,
            "payment": payment.amount,
            "currency": _currency(world, payment.currency),
            "tranDate": payment.received_on,
            "apply": [{"doc": invoice.erp_id, "apply": True, "amount": payment.amount}],
            "dateCreated": received,
            "lastModifiedDate": received,
        }


def _timebills(world: World) -> Iterable[Record]:
    departments = _ids(PRACTICES)
    locations = _ids(REGIONS)
    # 150,000 entries at scale 1: work out each project's and rate's part once.
    projects = {
        project.key: (
            world.clients[project.client_key].erp_id,
            project.erp_job_id,
            project.currency,
            _currency(world, project.currency),
            departments.get(project.practice),
            locations.get(project.region),
        )
        for project in world.projects
        if project.erp_job_id is not None
    }
    rates: dict[tuple[int, str], Decimal] = {}
    for entry in world.time_entries:
        if entry.erp_posting_id is None or entry.project_key not in projects:
            continue
        customer, job, currency, currency_id, department, location = projects[entry.project_key]
        rate = rates.get((entry.person_key, currency))
        if rate is None:
            rate = rates[entry.person_key, currency] = bill_rate_in(
                world.people[entry.person_key], currency
            )
        hours = Decimal(str(entry.hours))
        yield {
            "id": entry.erp_posting_id,
            "externalId": entry.time_id,
            "customer": customer,
            "job": job,
            "hours": hours,
            "rate": rate,
            "amount": (hours * rate).quantize(CENT),
            "currency": currency_id,
            "department": department,
            "location": location,
            "tranDate": entry.date,
            "memo": entry.notes,
            "isBillable": entry.billable,
            "invoice": None
            if entry.invoice_key is None
            else world.invoices[entry.invoice_key].erp_id,
            "dateCreated": entry.approved_at or entry.modified_at,
            "lastModifiedDate": entry.modified_at,
        }


def bill_rate_in(person: Person, currency: str) -> Decimal:
    """The person's hourly bill rate converted to `currency` at the world's fixed rates."""
    usd = person.bill_rate * USD_PER_UNIT[person.currency]
    return (usd / USD_PER_UNIT[currency]).quantize(CENT)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)

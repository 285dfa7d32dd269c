"""NetSuite's shapes <-> canonical records.

Reading: SuiteQL rows (every value text, NULL columns absent) become `sources.records`.
Writing: canonical field names become REST record bodies; a reference to a list record
(payment terms, currency, practice, region) is written by internal id, which the
connector looks up by name first (`REFERENCE_LISTS`).

NetSuite values this account uses, in one place: invoice status ids (A Open, B Paid In
Full, D Pending Approval, E Rejected, V Voided; a Pending Approval invoice with a blocked
reason is BLOCKED), project status names, billing schedule types, and the custom fields
`custentity_credit_status`, `custbody_blocked_reason`, `custbody_paid_at`,
`custbody_milestone`. Currencies are read by their display name, which this account keeps
as the ISO code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from sources.records import (
    BillingSchedule,
    BillingScheduleLine,
    Customer,
    Invoice,
    Job,
    Payment,
    Record,
    TimePosting,
)

Row = Mapping[str, Any]


class MalformedRowError(ValueError):
    """A row the connector cannot read as its record."""


# --- deep links ---------------------------------------------------------------------------

UI_PATHS = {
    "customer": "/app/common/entity/custjob.nl?id=",
    "job": "/app/accounting/project/project.nl?id=",
    "billing_schedule": "/app/accounting/otherlists/billingschedule.nl?id=",
    "invoice": "/app/accounting/transactions/custinvc.nl?id=",
    "payment": "/app/accounting/transactions/custpymt.nl?id=",
    "time_posting": "/app/accounting/transactions/timebill.nl?id=",
}


def ui_base(base_url: str, account_id: str | None) -> str:
    """NetSuite's UI host for a real account; the server itself otherwise."""
    host = httpx.URL(base_url).host
    if host.endswith("netsuite.com") and account_id:
        # Sandbox accounts are written 1234567_SB1 in the API and 1234567-sb1 in hosts.
        return f"https://{account_id.lower().replace('_', '-')}.app.netsuite.com"
    return base_url.rstrip("/")


def record_url(ui: str, entity: str, record_id: str) -> str:
    return f"{ui}{UI_PATHS[entity]}{record_id}"


# --- reading ---------------------------------------------------------------------------------

INVOICE_STATUSES = {"A": "POSTED", "B": "PAID", "E": "VOID", "V": "VOID"}
PENDING_APPROVAL = "D"
JOB_STATUSES = {
    "Not Started": "PLANNED",
    "Pending": "PLANNED",
    "In Progress": "ACTIVE",
    "On Hold": "ON_HOLD",
    "Closed": "COMPLETED",
    "Cancelled": "CANCELLED",
}
SCHEDULE_KINDS = {"FBI": "FIXED_FEE", "FBM": "MILESTONE", "TM": "TIME_AND_MATERIALS"}


def customer_from(row: Row, lines: Sequence[Row], ui: str) -> Customer:
    record_id = _id(row)
    credit = _text(row, "custentity_credit_status")
    if credit is None and _text(row, "creditholdoverride") == "ON":
        credit = "HOLD"
    return Customer(
        id=record_id,
        modified_at=_moment(row, "lastmodifieddate"),
        url=record_url(ui, "customer", record_id),
        name=_required(row, "companyname"),
        crm_account_id=_text(row, "externalid"),
        payment_terms=_text(row, "terms"),
        credit_status=credit,
        currency=_text(row, "currency") or "USD",
        subsidiary_id=_text(row, "subsidiary"),
    )


def job_from(row: Row, lines: Sequence[Row], ui: str) -> Job:
    record_id = _id(row)
    status = _text(row, "status")
    return Job(
        id=record_id,
        modified_at=_moment(row, "lastmodifieddate"),
        url=record_url(ui, "job", record_id),
        customer_id=_required(row, "parent"),
        name=_required(row, "companyname"),
        psa_project_id=_text(row, "externalid"),
        status=None if status is None else JOB_STATUSES.get(status, _constant(status)),
    )


def billing_schedule_from(row: Row, lines: Sequence[Row], ui: str) -> BillingSchedule:
    record_id = _id(row)
    kind = _required(row, "scheduletype")
    return BillingSchedule(
        id=record_id,
        modified_at=_moment(row, "lastmodifieddate"),
        url=record_url(ui, "billing_schedule", record_id),
        job_id=_required(row, "job"),
        kind=SCHEDULE_KINDS.get(kind, kind),
        lines=[
            BillingScheduleLine(
                date=_date(line, "recurrencedate"),
                amount=_decimal(line, "amount") or Decimal(0),
                milestone_id=_text(line, "milestone"),
            )
            for line in lines
        ],
    )


def invoice_from(row: Row, lines: Sequence[Row], ui: str) -> Invoice:
    record_id = _id(row)
    code = _required(row, "status")
    blocked = _text(row, "custbody_blocked_reason")
    if code == PENDING_APPROVAL:
        status = "BLOCKED" if blocked else "DRAFT"
    elif code in INVOICE_STATUSES:
        status = INVOICE_STATUSES[code]
    else:
        raise MalformedRowError(f"invoice {record_id} has unknown status {code!r}")
    return Invoice(
        id=record_id,
        modified_at=_moment(row, "lastmodifieddate"),
        url=record_url(ui, "invoice", record_id),
        number=_text(row, "tranid"),
        customer_id=_required(row, "entity"),
        job_id=_text(row, "job"),
        status=status,
        amount=_decimal(row, "total") or Decimal(0),
        currency=_text(row, "currency") or "USD",
        issue_date=_date(row, "trandate"),
        due_date=_date(row, "duedate"),
        paid_at=_moment(row, "custbody_paid_at"),
        blocked_reason=blocked,
    )


def payment_from(row: Row, lines: Sequence[Row], ui: str) -> Payment | None:
    """None for a payment applied to no invoice (a deposit, to the gateway's eyes)."""
    record_id = _id(row)
    applied = [doc for line in lines if (doc := _text(line, "doc")) is not None]
    if not applied:
        return None
    received = _date(row, "trandate")
    if received is None:
        raise MalformedRowError(f"payment {record_id} has no trandate")
    return Payment(
        id=record_id,
        modified_at=_moment(row, "lastmodifieddate"),
        url=record_url(ui, "payment", record_id),
        invoice_id=applied[0],
        customer_id=_required(row, "customer"),
        amount=_decimal(row, "payment") or Decimal(0),
        currency=_text(row, "currency") or "USD",
        received_on=received,
    )


def time_posting_from(row: Row, lines: Sequence[Row], ui: str) -> TimePosting:
    record_id = _id(row)
    work_date = _date(row, "trandate")
    if work_date is None:
        raise MalformedRowError(f"timebill {record_id} has no trandate")
    return TimePosting(
        id=record_id,
        modified_at=_moment(row, "lastmodifieddate"),
        url=record_url(ui, "time_posting", record_id),
        time_entry_id=_required(row, "externalid"),
        job_id=_required(row, "job"),
        customer_id=_required(row, "customer"),
        hours=float(_decimal(row, "hours") or 0),
        amount=_decimal(row, "amount") or Decimal(0),
        currency=_text(row, "currency") or "USD",
        practice=_text(row, "practice"),
        region=_text(row, "region"),
        work_date=work_date,
        invoice_id=_text(row, "invoice"),
    )


Reader = Callable[[Row, Sequence[Row], str], Record | None]

READERS: Mapping[str, Reader] = {
    "customer": customer_from,
    "job": job_from,
    "billing_schedule": billing_schedule_from,
    "invoice": invoice_from,
    "payment": payment_from,
    "time_posting": time_posting_from,
}


def _text(row: Row, key: str) -> str | None:
    value = row.get(key)
    return None if value is None or value == "" else str(value)


def _required(row: Row, key: str) -> str:
    value = _text(row, key)
    if value is None:
        raise MalformedRowError(f"row {row.get('id')!r} has no {key}")
    return value


def _id(row: Row) -> str:
    return _required(row, "id")


def _decimal(row: Row, key: str) -> Decimal | None:
    value = _text(row, key)
    try:
        return None if value is None else Decimal(value)
    except InvalidOperation:
        raise MalformedRowError(f"{key} is not a number: {value!r}") from None


def _date(row: Row, key: str) -> dt.date | None:
    value = _text(row, key)
    try:
        return None if value is None else dt.date.fromisoformat(value[:10])
    except ValueError:
        raise MalformedRowError(f"{key} is not a date: {value!r}") from None


def _moment(row: Row, key: str) -> dt.datetime | None:
    value = _text(row, key)
    if value is None:
        return None
    return parse_moment(value)


def parse_moment(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedRowError(f"not a timestamp: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _constant(label: str) -> str:
    return "_".join(label.upper().split())


# --- writing ---------------------------------------------------------------------------------

# The account's project statuses (entityStatus is a per-account list in NetSuite).
JOB_STATUS_IDS = {"PLANNED": "1", "ACTIVE": "2", "ON_HOLD": "3", "COMPLETED": "4", "CANCELLED": "5"}
SCHEDULE_TYPE_IDS = {kind: type_id for type_id, kind in SCHEDULE_KINDS.items()}

# List records a body refers to by name: list -> (SuiteQL table, column holding the name).
REFERENCE_LISTS = {
    "term": ("term", "name"),
    "currency": ("currency", "symbol"),
    "department": ("department", "name"),
    "location": ("location", "name"),
}


@dataclass(frozen=True)
class BodyField:
    name: str  # the record API field
    refers_to: str | None = None  # "id": an internal id; else a REFERENCE_LISTS name


CUSTOMER_FIELDS = {
    "name": BodyField("companyName"),
    "payment_terms": BodyField("terms", "term"),
    "credit_status": BodyField("custentity_credit_status"),
    "currency": BodyField("currency", "currency"),
    "subsidiary_id": BodyField("subsidiary", "id"),
}
JOB_FIELDS = {
    "name": BodyField("companyName"),
    "code": BodyField("entityId"),
    "status": BodyField("entityStatus", "id"),
    "start_date": BodyField("startDate"),
    "end_date": BodyField("projectedEndDate"),
    "currency": BodyField("currency", "currency"),
    "subsidiary_id": BodyField("subsidiary", "id"),
}
TIME_FIELDS = {
    "job_id": BodyField("job", "id"),
    "customer_id": BodyField("customer", "id"),
    "hours": BodyField("hours"),
    "rate": BodyField("rate"),
    "work_date": BodyField("tranDate"),
    "currency": BodyField("currency", "currency"),
    "practice": BodyField("department", "department"),
    "region": BodyField("location", "location"),
    "notes": BodyField("memo"),
    "billable": BodyField("isBillable"),
}

References = Mapping[str, Mapping[str, str]]  # list -> name -> internal id


class UnknownReferenceError(ValueError):
    def __init__(self, list_name: str, value: Any) -> None:
        super().__init__(f"NetSuite has no {list_name} named {value!r}")
        self.list_name = list_name


def lists_needed(spec: Mapping[str, BodyField], fields: Mapping[str, Any]) -> set[str]:
    """The reference lists a body for `fields` needs looked up."""
    _check_known(spec, fields)
    return {
        ref
        for name, value in fields.items()
        if value is not None and (ref := spec[name].refers_to) not in (None, "id")
    }


def body_from(
    spec: Mapping[str, BodyField], fields: Mapping[str, Any], refs: References
) -> dict[str, Any]:
    """A record body for canonical `fields`; None values are left out."""
    _check_known(spec, fields)
    body: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            continue
        target = spec[name]
        if target.refers_to is None:
            body[target.name] = json_value(value)
        elif target.refers_to == "id":
            body[target.name] = {"id": str(value)}
        else:
            found = refs.get(target.refers_to, {}).get(str(value))
            if found is None:
                raise UnknownReferenceError(target.refers_to, value)
            body[target.name] = {"id": found}
    return body


def customer_body(fields: Mapping[str, Any], refs: References) -> dict[str, Any]:
    body = body_from(CUSTOMER_FIELDS, fields, refs)
    if fields.get("credit_status") is not None:
        body["creditHoldOverride"] = {"id": "ON" if fields["credit_status"] == "HOLD" else "AUTO"}
    return body


def job_body(customer_id: str, fields: Mapping[str, Any], refs: References) -> dict[str, Any]:
    status = fields.get("status")
    if status is not None and status not in JOB_STATUS_IDS:
        raise ValueError(f"unknown project status {status!r}")
    mapped = {**fields, "status": None if status is None else JOB_STATUS_IDS[status]}
    return {"parent": {"id": customer_id}, **body_from(JOB_FIELDS, mapped, refs)}


def time_body(fields: Mapping[str, Any], refs: References) -> dict[str, Any]:
    return body_from(TIME_FIELDS, fields, refs)


def billing_schedule_body(
    job_id: str, kind: str, lines: Sequence[BillingScheduleLine]
) -> dict[str, Any]:
    if kind not in SCHEDULE_TYPE_IDS:
        raise ValueError(f"unknown billing schedule kind {kind!r}")
    return {
        "job": {"id": job_id},
        "scheduleType": {"id": SCHEDULE_TYPE_IDS[kind]},
        "recurrence": {
            "items": [
                {
                    "recurrenceDate": None if line.date is None else line.date.isoformat(),
                    "amount": json_value(line.amount),
                    "milestone": line.milestone_id,
                }
                for line in lines
            ]
        },
    }


def billing_schedule_external_id(job_id: str) -> str:
    """A job has one billing schedule, found again by this external id."""
    return f"BS-{job_id}"


def milestone_invoice_external_id(milestone_id: str) -> str:
    """A milestone is billed once, on the invoice with this external id."""
    return f"MS-{milestone_id}"


@dataclass(frozen=True)
class InvoiceLine:
    """A line of an invoice to create: posted time, by its timebill id (billed at the
    timebill's amount), or a fixed amount."""

    time_posting_id: str | None = None
    amount: Decimal | None = None
    description: str | None = None
    milestone_id: str | None = None

    def __post_init__(self) -> None:
        if (self.time_posting_id is None) == (self.amount is None):
            raise ValueError("an invoice line bills either a time posting or an amount")


def invoice_body(
    customer_id: str, job_id: str | None, lines: Sequence[InvoiceLine]
) -> dict[str, Any]:
    if not lines:
        raise ValueError("an invoice needs at least one line")
    body: dict[str, Any] = {"entity": {"id": customer_id}}
    if job_id is not None:
        body["job"] = {"id": job_id}
    time = [line for line in lines if line.time_posting_id is not None]
    items = [line for line in lines if line.amount is not None]
    if items:
        body["item"] = {
            "items": [
                {
                    "description": line.description,
                    "amount": json_value(line.amount),
                    "milestone": line.milestone_id,
                }
                for line in items
            ]
        }
    if time:
        body["time"] = {
            "items": [{"doc": {"id": line.time_posting_id}, "apply": True} for line in time]
        }
    return body


def milestone_invoice_body(
    customer_id: str, job_id: str, milestone_id: str, amount: Decimal
) -> dict[str, Any]:
    line = InvoiceLine(
        amount=amount, description=f"Milestone {milestone_id}", milestone_id=milestone_id
    )
    return {**invoice_body(customer_id, job_id, [line]), "custbody_milestone": milestone_id}


def json_value(value: Any) -> Any:
    """A value as the record API takes it in JSON."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _check_known(spec: Mapping[str, BodyField], fields: Mapping[str, Any]) -> None:
    unknown = sorted(set(fields) - set(spec))
    if unknown:
        raise ValueError(f"unknown fields {unknown}; known: {sorted(spec)}")

"""The sandbox's records catalog: which NetSuite record types it serves and their fields.

Field names are the REST record API's (camelCase); SuiteQL sees each record type as a
table of the same name whose columns are the field names in lower case, with a
reference field holding the referenced record's id (`BUILTIN.DF(col)` shows its name).
Each sublist is a table of its own, named type + sublist (`billingschedulerecurrence`),
with the parent's id in a column named after the parent type and a 1-based `line`.

Choices made where NetSuite's catalog is account-specific or not documented here:
`job.parent` is the customer; `invoice.job` and `timebill.job` name the project; the
`custbody_*`/`custentity_*` fields are the firm's custom fields; a timebill carries the
practice as `department`, the region as `location` and its `invoice` once billed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class FieldSpec:
    kind: str  # text date datetime money number bool ref choice sublist
    target: str | None = None  # ref: the record type pointed at
    choices: Mapping[str, str] = field(default_factory=dict)  # choice: id -> label
    items: Mapping[str, FieldSpec] = field(default_factory=dict)  # sublist: line fields
    writable: bool = True


def text() -> FieldSpec:
    return FieldSpec("text")


def day() -> FieldSpec:
    return FieldSpec("date")


def moment(*, writable: bool = True) -> FieldSpec:
    return FieldSpec("datetime", writable=writable)


def money(*, writable: bool = True) -> FieldSpec:
    return FieldSpec("money", writable=writable)


def number() -> FieldSpec:
    return FieldSpec("number")


def flag() -> FieldSpec:
    return FieldSpec("bool")


def ref(target: str) -> FieldSpec:
    return FieldSpec("ref", target=target)


def choice(options: Mapping[str, str], *, writable: bool = True) -> FieldSpec:
    return FieldSpec("choice", choices=MappingProxyType(dict(options)), writable=writable)


def sublist(**items: FieldSpec) -> FieldSpec:
    return FieldSpec("sublist", items=MappingProxyType(items))


@dataclass(frozen=True)
class RecordType:
    name: str  # the record API type, and the SuiteQL table
    fields: Mapping[str, FieldSpec]
    display: str  # the field a reference to this record shows as its refName
    required: tuple[str, ...] = ()  # fields a create must give
    writable: bool = True

    def sublists(self) -> dict[str, FieldSpec]:
        return {name: spec for name, spec in self.fields.items() if spec.kind == "sublist"}


# NetSuite's invoice status ids (its saved-search values) and their labels.
INVOICE_OPEN, INVOICE_PAID, INVOICE_PENDING, INVOICE_VOIDED = "A", "B", "D", "V"
INVOICE_STATUSES = {
    INVOICE_OPEN: "Open",
    INVOICE_PAID: "Paid In Full",
    INVOICE_PENDING: "Pending Approval",
    INVOICE_VOIDED: "Voided",
}

# The account's project statuses (entityStatus ids are per account in NetSuite).
JOB_STATUSES = {
    "1": "Not Started",
    "2": "In Progress",
    "3": "On Hold",
    "4": "Closed",
    "5": "Cancelled",
}
CLOSED_JOB_STATUSES = frozenset({"4", "5"})

CREDIT_HOLD = {"AUTO": "Auto", "ON": "On", "OFF": "Off"}

SCHEDULE_TYPES = {
    "FBI": "Fixed Bid Interval",
    "FBM": "Fixed Bid Milestone",
    "TM": "Time and Materials",
}


def _reference(name: str, display: str = "name", **extra: FieldSpec) -> RecordType:
    fields = {"name": text(), **extra}
    return RecordType(name, MappingProxyType(fields), display, writable=False)


_STAMPS = {"dateCreated": moment(writable=False), "lastModifiedDate": moment(writable=False)}

RECORD_TYPES: Mapping[str, RecordType] = MappingProxyType(
    {
        "subsidiary": _reference("subsidiary", currency=ref("currency")),
        "currency": _reference("currency", "symbol", symbol=text()),
        "term": _reference("term", daysUntilNetDue=number()),
        "department": _reference("department"),
        "location": _reference("location"),
        "customer": RecordType(
            "customer",
            MappingProxyType(
                {
                    "entityId": text(),
                    "externalId": text(),
                    "companyName": text(),
                    "terms": ref("term"),
                    "creditHoldOverride": choice(CREDIT_HOLD),
                    "custentity_credit_status": text(),
                    "currency": ref("currency"),
                    "subsidiary": ref("subsidiary"),
                    "isInactive": flag(),
                    **_STAMPS,
                }
            ),
            "companyName",
            required=("companyName",),
        ),
        "job": RecordType(
            "job",
            MappingProxyType(
                {
                    "entityId": text(),
                    "externalId": text(),
                    "companyName": text(),
                    "parent": ref("customer"),
                    "entityStatus": choice(JOB_STATUSES),
                    "startDate": day(),
                    "projectedEndDate": day(),
                    "currency": ref("currency"),
                    "subsidiary": ref("subsidiary"),
                    **_STAMPS,
                }
            ),
            "companyName",
            required=("companyName", "parent"),
        ),
        "billingschedule": RecordType(
            "billingschedule",
            MappingProxyType(
                {
                    "externalId": text(),
                    "name": text(),
                    "job": ref("job"),
                    "scheduleType": choice(SCHEDULE_TYPES),
                    "recurrence": sublist(recurrenceDate=day(), amount=money(), milestone=text()),
                    **_STAMPS,
                }
            ),
            "name",
            required=("job", "scheduleType"),
        ),
        "invoice": RecordType(
            "invoice",
            MappingProxyType(
                {
                    "externalId": text(),
                    "tranId": text(),
                    "entity": ref("customer"),
                    "job": ref("job"),
                    "status": choice(INVOICE_STATUSES, writable=False),
                    "total": money(writable=False),
                    "amountRemaining": money(writable=False),
                    "currency": ref("currency"),
                    "tranDate": day(),
                    "dueDate": day(),
                    "memo": text(),
                    "custbody_paid_at": moment(writable=False),
                    "custbody_blocked_reason": text(),
                    "custbody_milestone": text(),
                    "item": sublist(description=text(), amount=money(), milestone=text()),
                    "time": sublist(doc=ref("timebill"), apply=flag(), amount=money()),
                    **_STAMPS,
                }
            ),
            "tranId",
            required=("entity",),
        ),
        "customerpayment": RecordType(
            "customerpayment",
            MappingProxyType(
                {
                    "externalId": text(),
                    "tranId": text(),
                    "customer": ref("customer"),
                    "payment": money(),
                    "currency": ref("currency"),
                    "tranDate": day(),
                    "apply": sublist(doc=ref("invoice"), apply=flag(), amount=money()),
                    **_STAMPS,
                }
            ),
            "tranId",
            required=("customer", "payment"),
        ),
        "timebill": RecordType(
            "timebill",
            MappingProxyType(
                {
                    "externalId": text(),
                    "customer": ref("customer"),
                    "job": ref("job"),
                    "hours": number(),
                    "rate": money(),
                    "amount": money(writable=False),
                    "currency": ref("currency"),
                    "department": ref("department"),
                    "location": ref("location"),
                    "tranDate": day(),
                    "memo": text(),
                    "isBillable": flag(),
                    "invoice": ref("invoice"),
                    **_STAMPS,
                }
            ),
            "externalId",
            required=("job", "hours", "rate", "tranDate"),
        ),
    }
)

# The connector's entity names, and the record type each is.
ENTITY_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "customer": "customer",
        "job": "job",
        "billing_schedule": "billingschedule",
        "invoice": "invoice",
        "payment": "customerpayment",
        "time_posting": "timebill",
    }
)

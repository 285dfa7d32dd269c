"""The TIME sandbox's state: compact rows projected from the world, rendered as Harvest JSON.

Rows hold only what varies per record; names, codes and clients are looked up when a
row is rendered, so 150,000 time entries stay small in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sandboxes.world.model import Client, World
from sandboxes.world.names import USD_PER_UNIT

# World status -> (Harvest approval_status, is_billed)
_APPROVAL = {
    "DRAFT": ("unsubmitted", False),
    "SUBMITTED": ("submitted", False),
    "APPROVED": ("approved", False),
    "REJECTED": ("rejected", False),
    "INVOICED": ("approved", True),
}
_CLIENT_ID_BASE = 7_000_000  # Harvest client ids, derived from the world's client keys
_EXPENSE_CATEGORY_ID_BASE = 400_000


@dataclass(frozen=True, slots=True)
class ClientRef:
    id: str
    name: str
    currency: str


@dataclass(frozen=True, slots=True)
class InvoiceRef:
    id: str
    number: str


@dataclass(slots=True)
class UserRow:
    id: str
    seq: int
    first_name: str
    last_name: str
    email: str
    is_active: bool
    weekly_capacity: int  # seconds, as Harvest counts it
    default_hourly_rate: float
    cost_rate: float
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(slots=True)
class ProjectRow:
    id: str
    seq: int
    code: str
    name: str
    client: ClientRef
    is_active: bool
    is_billable: bool
    is_fixed_fee: bool
    budget: float
    starts_on: date
    ends_on: date
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class TimeEntryRow:
    id: str
    seq: int
    user_id: str
    project_id: str
    spent_date: date
    hours: float
    billable: bool
    approval_status: str
    is_billed: bool
    notes: str | None
    billable_rate: float
    cost_rate: float
    invoice: InvoiceRef | None
    external_reference: dict[str, Any] | None
    approved_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def is_locked(self) -> bool:
        return self.approval_status == "approved" or self.is_billed


@dataclass(slots=True)
class ExpenseRow:
    id: str
    seq: int
    user_id: str
    project_id: str
    spent_date: date
    total_cost: float
    currency: str  # the spender's, as the world records it (a sandbox extension)
    billable: bool
    approval_status: str
    is_billed: bool
    notes: str | None
    category: str
    created_at: datetime
    updated_at: datetime


@dataclass
class TimeData:
    users: list[UserRow]
    projects: list[ProjectRow]
    time_entries: list[TimeEntryRow]
    expenses: list[ExpenseRow]


# --- the world's slice --------------------------------------------------------------


def project_world(world: World, *, not_after: datetime) -> TimeData:
    """TIME's view of the world. Seeded times never run ahead of `not_after` (the sandbox
    clock), so a change scan started now sees only later writes."""

    def stamp(moment: datetime) -> datetime:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment if moment <= not_after else not_after

    clients = {client.key: _client_ref(client) for client in world.clients}
    users = [
        UserRow(
            id=person.time_user_id,
            seq=seq,
            first_name=person.name.partition(" ")[0],
            last_name=person.name.partition(" ")[2],
            email=person.email,
            is_active=True,
            weekly_capacity=round(person.weekly_capacity_hours * 3600),
            default_hourly_rate=float(person.bill_rate),
            cost_rate=float(person.cost_rate),
            created_at=stamp(person.modified_at),
            updated_at=stamp(person.modified_at),
        )
        for seq, person in enumerate(world.people)
    ]
    projects = [
        ProjectRow(
            id=project.time_project_id,
            seq=seq,
            code=project.code,
            name=project.name,
            client=clients[project.client_key],
            is_active=project.status in ("PLANNED", "ACTIVE", "ON_HOLD"),
            is_billable=True,
            is_fixed_fee=project.contract_type == "FIXED_FEE",
            budget=float(project.budget),
            starts_on=project.start_date,
            ends_on=project.end_date,
            created_at=stamp(project.modified_at),
            updated_at=stamp(project.modified_at),
        )
        for seq, project in enumerate(world.projects)
    ]
    time_entries = _time_entry_rows(world, stamp)
    expenses = [
        ExpenseRow(
            id=expense.time_id,
            seq=seq,
            user_id=world.people[expense.person_key].time_user_id,
            project_id=world.projects[expense.project_key].time_project_id,
            spent_date=expense.date,
            total_cost=float(expense.amount),
            currency=expense.currency,
            billable=expense.billable,
            approval_status=_APPROVAL[expense.status][0],
            is_billed=_APPROVAL[expense.status][1],
            notes=None,
            category=expense.category,
            created_at=stamp(expense.modified_at),
            updated_at=stamp(expense.modified_at),
        )
        for seq, expense in enumerate(world.expenses)
    ]
    return TimeData(users, projects, time_entries, expenses)


def _time_entry_rows(world: World, stamp: Callable[[datetime], datetime]) -> list[TimeEntryRow]:
    people, projects = world.people, world.projects
    # Rates in the project's currency, as the world bills them; shared, not per entry.
    rates: dict[tuple[int, str], tuple[float, float]] = {}
    invoices: dict[int, InvoiceRef] = {}
    rows = []
    for seq, entry in enumerate(world.time_entries):
        person, project = people[entry.person_key], projects[entry.project_key]
        rate_key = (entry.person_key, project.currency)
        if rate_key not in rates:
            factor = USD_PER_UNIT[person.currency] / USD_PER_UNIT[project.currency]
            rates[rate_key] = (float(person.bill_rate * factor), float(person.cost_rate * factor))
        bill_rate, cost_rate = rates[rate_key]
        invoice = None
        if entry.invoice_key is not None:
            invoice = invoices.get(entry.invoice_key)
            if invoice is None:
                source = world.invoices[entry.invoice_key]
                invoice = invoices[entry.invoice_key] = InvoiceRef(source.erp_id, source.number)
        approval, billed = _APPROVAL[entry.status]
        rows.append(
            TimeEntryRow(
                id=entry.time_id,
                seq=seq,
                user_id=person.time_user_id,
                project_id=project.time_project_id,
                spent_date=entry.date,
                hours=entry.hours,
                billable=entry.billable,
                approval_status=approval,
                is_billed=billed,
                notes=entry.notes or None,
                billable_rate=bill_rate,
                cost_rate=cost_rate,
                invoice=invoice,
                external_reference=None,
                approved_at=stamp(entry.approved_at) if entry.approved_at else None,
                created_at=stamp(entry.modified_at),
                updated_at=stamp(entry.modified_at),
            )
        )
    return rows


def _client_ref(client: Client) -> ClientRef:
    return ClientRef(
        id=str(_CLIENT_ID_BASE + client.key), name=client.name, currency=client.currency
    )


# --- Harvest JSON ---------------------------------------------------------------------


def wire_id(native: str) -> int | str:
    """Harvest ids are integers on the wire."""
    return int(native) if native.isdigit() else native


@lru_cache(maxsize=1 << 16)  # a listing renders tens of thousands of stamps, many alike
def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def render_user(row: UserRow) -> dict[str, Any]:
    return {
        "id": wire_id(row.id),
        "first_name": row.first_name,
        "last_name": row.last_name,
        "email": row.email,
        "timezone": "Etc/UTC",
        "is_contractor": False,
        "is_active": row.is_active,
        "weekly_capacity": row.weekly_capacity,
        "default_hourly_rate": row.default_hourly_rate,
        "cost_rate": row.cost_rate,
        "roles": [],
        "access_roles": ["member"],
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def render_client(client: ClientRef) -> dict[str, Any]:
    return {"id": wire_id(client.id), "name": client.name, "currency": client.currency}


def render_project(row: ProjectRow) -> dict[str, Any]:
    return {
        "id": wire_id(row.id),
        "name": row.name,
        "code": row.code,
        "client": render_client(row.client),
        "is_active": row.is_active,
        "is_billable": row.is_billable,
        "is_fixed_fee": row.is_fixed_fee,
        "bill_by": "People",
        "budget": row.budget,
        "budget_by": "project_cost",
        "starts_on": row.starts_on.isoformat(),
        "ends_on": row.ends_on.isoformat(),
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def render_time_entry(
    row: TimeEntryRow, users: Mapping[str, UserRow], projects: Mapping[str, ProjectRow]
) -> dict[str, Any]:
    project = projects[row.project_id]
    return {
        "id": wire_id(row.id),
        "spent_date": row.spent_date.isoformat(),
        "hours": row.hours,
        "hours_without_timer": row.hours,
        "rounded_hours": row.hours,
        "notes": row.notes,
        "is_locked": row.is_locked,
        "locked_reason": "Item Approved and Locked for this Time Period" if row.is_locked else None,
        "is_closed": row.approval_status == "approved",
        "is_billed": row.is_billed,
        "is_running": False,
        "billable": row.billable,
        "billable_rate": row.billable_rate if row.billable else None,
        "cost_rate": row.cost_rate,
        "approval_status": row.approval_status,
        "approved_at": timestamp(row.approved_at) if row.approved_at else None,  # extension
        "user": {"id": wire_id(row.user_id), "name": users[row.user_id].name},
        "client": render_client(project.client),
        "project": {"id": wire_id(project.id), "name": project.name, "code": project.code},
        "invoice": (
            {"id": wire_id(row.invoice.id), "number": row.invoice.number} if row.invoice else None
        ),
        "external_reference": row.external_reference,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def render_expense(
    row: ExpenseRow,
    users: Mapping[str, UserRow],
    projects: Mapping[str, ProjectRow],
    categories: Mapping[str, int],
) -> dict[str, Any]:
    project = projects[row.project_id]
    return {
        "id": wire_id(row.id),
        "spent_date": row.spent_date.isoformat(),
        "total_cost": row.total_cost,
        "currency": row.currency,  # extension: Harvest keeps expenses in the client's currency
        "units": 1,
        "notes": row.notes,
        "billable": row.billable,
        "is_closed": row.approval_status == "approved",
        "is_locked": row.approval_status == "approved" or row.is_billed,
        "is_billed": row.is_billed,
        "approval_status": row.approval_status,
        "user": {"id": wire_id(row.user_id), "name": users[row.user_id].name},
        "client": render_client(project.client),
        "project": {"id": wire_id(project.id), "name": project.name, "code": project.code},
        "expense_category": {
            "id": categories.get(row.category, _EXPENSE_CATEGORY_ID_BASE),
            "name": row.category,
        },
        "invoice": None,
        "receipt": None,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def expense_category_ids(rows: list[ExpenseRow]) -> dict[str, int]:
    names = sorted({row.category for row in rows})
    return {name: _EXPENSE_CATEGORY_ID_BASE + i for i, name in enumerate(names)}

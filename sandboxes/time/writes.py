"""Creating and updating time entries the way Harvest validates them.

Approval mirrors Harvest's approval workflow (submit, then a manager approves or
rejects; approved and billed entries are locked against edits). Harvest's web UI does
the approving; the sandbox lets a PATCH set `approval_status`, and lets a PATCH mark an
approved entry billed on an invoice (`is_billed`, `invoice {id, number}`), which is what
invoicing an entry does in Harvest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from sandboxes.time.params import InvalidValueError, parse_date
from sandboxes.time.rows import InvoiceRef, ProjectRow, TimeEntryRow, UserRow
from sources.time.harvest import APPROVAL_STATUSES


def _spent_date(value: Any) -> date:
    return parse_date(value, "spent_date")


def _hours(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 24:
        raise InvalidValueError("hours must be a number from 0 to 24")
    return round(float(value), 2)


def _notes(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidValueError("notes must be text")
    return value or None


def _billable(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidValueError("billable must be true or false")
    return value


def _reference(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value):
        raise InvalidValueError("ids must be integers")
    return str(value)


def _external_reference(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not value.get("id"):
        raise InvalidValueError("external_reference must be an object with an id")
    return {
        "id": str(value["id"]),
        "group_id": None if value.get("group_id") is None else str(value["group_id"]),
        "account_id": value.get("account_id"),
        "permalink": value.get("permalink"),
    }


# Fields an unlocked entry may change, with how each is read from JSON.
_CONTENT: dict[str, Callable[[Any], Any]] = {
    "spent_date": _spent_date,
    "hours": _hours,
    "notes": _notes,
    "billable": _billable,
    "project_id": _reference,
    "user_id": _reference,
    "external_reference": _external_reference,
}

EDITABLE_FIELDS = frozenset(_CONTENT)


def _invoice(value: Any) -> InvoiceRef | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("id") is None:
        raise InvalidValueError("invoice must be an object with an id and a number")
    return InvoiceRef(id=str(value["id"]), number=str(value.get("number") or value["id"]))


def new_time_entry(
    body: Mapping[str, Any],
    users: Mapping[str, UserRow],
    projects: Mapping[str, ProjectRow],
    *,
    entry_id: str,
    seq: int,
    now: datetime,
) -> TimeEntryRow:
    """An unsubmitted entry from a POST body. Unlike Harvest, `user_id` is required
    (there is no signed-in user), and `billable` may be given (Harvest takes it from
    the task)."""
    for required in ("user_id", "project_id", "spent_date"):
        if body.get(required) is None:
            raise InvalidValueError(f"{required} is required")
    fields = {name: parse(body[name]) for name, parse in _CONTENT.items() if name in body}
    user, project = _user_and_project(fields["user_id"], fields["project_id"], users, projects)
    return TimeEntryRow(
        id=entry_id,
        seq=seq,
        user_id=user.id,
        project_id=project.id,
        spent_date=fields["spent_date"],
        hours=fields.get("hours", 0.0),
        billable=fields.get("billable", project.is_billable),
        approval_status="unsubmitted",
        is_billed=False,
        notes=fields.get("notes"),
        billable_rate=user.default_hourly_rate,
        cost_rate=user.cost_rate,
        invoice=None,
        external_reference=fields.get("external_reference"),
        approved_at=None,
        created_at=now,
        updated_at=now,
    )


def entry_changes(
    row: TimeEntryRow,
    body: Mapping[str, Any],
    users: Mapping[str, UserRow],
    projects: Mapping[str, ProjectRow],
) -> dict[str, Any]:
    """The fields a PATCH body would change, validated; {} when it changes nothing,
    so repeating an approval or a billing is harmless."""
    changes = {
        name: value
        for name, parse in _CONTENT.items()
        if name in body and (value := parse(body[name])) != getattr(row, name)
    }
    if changes and row.is_locked:
        raise InvalidValueError("the time entry is locked (approved or billed); unapprove it first")
    if "user_id" in changes or "project_id" in changes:
        _user_and_project(
            changes.get("user_id", row.user_id),
            changes.get("project_id", row.project_id),
            users,
            projects,
        )

    approval = body.get("approval_status", row.approval_status)
    if approval not in APPROVAL_STATUSES:
        raise InvalidValueError(f"approval_status must be one of {', '.join(APPROVAL_STATUSES)}")
    if approval != row.approval_status:
        if row.is_billed:
            raise InvalidValueError("a billed time entry cannot change its approval")
        changes["approval_status"] = approval

    billed = body.get("is_billed", row.is_billed)
    if not isinstance(billed, bool):
        raise InvalidValueError("is_billed must be true or false")
    invoice = _invoice(body["invoice"]) if "invoice" in body else row.invoice
    if billed and not row.is_billed and approval != "approved":
        raise InvalidValueError("only approved time entries can be billed")
    if billed and row.is_billed and row.invoice and invoice and invoice != row.invoice:
        raise InvalidValueError(f"the time entry is already billed on invoice {row.invoice.number}")
    if not billed:
        invoice = None
    if billed != row.is_billed:
        changes["is_billed"] = billed
    if invoice != row.invoice:
        changes["invoice"] = invoice
    return changes


def apply_changes(row: TimeEntryRow, changes: Mapping[str, Any], now: datetime) -> None:
    for name, value in changes.items():
        setattr(row, name, value)
    if "approval_status" in changes:
        row.approved_at = now if row.approval_status == "approved" else None
    row.updated_at = now


def _user_and_project(
    user_id: str,
    project_id: str,
    users: Mapping[str, UserRow],
    projects: Mapping[str, ProjectRow],
) -> tuple[UserRow, ProjectRow]:
    user, project = users.get(user_id), projects.get(project_id)
    if user is None or not user.is_active:
        raise InvalidValueError(f"user {user_id} is not an active user")
    if project is None:
        raise InvalidValueError(f"project {project_id} does not exist")
    if not project.is_active:
        raise InvalidValueError(f"project {project_id} is archived")
    return user, project

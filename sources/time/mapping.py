"""Harvest JSON to canonical records, and canonical filters to Harvest query parameters.

Status: Harvest keeps approval (`approval_status`) and billing (`is_billed`) apart; the
canonical status folds them into one: billed is INVOICED whatever the approval, else
unsubmitted/submitted/approved/rejected are DRAFT/SUBMITTED/APPROVED/REJECTED.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from sources.errors import SourceDataError
from sources.records import Expense, Record, SourceSystem, TimeEntry, TimeProject, TimeUser

_CANONICAL = {
    "unsubmitted": "DRAFT",
    "submitted": "SUBMITTED",
    "approved": "APPROVED",
    "rejected": "REJECTED",
}
_APPROVAL = {canonical: approval for approval, canonical in _CANONICAL.items()}
STATUSES = ("DRAFT", "SUBMITTED", "APPROVED", "REJECTED", "INVOICED")


def canonical_status(approval_status: str, is_billed: bool) -> str:
    if is_billed:
        return "INVOICED"
    try:
        return _CANONICAL[approval_status]
    except KeyError:
        raise ValueError(f"unknown approval_status {approval_status!r}") from None


def status_params(status: str) -> dict[str, str]:
    """Harvest parameters selecting exactly the records with this canonical status."""
    if status == "INVOICED":
        return {"is_billed": "true"}
    if status not in _APPROVAL:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    return {"approval_status": _APPROVAL[status], "is_billed": "false"}


# --- filters ---------------------------------------------------------------------------

_FilterParam = Callable[[Any], dict[str, str]]


def _text(name: str) -> _FilterParam:
    return lambda value: {name: str(value)}


def _flag(name: str) -> _FilterParam:
    def param(value: Any) -> dict[str, str]:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be a bool")
        return {name: "true" if value else "false"}

    return param


def _day(name: str) -> _FilterParam:
    def param(value: Any) -> dict[str, str]:
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise ValueError(f"{name} must be a date")
        return {name: value.isoformat()}

    return param


def _since(value: Any) -> dict[str, str]:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValueError("updated_since must be a timezone-aware datetime")
    return {"updated_since": iso_utc(value)}


_DATED: dict[str, _FilterParam] = {
    "project_id": _text("project_id"),
    "user_id": _text("user_id"),
    "client_id": _text("client_id"),
    "from": _day("from"),
    "to": _day("to"),
    "is_billed": _flag("is_billed"),
    "status": lambda value: status_params(str(value)),
    "updated_since": _since,
}
FILTERS: dict[str, dict[str, _FilterParam]] = {
    "time_entry": {**_DATED, "external_reference_id": _text("external_reference_id")},
    "expense": _DATED,
    "user": {"is_active": _flag("is_active"), "updated_since": _since},
    "project": {
        "is_active": _flag("is_active"),
        "client_id": _text("client_id"),
        "updated_since": _since,
    },
}


def list_params(entity: str, filters: Mapping[str, Any]) -> dict[str, str]:
    """Harvest query parameters for canonical `filters`; ValueError on an unknown filter,
    a bad value, or filters that contradict each other (`status` and `is_billed`)."""
    known = FILTERS[entity]
    params: dict[str, str] = {}
    for name, value in filters.items():
        if name not in known:
            raise ValueError(f"{entity} cannot be filtered by {name!r}; use {sorted(known)}")
        for key, text in known[name](value).items():
            if params.get(key, text) != text:
                raise ValueError(f"filters disagree on {key}")
            params[key] = text
    return params


def iso_utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# --- records ---------------------------------------------------------------------------


def _timestamp(value: Any) -> dt.datetime:
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _optional_timestamp(value: Any) -> dt.datetime | None:
    return None if value is None else _timestamp(value)


def _id(value: Any) -> str:
    if value is None or isinstance(value, bool):
        raise ValueError("missing id")
    return str(value)


def time_entry_from(body: Mapping[str, Any]) -> TimeEntry:
    reference = body.get("external_reference")
    return TimeEntry(
        id=_id(body["id"]),
        modified_at=_timestamp(body["updated_at"]),
        user_id=_id(body["user"]["id"]),
        project_id=_id(body["project"]["id"]),
        project_code=body["project"].get("code") or "",
        date=dt.date.fromisoformat(body["spent_date"]),
        hours=body["hours"],
        billable=body["billable"],
        status=canonical_status(body["approval_status"], body["is_billed"]),
        notes=body.get("notes"),
        approved_at=_optional_timestamp(body.get("approved_at")),
        is_billed=body["is_billed"],
        external_reference=_id(reference["id"]) if reference else None,
    )


def expense_from(body: Mapping[str, Any]) -> Expense:
    client = body.get("client") or {}
    category = body.get("expense_category") or {}
    return Expense(
        id=_id(body["id"]),
        modified_at=_timestamp(body["updated_at"]),
        user_id=_id(body["user"]["id"]),
        project_id=_id(body["project"]["id"]),
        project_code=body["project"].get("code") or "",
        date=dt.date.fromisoformat(body["spent_date"]),
        amount=Decimal(str(body["total_cost"])),
        # The sandbox says which currency; Harvest keeps expenses in the client's.
        currency=body.get("currency") or client.get("currency") or "USD",
        billable=body["billable"],
        status=canonical_status(body.get("approval_status", "submitted"), body["is_billed"]),
        category=category.get("name"),
    )


def user_from(body: Mapping[str, Any]) -> TimeUser:
    return TimeUser(
        id=_id(body["id"]),
        modified_at=_timestamp(body["updated_at"]),
        name=f"{body.get('first_name') or ''} {body.get('last_name') or ''}".strip(),
        email=body["email"],
    )


def project_from(body: Mapping[str, Any]) -> TimeProject:
    client = body.get("client") or {}
    return TimeProject(
        id=_id(body["id"]),
        modified_at=_timestamp(body["updated_at"]),
        code=body.get("code") or "",
        name=body["name"],
        client_name=client.get("name"),
        is_active=body["is_active"],
    )


MAPPERS: dict[str, Callable[[Mapping[str, Any]], Record]] = {
    "time_entry": time_entry_from,
    "expense": expense_from,
    "user": user_from,
    "project": project_from,
}


def to_record(entity: str, body: Any) -> Record:
    """The canonical record for one Harvest object; SourceDataError if it is malformed."""
    try:
        if not isinstance(body, Mapping):
            raise TypeError(f"expected an object, got {type(body).__name__}")
        return MAPPERS[entity](body)
    except (KeyError, TypeError, ValueError, ValidationError) as error:
        raise SourceDataError(SourceSystem.TIME, f"malformed {entity}: {error!r}") from error

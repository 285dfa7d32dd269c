"""Kantata records to canonical records, and canonical fields to Kantata write bodies.

Every function here is pure. Readers raise KeyError, TypeError or ValueError on records
they cannot understand; the connector turns those into `SourceDataError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sources.records import Assignment, Milestone, Project, PsaUser, StaffingRequest

Raw = Mapping[str, Any]

# Kantata's workspace status keys, and the canonical status of each.
PROJECT_STATUS_BY_KEY = {
    300: "PLANNED",
    310: "ACTIVE",
    320: "ON_HOLD",
    350: "COMPLETED",
    360: "CANCELLED",
}
STATUS_KEY_BY_PROJECT_STATUS = {status: key for key, status in PROJECT_STATUS_BY_KEY.items()}
# Accounts rename and add statuses; when the key is not one we know, the words decide.
# Checked in order: "not started" must win over "started".
PROJECT_STATUS_WORDS = (
    ("cancel", "CANCELLED"),
    ("complete", "COMPLETED"),
    ("closed", "COMPLETED"),
    ("hold", "ON_HOLD"),
    ("not started", "PLANNED"),
    ("planning", "PLANNED"),
    ("estimate", "PLANNED"),
    ("prospect", "PLANNED"),
    ("active", "ACTIVE"),
    ("progress", "ACTIVE"),
    ("okay", "ACTIVE"),
    ("risk", "ACTIVE"),
    ("started", "ACTIVE"),
)
OPEN_STORY_STATES = frozenset({"not started", "started", "needs feedback", "rejected"})
REQUEST_STATUS = {
    "open": "OPEN",
    "in_progress": "OPEN",
    "filled": "FILLED",
    "cancelled": "CANCELLED",
    "canceled": "CANCELLED",
}
VENDOR_REQUEST_STATUSES = {
    "OPEN": ("open", "in_progress"),
    "FILLED": ("filled",),
    "CANCELLED": ("cancelled", "canceled"),
}
# canonical Project field -> Kantata workspace attribute
WORKSPACE_ATTRIBUTES = {
    "name": "title",
    "code": "project_code",
    "status": "status_key",
    "crm_account_id": "crm_account_id",
    "crm_opportunity_id": "crm_opportunity_id",
    "erp_job_id": "erp_job_id",
    "practice": "practice",
    "region": "region",
    "start_date": "start_date",
    "end_date": "due_date",
    "budget": "price_in_cents",
    "currency": "currency",
    "manager_user_id": "primary_maintainer_id",
}


# --- statuses ------------------------------------------------------------------------


def project_status(status: Any) -> str:
    """Canonical status of a Kantata status object `{key, message}` (or a bare message)."""
    if isinstance(status, Mapping):
        key = status.get("key")
        if isinstance(key, int | str) and str(key).isdigit() and int(key) in PROJECT_STATUS_BY_KEY:
            return PROJECT_STATUS_BY_KEY[int(key)]
        status = status.get("message")
    if not isinstance(status, str):
        raise ValueError(f"workspace status {status!r} is not a status")
    message = status.lower()
    for word, canonical in PROJECT_STATUS_WORDS:
        if word in message:
            return canonical
    raise ValueError(f"unknown workspace status {status!r}")


def milestone_status(state: str, billed: bool) -> str:
    if state == "completed":
        return "BILLED" if billed else "COMPLETED"
    if state in OPEN_STORY_STATES:
        return "OPEN"
    raise ValueError(f"unknown story state {state!r}")


def request_status(status: str) -> str:
    try:
        return REQUEST_STATUS[status.lower()]
    except KeyError:
        raise ValueError(f"unknown resource request status {status!r}") from None


def status_keys(statuses: Iterable[str]) -> list[str]:
    """Kantata status keys for canonical project statuses (a filter's values)."""
    try:
        return [str(STATUS_KEY_BY_PROJECT_STATUS[s]) for s in statuses]
    except KeyError as error:
        raise ValueError(f"unknown project status {error.args[0]!r}") from None


def request_statuses(statuses: Iterable[str]) -> list[str]:
    try:
        return [vendor for s in statuses for vendor in VENDOR_REQUEST_STATUSES[s]]
    except KeyError as error:
        raise ValueError(f"unknown staffing request status {error.args[0]!r}") from None


# --- Kantata -> canonical ------------------------------------------------------------


def _money(cents: Any) -> Decimal | None:
    if cents is None:
        return None
    if isinstance(cents, bool) or not isinstance(cents, int | str):
        raise TypeError(f"an amount in cents must be a whole number, not {cents!r}")
    return Decimal(int(cents)).scaleb(-2)


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


def project_from(raw: Raw, *, web_base: str) -> Project:
    workspace_id = str(raw["id"])
    return Project(
        id=workspace_id,
        modified_at=raw.get("updated_at"),
        url=f"{web_base}/workspaces/{workspace_id}",
        code=raw.get("project_code") or "",
        name=raw["title"],
        status=project_status(raw["status"]),
        crm_account_id=raw.get("crm_account_id"),
        crm_opportunity_id=raw.get("crm_opportunity_id"),
        erp_job_id=raw.get("erp_job_id"),
        practice=raw.get("practice"),
        region=raw.get("region"),
        start_date=raw.get("start_date"),
        end_date=raw.get("due_date"),
        budget=_money(raw.get("price_in_cents")),
        currency=raw.get("currency") or "USD",
        manager_user_id=_id(raw.get("primary_maintainer_id")),
    )


def milestone_from(raw: Raw, *, workspace: Raw | None, web_base: str) -> Milestone | None:
    """A milestone story as a Milestone; None for other story types (tasks, issues, ...).

    Stories carry no currency: it is their workspace's, when the workspace was included.
    """
    if raw.get("story_type") != "milestone":
        return None
    story_id, workspace_id = str(raw["id"]), str(raw["workspace_id"])
    return Milestone(
        id=story_id,
        modified_at=raw.get("updated_at"),
        url=f"{web_base}/workspaces/{workspace_id}/#tracker/{story_id}",
        project_id=workspace_id,
        name=raw["title"],
        due_date=raw.get("due_date"),
        status=milestone_status(raw["state"], bool(raw.get("billed"))),
        amount=_money(raw.get("budget_estimate_in_cents")),
        currency=(workspace or {}).get("currency") or "USD",
        completed_at=raw.get("completed_at"),
    )


def assignment_from(raw: Raw) -> Assignment:
    return Assignment(
        id=str(raw["id"]),
        modified_at=raw.get("updated_at"),
        project_id=str(raw["workspace_id"]),
        user_id=str(raw["user_id"]),
        role=raw.get("role"),
        hours_per_week=raw.get("hours_per_week"),
        start_date=raw.get("start_date"),
        end_date=raw.get("end_date"),
    )


def staffing_request_from(raw: Raw) -> StaffingRequest:
    return StaffingRequest(
        id=str(raw["id"]),
        modified_at=raw.get("updated_at"),
        project_id=str(raw["workspace_id"]),
        role=raw["role"],
        skills=list(raw.get("skills") or []),
        hours_per_week=raw.get("hours_per_week"),
        start_date=raw.get("start_date"),
        status=request_status(raw["status"]),
        assigned_user_id=_id(raw.get("assigned_user_id")),
    )


def user_from(raw: Raw) -> PsaUser:
    return PsaUser(
        id=str(raw["id"]),
        modified_at=raw.get("updated_at"),
        name=raw["full_name"],
        email=raw.get("email_address"),
        employee_number=_id(raw.get("employee_number")),
    )


# --- canonical -> Kantata ------------------------------------------------------------


def workspace_attributes(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A workspace write body from canonical `Project` field values."""
    unknown = set(fields) - set(WORKSPACE_ATTRIBUTES)
    if unknown:
        raise ValueError(f"not writable on a workspace: {', '.join(sorted(unknown))}")
    body: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            body[WORKSPACE_ATTRIBUTES[name]] = None
        elif name == "status":
            body["status_key"] = int(status_keys([value])[0])
        elif name == "budget":
            body["price_in_cents"] = int((Decimal(value) * 100).to_integral_value(ROUND_HALF_UP))
        elif isinstance(value, dt.date):
            body[WORKSPACE_ATTRIBUTES[name]] = value.isoformat()
        else:
            body[WORKSPACE_ATTRIBUTES[name]] = value
    return body


def resource_request_attributes(
    *,
    project_id: str,
    role: str,
    skills: Iterable[str],
    hours_per_week: float | None,
    start_date: dt.date | None,
    external_ref: str,
) -> dict[str, Any]:
    return {
        "workspace_id": project_id,
        "role": role,
        "skills": list(skills),
        "hours_per_week": hours_per_week,
        "start_date": start_date.isoformat() if start_date else None,
        "external_reference": external_ref,
    }


def participation_attributes(
    *,
    project_id: str,
    user_id: str,
    role: str | None,
    hours_per_week: float | None,
    start_date: dt.date | None,
    end_date: dt.date | None,
) -> dict[str, Any]:
    return {
        "workspace_id": project_id,
        "user_id": user_id,
        "role": role,
        "hours_per_week": hours_per_week,
        "start_date": start_date.isoformat() if start_date else None,
        "end_date": end_date.isoformat() if end_date else None,
    }

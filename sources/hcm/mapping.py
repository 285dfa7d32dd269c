"""Workday workers -> canonical `Worker` records, and each record's content digest."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from sources.errors import SourceDataError
from sources.records import SourceSystem, Worker

DIGEST_BYTES = 6  # 48 bits: a missed change needs a collision on that one record


def _bad(message: str) -> SourceDataError:
    return SourceDataError(SourceSystem.HCM, message)


def _descriptor(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("descriptor"), str):
        raise _bad(f"worker {key} is not a reference with a descriptor: {value!r}")
    descriptor: str = value["descriptor"]
    return descriptor


def _money(compensation: Mapping[str, Any], key: str) -> tuple[Decimal | None, str | None]:
    value = compensation.get(key)
    if value is None:
        return None, None
    if not isinstance(value, Mapping):
        raise _bad(f"worker compensation {key} is not an amount: {value!r}")
    amount, currency = value.get("amount"), value.get("currency")
    if amount is None:
        return None, currency
    try:
        # via str: a JSON number must not carry float noise into a rate
        return Decimal(str(amount)), currency
    except InvalidOperation:
        raise _bad(f"worker compensation {key} amount {amount!r} is not a number") from None


def _timestamp(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _bad(f"worker lastUpdated {value!r} is not an ISO 8601 instant") from None


def worker_from_workday(raw: Any, *, link: Callable[[str], str] | None = None) -> Worker:
    """Map one worker object (see `sandboxes.hcm.seed` for the shape) to a `Worker`;
    `link` makes the deep link from the worker id."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
        raise _bad(f"not a worker: {raw!r:.200}")
    compensation = raw.get("compensation")
    compensation = {} if compensation is None else compensation
    if not isinstance(compensation, Mapping):
        raise _bad(f"worker compensation is not an object: {compensation!r}")
    cost_rate, cost_currency = _money(compensation, "costRate")
    bill_rate, bill_currency = _money(compensation, "billRate")
    manager = raw.get("manager")
    skills = raw.get("skills")
    skills = [] if skills is None else skills
    if not isinstance(skills, list):
        raise _bad(f"worker skills is not a list: {skills!r}")
    fields: dict[str, Any] = {
        "id": raw["id"],
        "name": raw.get("descriptor"),
        "email": raw.get("primaryWorkEmail"),
        "title": raw.get("businessTitle"),
        "practice": _descriptor(raw, "primarySupervisoryOrganization"),
        "location": _descriptor(raw, "location"),
        "cost_center": _descriptor(raw, "costCenter"),
        "skills": [s.get("descriptor") if isinstance(s, Mapping) else s for s in skills],
        "cost_rate": cost_rate,
        "bill_rate": bill_rate,
        "currency": cost_currency or bill_currency or "USD",
        "manager_id": manager.get("id") if isinstance(manager, Mapping) else manager,
        "modified_at": _timestamp(raw.get("lastUpdated")),
        "url": link(raw["id"]) if link is not None else None,
    }
    active = raw.get("isActive", True)
    if not isinstance(active, bool):
        raise _bad(f"worker isActive is not a boolean: {active!r}")
    fields["active"] = active
    hours = raw.get("scheduledWeeklyHours")
    if hours is not None:
        fields["weekly_capacity_hours"] = hours
    try:
        return Worker(**fields)
    except ValidationError as error:
        raise _bad(f"worker {raw['id']!r} does not fit the record: {error}") from None


def digest(worker: Worker) -> str:
    """A short hash of everything the vendor said about the worker (not our deep link)."""
    content = worker.model_dump_json(exclude={"url"}).encode()
    return hashlib.blake2b(content, digest_size=DIGEST_BYTES).hexdigest()

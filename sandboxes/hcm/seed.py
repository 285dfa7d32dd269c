"""The HCM slice of the world: each person as a Workday staffing v6 worker.

A worker, as the sandbox serves it (the connector reads exactly these names):

    {"id": WID, "descriptor": full name, "primaryWorkEmail", "businessTitle",
     "isManager", "location": {"id", "descriptor"}, "costCenter": {"id", "descriptor"},
     "primarySupervisoryOrganization": {"id", "descriptor": practice},
     "manager": {"id", "descriptor"} | null, "skills": [{"id", "descriptor"}],
     "compensation": {"costRate": {"amount", "currency"}, "billRate": {...}},
     "scheduledWeeklyHours", "isActive", "lastUpdated"}

Amounts are decimal strings so no rate passes through a float. Reference objects carry
stable WID-like ids derived from their descriptor, as Workday's would be stable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandboxes.world.model import Person


def reference_id(kind: str, descriptor: str) -> str:
    """A stable 32-hex id for a reference object (location, cost centre, skill, ...)."""
    return hashlib.md5(f"{kind}:{descriptor}".encode(), usedforsecurity=False).hexdigest()


def workday_timestamp(moment: datetime) -> str:
    """UTC with milliseconds and a Z, the way Workday writes instants."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _reference(kind: str, descriptor: str) -> dict[str, str]:
    return {"id": reference_id(kind, descriptor), "descriptor": descriptor}


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(amount), "currency": currency}


def worker_json(person: Person, manager: Person | None, is_manager: bool) -> dict[str, Any]:
    return {
        "id": person.hcm_id,
        "descriptor": person.name,
        "primaryWorkEmail": person.email,
        "businessTitle": person.title,
        "isManager": is_manager,
        "location": _reference("location", person.location),
        "costCenter": _reference("costCenter", person.cost_center),
        "primarySupervisoryOrganization": _reference("supervisoryOrganization", person.practice),
        "manager": (
            {"id": manager.hcm_id, "descriptor": manager.name} if manager is not None else None
        ),
        "skills": [_reference("skill", skill) for skill in person.skills],
        "compensation": {
            "costRate": _money(person.cost_rate, person.currency),
            "billRate": _money(person.bill_rate, person.currency),
        },
        "scheduledWeeklyHours": person.weekly_capacity_hours,
        "isActive": True,
        "lastUpdated": workday_timestamp(person.modified_at),
    }


def workers_from_people(people: Iterable[Person]) -> dict[str, dict[str, Any]]:
    """Workers keyed by WID, in the world's order (the order `/workers` pages in)."""
    people = list(people)
    by_key = {person.key: person for person in people}
    managers = {person.manager_key for person in people if person.manager_key is not None}
    return {
        person.hcm_id: worker_json(
            person,
            by_key.get(person.manager_key) if person.manager_key is not None else None,
            person.key in managers,
        )
        for person in people
    }

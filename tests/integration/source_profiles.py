"""How each source system is exercised by the shared connector tests."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandboxes.world.model import World
from sources.connector import Connector


@dataclass(frozen=True)
class Profile:
    name: str
    bulk_entity: str
    bulk_ids: Callable[[World], list[str]]
    # requests a get_many of n ids may cost, given the entity's total
    cost: Callable[[Connector, int, int], int]
    page_entity: str
    page_ids: Callable[[World], set[str]]
    change_entity: str
    change_ids: Callable[[World], list[str]]
    missing_id: str  # an id of the right shape that the sandbox does not hold
    page_filters: dict[str, Any] = field(default_factory=dict)


def _batched(connector: Connector, n: int, total: int) -> int:
    return math.ceil(n / connector.batch_limit)


def _snapshot_or_fan_out(connector: Connector, n: int, total: int) -> int:
    # No batch-by-id in the vendor API: the documented bound of the connector.
    return min(n, math.ceil(total / connector.batch_limit))


def _time_ids_of_project(world: World, project_key: int) -> set[str]:
    return {e.time_id for e in world.time_entries if e.project_key == project_key}


def _first_project_with_time(world: World) -> int:
    counts = Counter(entry.project_key for entry in world.time_entries)
    return counts.most_common(1)[0][0]


PROFILES = [
    Profile(
        name="crm",
        missing_id="006000000000000AAA",
        bulk_entity="opportunity",
        bulk_ids=lambda w: [o.crm_id for o in w.opportunities],
        cost=_batched,
        page_entity="account",
        page_ids=lambda w: {c.crm_id for c in w.clients},
        change_entity="opportunity",
        change_ids=lambda w: [o.crm_id for o in w.opportunities[5:8]],
    ),
    Profile(
        name="psa",
        missing_id="999999999",
        bulk_entity="milestone",
        bulk_ids=lambda w: [m.psa_id for m in w.milestones],
        cost=_batched,
        page_entity="project",
        page_ids=lambda w: {p.psa_id for p in w.projects},
        change_entity="project",
        change_ids=lambda w: [p.psa_id for p in w.projects[5:8]],
    ),
    Profile(
        name="hcm",
        missing_id="0" * 32,
        bulk_entity="worker",
        bulk_ids=lambda w: [p.hcm_id for p in w.people],
        cost=_snapshot_or_fan_out,
        page_entity="worker",
        page_ids=lambda w: {p.hcm_id for p in w.people},
        change_entity="worker",
        change_ids=lambda w: [p.hcm_id for p in w.people[5:8]],
    ),
    Profile(
        name="erp",
        missing_id="999999999",
        bulk_entity="invoice",
        bulk_ids=lambda w: [i.erp_id for i in w.invoices],
        cost=_batched,
        page_entity="customer",
        page_ids=lambda w: (
            {c.erp_id for c in w.clients}
            | {c.duplicate_erp_id for c in w.clients if c.duplicate_erp_id}
        ),
        change_entity="invoice",
        change_ids=lambda w: [i.erp_id for i in w.invoices[5:8]],
    ),
    Profile(
        name="time",
        missing_id="999999999",
        bulk_entity="project",
        bulk_ids=lambda w: [p.time_project_id for p in w.projects],
        cost=_snapshot_or_fan_out,
        page_entity="time_entry",
        page_ids=lambda w: _time_ids_of_project(w, _first_project_with_time(w)),
        change_entity="time_entry",
        change_ids=lambda w: [e.time_id for e in w.time_entries[5:8]],
    ),
]


def page_filters(profile: Profile, world: World) -> dict[str, Any]:
    if profile.name == "time":
        project = world.projects[_first_project_with_time(world)]
        return {"project_id": project.time_project_id}
    return dict(profile.page_filters)

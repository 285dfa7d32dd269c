"""One contract, every connector: batching, paging and change scans over real HTTP.

Each system is described by a `Profile`: which entity to batch-read, what a 500-id read
may cost per the vendor's limits, which listing to page through, and which entity to
change. The same tests then run against all five sandboxes.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from gateway.settings import Settings
from sources.connector import Connector
from sources.registry import make_connector
from sources.sandbox.runner import SandboxCluster
from sources.world.model import World
from tests.conftest import source_settings


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
    page_filters: dict[str, Any] = field(default_factory=dict)


def _batched(connector: Connector, n: int, total: int) -> int:
    return math.ceil(n / connector.batch_limit)


def _snapshot_or_fan_out(connector: Connector, n: int, total: int) -> int:
    # No batch-by-id in the vendor API: the documented bound of the connector.
    return min(n, math.ceil(total / connector.batch_limit))


def _first_project_with_time(world: World) -> int:
    counts = Counter(entry.project_key for entry in world.time_entries)
    return counts.most_common(1)[0][0]


PROFILES = [
    Profile(
        name="crm",
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
        bulk_entity="project",
        bulk_ids=lambda w: [p.time_project_id for p in w.projects],
        cost=_snapshot_or_fan_out,
        page_entity="time_entry",
        page_ids=lambda w: {
            e.time_id for e in w.time_entries if e.project_key == _first_project_with_time(w)
        },
        change_entity="time_entry",
        change_ids=lambda w: [e.time_id for e in w.time_entries[5:8]],
    ),
]


@pytest.fixture(params=PROFILES, ids=[p.name for p in PROFILES])
def profile(request: pytest.FixtureRequest) -> Profile:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def connector(
    profile: Profile, sandboxes: SandboxCluster, demo_settings: Settings
) -> AsyncIterator[Connector]:
    async with make_connector(
        profile.name, source_settings(demo_settings, sandboxes, profile.name)
    ) as connector:
        yield connector


def _vendor_requests(sandboxes: SandboxCluster, name: str) -> Counter[str]:
    stats = httpx.get(f"{sandboxes[name].url}/_sandbox/stats").json()
    # Token endpoints are auth overhead, not data reads.
    return Counter({r: n for r, n in stats["routes"].items() if "token" not in r})


def _page_filters(profile: Profile, world: World) -> dict[str, Any]:
    if profile.name == "time":
        project = world.projects[_first_project_with_time(world)]
        return {"project_id": project.time_project_id}
    return dict(profile.page_filters)


async def test_reading_500_ids_costs_what_the_vendor_limits_allow(
    profile: Profile, connector: Connector, sandboxes: SandboxCluster, world: World
) -> None:
    all_ids = profile.bulk_ids(world)
    ids = all_ids[:500]
    before = _vendor_requests(sandboxes, profile.name)

    records = await connector.get_many(profile.bulk_entity, ids)

    spent = sum((_vendor_requests(sandboxes, profile.name) - before).values())
    assert [r.id if r else None for r in records] == ids
    assert spent <= profile.cost(connector, len(ids), len(all_ids))
    assert spent >= 1


async def test_reading_ids_keeps_order_and_marks_missing_ones(
    profile: Profile, connector: Connector, world: World
) -> None:
    ids = profile.bulk_ids(world)
    wanted = [ids[3], ids[1], _missing_id(profile.name), ids[2]]

    records = await connector.get_many(profile.bulk_entity, wanted)

    assert [r.id if r else None for r in records] == [ids[3], ids[1], None, ids[2]]


def _missing_id(system: str) -> str:
    return {
        "crm": "006000000000000AAA",
        "psa": "999999999",
        "hcm": "0" * 32,
        "erp": "999999999",
        "time": "999999999",
    }[system]


async def test_paging_returns_every_record_exactly_once(
    profile: Profile, connector: Connector, world: World
) -> None:
    seen: list[str] = []
    cursor: str | None = None
    totals = set()
    pages = 0
    while True:
        page = await connector.list(
            profile.page_entity, _page_filters(profile, world), page_size=100, cursor=cursor
        )
        seen.extend(record.id for record in page.items)
        totals.add(page.total)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break

    expected = profile.page_ids(world)
    assert len(seen) == len(set(seen)), "a record came back twice"
    assert set(seen) >= expected
    assert pages >= math.ceil(len(expected) / 100)
    assert totals - {None} <= {len(seen)}


async def test_change_scans_return_exactly_what_changed_since_the_cursor(
    profile: Profile, connector: Connector, sandboxes: SandboxCluster, world: World
) -> None:
    start = await connector.changes(profile.change_entity, None)
    assert start.records == []
    changed = profile.change_ids(world)

    touched = httpx.post(
        f"{sandboxes[profile.name].url}/_sandbox/touch",
        json={"entity": profile.change_entity, "ids": changed},
    )
    assert touched.json() == {"touched": len(changed)}

    after = await connector.changes(profile.change_entity, start.cursor)
    assert sorted(r.id for r in after.records) == sorted(changed)

    quiet = await connector.changes(profile.change_entity, after.cursor)
    assert quiet.records == []

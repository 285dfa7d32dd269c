"""One contract, every connector: batching, paging and change scans over real HTTP.

Each system is described by a `Profile`: which entity to batch-read, what a 500-id read
may cost per the vendor's limits, which listing to page through, and which entity to
change. The same tests then run against all five sandboxes.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.settings import Settings
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from sources import registry
from sources.connector import Connector
from sources.registry import make_connector
from tests.conftest import source_settings
from tests.integration.source_profiles import PROFILES, Profile, page_filters


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
    wanted = [ids[3], ids[1], profile.missing_id, ids[2]]

    records = await connector.get_many(profile.bulk_entity, wanted)

    assert [r.id if r else None for r in records] == [ids[3], ids[1], None, ids[2]]


async def test_paging_returns_every_record_exactly_once(
    profile: Profile, connector: Connector, world: World
) -> None:
    seen: list[str] = []
    cursor: str | None = None
    totals = set()
    pages = 0
    while True:
        page = await connector.list(
            profile.page_entity, page_filters(profile, world), page_size=100, cursor=cursor
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


async def test_every_id_the_vendor_hands_out_is_of_its_declared_format(
    profile: Profile, connector: Connector, world: World
) -> None:
    spec = registry.system(profile.name)
    page = await connector.list(profile.page_entity, page_filters(profile, world), page_size=50)
    handed_out = [record.id for record in page.items] + profile.bulk_ids(world)[:50]

    assert handed_out
    assert [i for i in handed_out if not spec.is_valid_id(i)] == []
    assert spec.is_valid_id(profile.missing_id)

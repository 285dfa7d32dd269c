"""A whole range of time over real HTTP: after its first page, the days left are read in
parts side by side, and the answer is what following Harvest's cursor gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

from resolvers.cache import SourceCache
from resolvers.upstream import Upstream, UpstreamCall
from sandboxes.world.model import World
from sources.records import Record, SourceSystem
from sources.time.connector import TimeConnector
from sources.time.harvest import MAX_PER_PAGE

TIME = SourceSystem.TIME


async def by_cursor(connector: TimeConnector, filters: dict[str, Any]) -> list[Record]:
    page = await connector.list("time_entry", filters, page_size=MAX_PER_PAGE)
    records = list(page.items)
    while page.next_cursor is not None:
        page = await connector.list("time_entry", filters, cursor=page.next_cursor)
        records.extend(page.items)
    return records


def a_range_of_several_pages(world: World) -> dict[str, Any]:
    start = world.today - dt.timedelta(days=90)
    within = sum(1 for e in world.time_entries if start <= e.date <= world.today)
    assert within > 3 * MAX_PER_PAGE, "the world is too small for this test"
    return {"from": start, "to": world.today}


async def test_the_days_after_the_first_page_are_read_side_by_side(connector, world):
    filters = a_range_of_several_pages(world)
    calls: list[UpstreamCall] = []
    upstream = Upstream({TIME: connector}, SourceCache({}))
    upstream.add_listener(calls.append)

    listed = await upstream.listing(TIME, "time_entry", filters)

    first, *parts = sorted(calls, key=lambda c: c.started)
    assert len(parts) >= 3
    assert all(part.started >= first.ended for part in parts)
    assert max(p.started for p in parts[:3]) < min(p.ended for p in parts[:3])
    expected = await by_cursor(connector, filters)
    assert [r.id for r in listed] == [r.id for r in expected]


async def test_a_range_of_one_page_is_one_request(connector, world):
    filters = {"from": world.today - dt.timedelta(days=1), "to": world.today}
    calls: list[UpstreamCall] = []
    upstream = Upstream({TIME: connector}, SourceCache({}))
    upstream.add_listener(calls.append)

    listed = await upstream.listing(TIME, "time_entry", filters)

    assert len(calls) == 1
    assert [r.id for r in listed] == [r.id for r in await by_cursor(connector, filters)]

from __future__ import annotations

import asyncio

from resolvers.cache import SourceCache
from resolvers.upstream import Upstream, UpstreamCall, freeze
from sources.connector import Page
from sources.errors import SourceTimeout, SourceUnavailable
from tests.unit.resolvers.fakes import ERP, HCM, PSA, TIME, FakeConnector, firm


class FailsForSomeParents(FakeConnector):
    async def list(self, entity, filters=None, *, page_size=100, cursor=None):
        if "P3" in (filters or {}).get("project_id", []):
            raise SourceTimeout(self.system, "slow chunk")
        return await super().list(entity, filters, page_size=page_size, cursor=cursor)


async def test_children_are_chunked_at_the_batch_limit_and_chunks_fail_alone():
    f = firm(6)
    psa = FailsForSomeParents(PSA, f.records[PSA], batch_limit=2)
    upstream = Upstream({**f.connectors, PSA: psa}, SourceCache({}))

    groups = await upstream.children(PSA, "milestone", "project_id", [f"P{i}" for i in range(6)])

    assert [len(g) if isinstance(g, list) else "error" for g in groups] == [
        2,
        2,
        "error",
        "error",
        2,
        2,
    ]


async def test_a_filter_that_takes_one_value_is_read_once_per_parent():
    f = firm(3)
    upstream = Upstream(f.connectors, SourceCache({}))

    groups = await upstream.children(TIME, "time_entry", "user_id", ["T0", "T1"], batchable=False)

    assert [len(g) for g in groups if isinstance(g, list)] == [6, 3]
    assert [c.size for c in f.log] == [6, 3]


async def test_a_listing_follows_every_page():
    f = firm(3)
    f.connectors[PSA].max_page = 2
    upstream = Upstream(f.connectors, SourceCache({}))

    users = await upstream.listing(PSA, "user")

    assert [u.id for u in users] == ["U0", "U1", "U2", "U3"]
    assert len(f.connectors[PSA].calls_to("list")) == 2


async def test_a_source_not_configured_is_unavailable():
    f = firm(1)
    upstream = Upstream({PSA: f.connectors[PSA]}, SourceCache({}))

    (result,) = await upstream.get_many(HCM, "worker", ["W1"])

    assert isinstance(result, SourceUnavailable)
    assert "not configured" in str(result)


async def test_the_state_of_each_source_follows_its_calls():
    f = firm(1)
    upstream = Upstream(f.connectors, SourceCache({}))
    f.connectors[ERP].failure = SourceUnavailable(ERP, "HTTP 503")

    await upstream.get_many(ERP, "customer", ["C0"])
    await upstream.get_many(PSA, "project", ["P0"])
    states = upstream.states()

    assert states[ERP].consecutive_failures == 1
    assert states[ERP].last_error_code == "SOURCE_UNAVAILABLE"
    assert states[PSA].last_success is not None
    assert states[PSA].last_error is None
    assert states[HCM].configured


async def test_probe_reports_whether_the_source_answers():
    f = firm(1)
    upstream = Upstream(f.connectors, SourceCache({}))
    f.connectors[TIME].failure = SourceUnavailable(TIME, "down")

    assert await upstream.probe(PSA)
    assert not await upstream.probe(TIME)


async def test_independent_reads_run_concurrently():
    f = firm(2)
    for connector in f.connectors.values():
        connector.delay = 0.2
    upstream = Upstream(f.connectors, SourceCache({}))
    loop = asyncio.get_running_loop()
    started = loop.time()

    await asyncio.gather(
        upstream.get_many(PSA, "project", ["P0"]),
        upstream.get_many(ERP, "job", ["J0"]),
        upstream.listing(TIME, "user"),
    )

    assert loop.time() - started < 0.5  # generous: three reads of 0.2 s each, at once


async def test_listeners_see_each_connector_call():
    f = firm(1)
    upstream = Upstream(f.connectors, SourceCache({}))
    seen: list[UpstreamCall] = []
    upstream.add_listener(seen.append)

    await upstream.get_many(PSA, "project", ["P0"])

    assert [(c.system, c.entity, c.kind, c.error) for c in seen] == [
        (PSA, "project", "get_many", None)
    ]


def test_filters_freeze_to_the_same_key_in_any_order():
    assert freeze({"b": [2, 1], "a": "x"}) == freeze({"a": "x", "b": (1, 2)})
    assert freeze({"a": None}) == freeze({})


class PageSizes(FakeConnector):
    asked: list[int]

    async def list(self, entity, filters=None, *, page_size=100, cursor=None):
        self.asked.append(page_size)
        return await super().list(entity, filters, page_size=page_size, cursor=cursor)


async def test_pages_never_ask_a_vendor_for_more_than_it_serves():
    f = firm(1)
    hcm = PageSizes(HCM, f.records[HCM])
    psa = PageSizes(PSA, f.records[PSA])
    hcm.asked, psa.asked = [], []
    upstream = Upstream({**f.connectors, HCM: hcm, PSA: psa}, SourceCache({}))

    await upstream.page(HCM, "worker", {}, page_size=1000, cursor=None)
    await upstream.listing(PSA, "user")

    assert hcm.asked == [100]  # Workday's limit
    assert psa.asked == [200]  # Kantata's per_page


class NumberedPages(FakeConnector):
    """Pages that name the cursors of the rest (as Kantata's page numbers allow)."""

    async def list(self, entity, filters=None, *, page_size=100, cursor=None):
        page = await super().list(entity, filters, page_size=page_size, cursor=cursor)
        step = max(1, min(page_size, self.max_page))
        rest = range(int(cursor or 0) + step, page.total or 0, step)
        return Page(page.items, page.next_cursor, page.total, following=tuple(map(str, rest)))


async def test_a_listing_of_numbered_pages_reads_the_first_then_the_rest_side_by_side():
    f = firm(8)
    psa = NumberedPages(PSA, f.records[PSA], max_page=3)
    psa.delay = 0.02
    calls: list[UpstreamCall] = []
    upstream = Upstream({**f.connectors, PSA: psa}, SourceCache({}))
    upstream.add_listener(calls.append)

    found = await upstream.listing(PSA, "milestone")

    assert [r.id for r in found] == [r.id for r in f.records[PSA]["milestone"]]
    assert len(calls) == -(-len(found) // 3) > 2
    first, *rest = sorted(calls, key=lambda c: c.started)
    assert all(c.started >= first.ended for c in rest)
    assert max(c.started for c in rest) < min(c.ended for c in rest)  # all at once

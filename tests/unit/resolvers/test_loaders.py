from __future__ import annotations

import asyncio
from typing import cast

import pytest

from resolvers.cache import SourceCache
from resolvers.freshness import Freshness
from resolvers.loaders import Loaders
from resolvers.upstream import Upstream
from sources.errors import SourceUnavailable
from sources.records import Milestone, Project
from tests.unit.resolvers.fakes import CRM, ERP, PSA, FakeConnector, firm


def upstream_for(connectors, ttls=None) -> Upstream:
    return Upstream(connectors, SourceCache(ttls or {}))


def loaders_for(upstream: Upstream) -> Loaders:
    return Loaders(upstream, Freshness(upstream.clock))


async def test_loads_of_one_level_become_one_batched_read():
    f = firm(40)
    loaders = loaders_for(upstream_for(f.connectors))
    projects = f.records[PSA]["project"]

    found = await asyncio.gather(*(loaders.by_id(PSA, "project").load(p.id) for p in projects))

    assert [p.id for p in found if p is not None] == [p.id for p in projects]
    assert [(c.method, c.size) for c in f.log] == [("get_many", 40)]


async def test_a_batch_is_chunked_at_the_sources_limit():
    f = firm(120)  # PSA's fake takes 50 ids a request
    loaders = loaders_for(upstream_for(f.connectors))

    await asyncio.gather(
        *(loaders.by_id(PSA, "project").load(p.id) for p in f.records[PSA]["project"])
    )

    assert [c.size for c in f.log] == [50, 50, 20]


async def test_an_unknown_id_loads_as_none():
    f = firm(2)
    loaders = loaders_for(upstream_for(f.connectors))

    assert await loaders.by_id(PSA, "project").load("nope") is None


async def test_children_of_many_parents_are_read_with_one_list_valued_filter():
    f = firm(10)
    loaders = loaders_for(upstream_for(f.connectors))
    loader = loaders.by_key(PSA, "milestone", "project_id")

    groups = await asyncio.gather(*(loader.load(f"P{p}") for p in range(10)))

    assert [len(g) for g in groups] == [2] * 10
    assert all(cast(Milestone, m).project_id == f"P{p}" for p, g in enumerate(groups) for m in g)
    assert [(c.method, c.entity) for c in f.log] == [("list", "milestone")]


async def test_a_failing_source_fails_each_of_its_keys_and_nothing_else():
    f = firm(4)
    f.connectors[ERP].failure = SourceUnavailable(ERP, "down")
    loaders = loaders_for(upstream_for(f.connectors))

    jobs = loaders.by_key(ERP, "job", "psa_project_id")
    results = await asyncio.gather(
        jobs.load("P0"),
        jobs.load("P2"),
        loaders.by_id(PSA, "project").load("P0"),
        return_exceptions=True,
    )

    assert isinstance(results[0], SourceUnavailable)
    assert isinstance(results[1], SourceUnavailable)
    assert isinstance(results[2], Project)
    assert results[2].id == "P0"


class Misaligned(FakeConnector):
    async def get_many(self, entity, ids):
        return (await super().get_many(entity, ids))[:-1]


async def test_an_answer_that_does_not_line_up_with_the_keys_fails_loudly():
    f = firm(3)
    broken = Misaligned(PSA, f.records[PSA])
    loaders = loaders_for(upstream_for({**f.connectors, PSA: broken}))

    with pytest.raises(AssertionError, match="returned 2 records for 3 ids"):
        await asyncio.gather(*(loaders.by_id(PSA, "project").load(f"P{i}") for i in range(3)))


async def test_each_request_has_its_own_loaders_over_the_shared_cache():
    f = firm(2)
    upstream = upstream_for(f.connectors, {PSA: {"project": 60}})

    first = await loaders_for(upstream).by_id(PSA, "project").load("P0")
    second = await loaders_for(upstream).by_id(PSA, "project").load("P0")

    assert first == second
    assert len(f.log) == 1  # the second request found it in the shared cache


async def test_a_reference_listing_is_read_once_per_request_and_indexed():
    f = firm(2)
    loaders = loaders_for(upstream_for(f.connectors))

    by_email = await asyncio.gather(
        loaders.index(PSA, "user", "email"), loaders.index(PSA, "user", "employee_number")
    )

    assert by_email[0]["person1@firm.example"].id == "U1"
    assert by_email[1]["w2"].id == "U2"  # keys are normalised
    assert [(c.method, c.entity) for c in f.log] == [("list", "user")]


async def test_the_request_learns_the_age_of_what_it_read():
    f = firm(2)
    upstream = upstream_for(f.connectors)
    freshness = Freshness(upstream.clock)
    loaders = Loaders(upstream, freshness)

    await loaders.by_id(CRM, "account").load(f.records[CRM]["account"][0].id)

    report = freshness.report()
    assert list(report) == ["CRM"]
    assert report["CRM"]["stale"] is False
    assert report["CRM"]["ageSeconds"] >= 0


async def test_records_a_listing_returned_are_answered_by_id_without_a_read():
    f = firm(5)
    loaders = loaders_for(upstream_for(f.connectors))
    listed, other = f.records[PSA]["project"][:3], f.records[PSA]["project"][3]

    loaders.listed(PSA, "project", listed)

    assert loaders.peek(PSA, "project", listed[0].id) == (True, listed[0])
    assert loaders.peek(PSA, "project", other.id) == (False, None)
    found = await asyncio.gather(*(loaders.by_id(PSA, "project").load(p.id) for p in listed))
    assert found == listed
    assert f.log == []
    assert await loaders.by_id(PSA, "project").load(other.id) == other
    assert [(c.method, c.size) for c in f.log] == [("get_many", 1)]


async def test_a_listing_after_the_loader_is_made_is_answered_by_it_too():
    f = firm(4)
    loaders = loaders_for(upstream_for(f.connectors))
    first, second = f.records[PSA]["project"][:2]
    loader = loaders.by_id(PSA, "project")

    loaders.listed(PSA, "project", [first, second])

    assert loaders.peek(PSA, "project", second.id) == (True, second)
    assert await loaders.by_id(PSA, "project").load(first.id) is first
    assert loader is loaders.by_id(PSA, "project")
    assert f.log == []

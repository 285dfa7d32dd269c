from __future__ import annotations

import asyncio
from typing import Any

import pytest

from resolvers.cache import Cached, CachePolicy, Namespace, SourceCache
from sources.errors import SourceError, SourceRejected, SourceUnavailable
from sources.records import SourceSystem

CRM, ERP = SourceSystem.CRM, SourceSystem.ERP
ACCOUNTS = Namespace(CRM, "account")
ACCOUNT_PAGES = Namespace(CRM, "account", "page")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Loads:
    """A load function that records what it was asked for."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.asked: list[list[str]] = []
        self.fail = fail

    async def __call__(self, items):
        self.asked.append(list(items))
        await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail
        return [f"value-{item}" for item in items]


def make_cache(clock: Clock, ttl: float = 60.0, **policy) -> SourceCache:
    return SourceCache(
        {CRM: {"account": ttl}, ERP: {"invoice": ttl}}, CachePolicy(**policy), clock=clock
    )


async def values(
    cache: SourceCache, items: list[str], loads: Any, namespace: Namespace = ACCOUNTS
) -> list[Any]:
    return [fresh(r).value for r in await cache.fetch_many(namespace, items, loads)]


def fresh(result: Cached[Any] | SourceError) -> Cached[Any]:
    assert isinstance(result, Cached), result
    return result


async def test_within_its_ttl_an_item_is_served_from_the_cache():
    clock = Clock()
    cache = make_cache(clock)
    loads = Loads()

    assert await values(cache, ["a", "b"], loads) == ["value-a", "value-b"]
    clock.now += 59
    assert await values(cache, ["a", "b", "c"], loads) == ["value-a", "value-b", "value-c"]

    assert loads.asked == [["a", "b"], ["c"]]


async def test_after_its_ttl_an_item_is_read_again():
    clock = Clock()
    cache = make_cache(clock)
    loads = Loads()
    await values(cache, ["a"], loads)

    clock.now += 61
    await values(cache, ["a"], loads)

    assert loads.asked == [["a"], ["a"]]


async def test_an_entity_without_a_ttl_is_not_cached():
    cache = make_cache(Clock())
    loads = Loads()
    contacts = Namespace(CRM, "contact")

    await values(cache, ["a"], loads, contacts)
    await values(cache, ["a"], loads, contacts)

    assert loads.asked == [["a"], ["a"]]


async def test_identical_reads_in_flight_at_once_are_made_once():
    cache = make_cache(Clock(), ttl=0)  # sharing does not depend on caching
    loads = Loads()

    first, second = await asyncio.gather(
        values(cache, ["a", "b"], loads), values(cache, ["b", "c"], loads)
    )

    assert first == ["value-a", "value-b"]
    assert second == ["value-b", "value-c"]
    assert loads.asked == [["a", "b"], ["c"]]


async def test_with_sharing_off_each_read_in_flight_goes_upstream_itself():
    cache = make_cache(Clock(), ttl=0, share_in_flight=False)
    loads = Loads()

    first, second = await asyncio.gather(
        values(cache, ["a", "b"], loads), values(cache, ["b", "c"], loads)
    )

    assert (first, second) == (["value-a", "value-b"], ["value-b", "value-c"])
    assert loads.asked == [["a", "b"], ["b", "c"]]


async def test_a_waiter_that_gives_up_does_not_cancel_the_read_for_the_others():
    cache = make_cache(Clock())
    gate = asyncio.Event()

    async def slow(items):
        await gate.wait()
        return [f"value-{i}" for i in items]

    impatient = asyncio.ensure_future(values(cache, ["a"], slow))
    patient = asyncio.ensure_future(values(cache, ["a"], slow))
    await asyncio.sleep(0)
    impatient.cancel()
    gate.set()

    assert await patient == ["value-a"]


async def test_a_failed_item_gets_its_error_and_the_others_their_values():
    cache = make_cache(Clock())
    error = SourceUnavailable(CRM, "down")

    async def half(items):
        return [error if item == "b" else f"value-{item}" for item in items]

    results = await cache.fetch_many(ACCOUNTS, ["a", "b"], half)

    assert fresh(results[0]).value == "value-a"
    assert results[1] is error


async def test_a_failed_item_is_not_cached():
    cache = make_cache(Clock())
    await cache.fetch_many(ACCOUNTS, ["a"], Loads(fail=SourceUnavailable(CRM, "down")))
    loads = Loads()

    assert await values(cache, ["a"], loads) == ["value-a"]


async def test_when_the_source_is_down_an_expired_item_is_served_marked_stale():
    clock = Clock()
    cache = make_cache(clock, stale_if_error=300)
    await values(cache, ["a"], Loads())
    clock.now += 120

    (result,) = await cache.fetch_many(ACCOUNTS, ["a"], Loads(fail=SourceUnavailable(CRM, "x")))

    assert fresh(result).value == "value-a"
    assert fresh(result).stale
    assert fresh(result).fetched_at == 1000.0


async def test_with_sharing_off_reads_are_still_cached_and_a_failure_still_served_stale():
    clock = Clock()
    cache = make_cache(clock, stale_if_error=300, share_in_flight=False)
    loads = Loads()
    await values(cache, ["a"], loads)

    assert await values(cache, ["a"], loads) == ["value-a"]
    assert loads.asked == [["a"]]
    clock.now += 120
    down = SourceUnavailable(CRM, "x")
    stale, failed = await cache.fetch_many(ACCOUNTS, ["a", "b"], Loads(fail=down))
    assert fresh(stale).stale
    assert fresh(stale).value == "value-a"
    assert failed is down


async def test_past_the_stale_window_the_error_stands():
    clock = Clock()
    cache = make_cache(clock, stale_if_error=300)
    await values(cache, ["a"], Loads())
    clock.now += 60 + 301
    down = SourceUnavailable(CRM, "x")

    (result,) = await cache.fetch_many(ACCOUNTS, ["a"], Loads(fail=down))

    assert result is down


async def test_a_rejected_request_is_not_hidden_by_stale_data():
    clock = Clock()
    cache = make_cache(clock, stale_if_error=300)
    await values(cache, ["a"], Loads())
    clock.now += 120
    rejected = SourceRejected(CRM, "no", status=400)

    (result,) = await cache.fetch_many(ACCOUNTS, ["a"], Loads(fail=rejected))

    assert result is rejected


async def test_fetch_one_raises_the_sources_error():
    cache = make_cache(Clock())

    async def fail():
        raise SourceUnavailable(CRM, "down")

    with pytest.raises(SourceUnavailable):
        await cache.fetch_one(ACCOUNT_PAGES, ("p", 1), fail)


async def test_invalidating_ids_drops_those_records_and_every_listing_of_the_entity():
    cache = make_cache(Clock())
    loads = Loads()
    await values(cache, ["a", "b"], loads)
    await values(cache, ["page-1"], loads, ACCOUNT_PAGES)

    dropped = cache.invalidate(CRM, "account", ["a"])
    await values(cache, ["a", "b"], loads)
    await values(cache, ["page-1"], loads, ACCOUNT_PAGES)

    assert dropped == 2
    assert loads.asked == [["a", "b"], ["page-1"], ["a"], ["page-1"]]


async def test_invalidating_an_entity_drops_aggregates_that_depend_on_it():
    cache = make_cache(Clock())
    totals = Namespace(ERP, "invoice", "aggregate", frozenset({"payment"}))
    loads = Loads()
    await values(cache, ["job-1"], loads, totals)

    cache.invalidate(ERP, "payment", ["p-9"])
    await values(cache, ["job-1"], loads, totals)

    assert loads.asked == [["job-1"], ["job-1"]]


async def test_a_read_in_flight_during_an_invalidation_is_not_stored():
    cache = make_cache(Clock())
    gate = asyncio.Event()

    async def slow(items):
        await gate.wait()
        return ["old" for _ in items]

    reading = asyncio.ensure_future(values(cache, ["a"], slow))
    await asyncio.sleep(0)
    cache.invalidate(CRM, "account", ["a"])
    gate.set()
    assert await reading == ["old"]

    assert await values(cache, ["a"], Loads()) == ["value-a"]


async def test_the_cache_is_bounded():
    cache = make_cache(Clock(), maxsize=10)

    await values(cache, [str(i) for i in range(50)], Loads())

    assert len(cache) == 10


async def test_a_load_that_does_not_line_up_with_its_items_fails_loudly():
    cache = make_cache(Clock())

    async def short(items):
        return ["only one"]

    with pytest.raises(AssertionError, match="2 keys"):
        await cache.fetch_many(ACCOUNTS, ["a", "b"], short)

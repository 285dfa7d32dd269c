"""Named leases: one holder at a time, renewed by its holder, taken by another only once
it has run out or been released, whoever races for it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

from gateway.store import Store
from tests.unit.store.fixtures import Clock

TTL_S = 15.0
CONTENDERS = 20


async def test_of_two_holders_the_first_gets_the_lease(store: Store, clock: Clock):
    first = await store.leases.acquire("capture", "a", TTL_S, now=clock())
    second = await store.leases.acquire("capture", "b", TTL_S, now=clock())

    assert (first, second) == (True, False)
    lease = await store.leases.get("capture")
    assert lease is not None
    assert lease.holder == "a"


async def test_the_holder_renews_its_lease(store: Store, clock: Clock):
    await store.leases.acquire("capture", "a", TTL_S, now=clock())
    clock.advance(TTL_S - 1)

    renewed = await store.leases.acquire("capture", "a", TTL_S, now=clock())
    clock.advance(TTL_S - 1)  # past the first term, within the renewed one
    taken = await store.leases.acquire("capture", "b", TTL_S, now=clock())

    assert renewed
    assert not taken
    lease = await store.leases.get("capture")
    assert lease is not None
    assert lease.holder == "a"


async def test_another_holder_gets_the_lease_only_once_it_has_run_out(store: Store, clock: Clock):
    await store.leases.acquire("capture", "a", TTL_S, now=clock())
    clock.advance(TTL_S - 1)
    early = await store.leases.acquire("capture", "b", TTL_S, now=clock())
    clock.advance(1)
    now = clock()

    on_expiry = await store.leases.acquire("capture", "b", TTL_S, now=now)
    back = await store.leases.acquire("capture", "a", TTL_S, now=now)

    assert (early, on_expiry, back) == (False, True, False)
    lease = await store.leases.get("capture")
    assert lease is not None
    assert (lease.holder, lease.expires_at) == ("b", now + dt.timedelta(seconds=TTL_S))


async def test_a_released_lease_is_free_at_once_and_only_its_holder_releases_it(
    store: Store, clock: Clock
):
    await store.leases.acquire("capture", "a", TTL_S, now=clock())

    by_another = await store.leases.release("capture", "b")
    by_holder = await store.leases.release("capture", "a")
    taken = await store.leases.acquire("capture", "b", TTL_S, now=clock())

    assert (by_another, by_holder, taken) == (False, True, True)


async def test_leases_with_different_names_are_independent(store: Store, clock: Clock):
    assert await store.leases.acquire("capture", "a", TTL_S, now=clock())
    assert await store.leases.acquire("other", "b", TTL_S, now=clock())
    assert await store.leases.get("nobody") is None


async def test_of_many_racing_for_a_free_lease_exactly_one_wins(
    store: Store, open_store: Callable[[], Awaitable[Store]], clock: Clock
):
    replicas = [store, await open_store(), await open_store()]

    won = await asyncio.gather(
        *(
            replicas[n % len(replicas)].leases.acquire("capture", f"h{n}", TTL_S, now=clock())
            for n in range(CONTENDERS)
        )
    )

    assert won.count(True) == 1
    lease = await store.leases.get("capture")
    assert lease is not None
    assert lease.holder == f"h{won.index(True)}"


async def test_of_many_racing_for_a_lease_that_ran_out_exactly_one_wins(
    store: Store, open_store: Callable[[], Awaitable[Store]], clock: Clock
):
    await store.leases.acquire("capture", "gone", TTL_S, now=clock())
    clock.advance(TTL_S)
    replicas = [store, await open_store(), await open_store()]

    won = await asyncio.gather(
        *(
            replicas[n % len(replicas)].leases.acquire("capture", f"h{n}", TTL_S, now=clock())
            for n in range(CONTENDERS)
        )
    )

    assert won.count(True) == 1

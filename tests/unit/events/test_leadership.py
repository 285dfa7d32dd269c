"""Capture leadership: of the gateways sharing a store, only the one holding the "capture"
lease polls; a standby takes over at its next try when the leader stops, and once the
lease has run out when the leader vanishes without a word."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from gateway.events.bus import Broadcast
from gateway.events.capture import Capture, Poller, PollPlan, SourceHealth
from gateway.events.ingest import Ingest
from gateway.events.leadership import Leadership, Leases
from gateway.events.log import EventLog
from gateway.store import Store
from sources.records import SourceSystem
from tests.unit.events.fakes import FakeConnector, global_id
from tests.unit.store.fixtures import Clock

TTL_S = 15.0  # for tests that drive each round themselves: real time hardly moves
QUICK_TTL_S = 1.5  # for tests that leave the rounds to the background loop
WAIT_S = 10.0
SCANS = "changes time_entry"


class Reachable:
    """The store's leases as one gateway reaches them; after `cut()` every call fails the
    way a lost database connection does."""

    def __init__(self, leases: Leases) -> None:
        self._leases = leases
        self.cut_off = False

    def cut(self) -> None:
        self.cut_off = True

    async def acquire(
        self, name: str, holder: str, ttl_s: float, *, now: dt.datetime | None = None
    ) -> bool:
        self._check()
        return await self._leases.acquire(name, holder, ttl_s, now=now)

    async def release(self, name: str, holder: str) -> bool:
        self._check()
        return await self._leases.release(name, holder)

    def _check(self) -> None:
        if self.cut_off:
            raise ConnectionRefusedError("the store is out of reach")


class Replica:
    """One gateway's capture: its own store connection, connector and lease holder."""

    def __init__(
        self, name: str, store: Store, bus: Broadcast, *, ttl_s: float, clock: Clock
    ) -> None:
        self.store = store
        self.connector = FakeConnector(SourceSystem.PSA)
        event_log = EventLog(store, bus, subject_id=global_id)
        ingest = Ingest(event_log, subject_id=global_id)
        plan = PollPlan(SourceSystem.PSA, "time_entry", 0.01)
        capture = Capture([Poller(plan, self.connector, ingest, store, SourceHealth(event_log))])
        self.leases = Reachable(store.leases)
        self.leadership = Leadership(
            self.leases, "capture", ttl_s=ttl_s, work=capture.run, holder=name, clock=clock
        )

    def scans(self) -> int:
        return self.connector.calls.count(SCANS)

    async def until_scanning(self) -> None:
        async with asyncio.timeout(WAIT_S):
            start = self.scans()
            while self.scans() < start + 3:
                await asyncio.sleep(0.01)


@pytest.fixture
async def replica(
    tmp_path: Path, bus: Broadcast
) -> AsyncIterator[Callable[..., Awaitable[Replica]]]:
    """`await replica("a", ttl_s=..., clock=...)`: another gateway on one shared store."""
    opened: list[tuple[Store, Replica]] = []

    async def open_(name: str, *, ttl_s: float = TTL_S, clock: Clock | None = None) -> Replica:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}")
        made = Replica(name, store, bus, ttl_s=ttl_s, clock=clock or Clock())
        opened.append((store, made))
        return made

    yield open_
    for store, made in opened:
        made.leases.cut_off = False
        await made.leadership.stop()
        await store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_of_two_gateways_only_the_lease_holder_polls(replica, clock: Clock):
    a, b = await replica("a", clock=clock), await replica("b", clock=clock)

    roles = [await a.leadership.contend(), await b.leadership.contend()]
    await a.until_scanning()
    clock.advance(TTL_S / 3)
    renewed = [await a.leadership.contend(), await b.leadership.contend()]
    await a.until_scanning()

    assert roles == renewed == ["leader", "standby"]
    assert b.scans() == 0


async def test_when_the_leader_stops_the_standby_leads_at_its_next_try(replica, clock: Clock):
    a, b = await replica("a", clock=clock), await replica("b", clock=clock)
    await a.leadership.contend()
    await b.leadership.contend()

    await a.leadership.stop()
    scanned = a.scans()

    assert await b.leadership.contend() == "leader"  # no time has passed: the release did it
    await b.until_scanning()
    assert a.scans() == scanned
    assert a.leadership.role == "standby"


async def test_a_standby_keeps_trying_and_takes_over_within_a_renew_interval(replica):
    # B's clock runs an hour behind, so to B the leader's lease never runs out: only the
    # release can hand it over.
    behind = Clock()
    behind.advance(-3600)
    a = await replica("a", ttl_s=QUICK_TTL_S)
    b = await replica("b", ttl_s=QUICK_TTL_S, clock=behind)
    a.leadership.start()
    await a.until_scanning()
    b.leadership.start()
    await asyncio.sleep(QUICK_TTL_S)  # B has tried and been refused
    assert (a.leadership.role, b.leadership.role) == ("leader", "standby")

    await a.leadership.stop()

    async with asyncio.timeout(WAIT_S):
        while b.leadership.role != "leader":
            await asyncio.sleep(0.01)
    await b.until_scanning()


async def test_a_leader_that_cannot_renew_stops_polling_before_its_lease_runs_out(
    replica, clock: Clock
):
    a = await replica("a", clock=clock)
    await a.leadership.contend()
    a.leases.cut()

    clock.advance(TTL_S / 3)
    after_one_miss = await a.leadership.contend()
    clock.advance(TTL_S / 3)
    after_two = await a.leadership.contend()  # a third try could end after the lease

    assert (after_one_miss, after_two) == ("leader", "standby")
    scanned = a.scans()
    await asyncio.sleep(0.1)
    assert a.scans() == scanned


async def test_a_leader_that_vanishes_unreleased_is_replaced_once_its_lease_runs_out(
    replica, clock: Clock
):
    a, b = await replica("a", clock=clock), await replica("b", clock=clock)
    await a.leadership.contend()
    a.leases.cut()
    await a.leadership.stop()  # the release cannot reach the store

    clock.advance(TTL_S - 1)
    before_expiry = await b.leadership.contend()
    clock.advance(1)
    after_expiry = await b.leadership.contend()

    assert (before_expiry, after_expiry) == ("standby", "leader")
    await b.until_scanning()


async def test_a_running_standby_takes_over_from_a_vanished_leader_after_expiry(replica):
    a = await replica("a", ttl_s=QUICK_TTL_S)
    b = await replica("b", ttl_s=QUICK_TTL_S)
    a.leadership.start()
    await a.until_scanning()
    b.leadership.start()
    a.leases.cut()
    last_term = await a.store.leases.get("capture")
    assert last_term is not None
    await a.leadership.stop()

    async with asyncio.timeout(WAIT_S):
        while b.leadership.role != "leader":
            await asyncio.sleep(0.01)

    assert dt.datetime.now(dt.UTC) >= last_term.expires_at
    await b.until_scanning()

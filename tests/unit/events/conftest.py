"""A store on SQLite and an in-process bus for the events unit suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.events.bus import Broadcast
from gateway.events.ingest import Ingest
from gateway.events.live import LiveFeed
from gateway.events.log import EventLog
from gateway.store import Store
from tests.unit.events.fakes import global_id


class Invalidations:
    """Records what the read cache was told to forget."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[str] | None]] = []

    def __call__(self, system: object, entity: str, ids: object) -> None:
        self.calls.append((str(getattr(system, "value", system)), entity, ids))  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'events.db'}")
    yield opened
    await opened.close()


@pytest.fixture
async def bus() -> AsyncIterator[Broadcast]:
    async with Broadcast("memory://", buffer=100) as broadcast:
        yield broadcast


@pytest.fixture
def event_log(store: Store, bus: Broadcast) -> EventLog:
    return EventLog(store, bus, subject_id=global_id)


@pytest.fixture
def invalidations() -> Invalidations:
    return Invalidations()


@pytest.fixture
def ingest(event_log: EventLog, invalidations: Invalidations) -> Ingest:
    return Ingest(event_log, subject_id=global_id, invalidate=invalidations)


@pytest.fixture
async def feed(event_log: EventLog, bus: Broadcast) -> AsyncIterator[LiveFeed]:
    live = LiveFeed(event_log, bus, buffer=50, poll_s=0.05)
    await live.start()
    yield live
    await live.stop()

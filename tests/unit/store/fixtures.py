"""Store and engine fixtures shared by the unit suite (SQLite) and the integration suite
(the same tests on SQLite and PostgreSQL). Each suite's conftest provides `store_url`."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import delete

from gateway.store import Store
from gateway.store.tables import metadata
from gateway.workflows import Engine, WorkflowDefinition


class Clock:
    """A clock a test can move forward (leases and due times read it)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += dt.timedelta(seconds=seconds)


async def empty(store: Store) -> None:
    """Delete every row: a PostgreSQL database is shared by the whole run."""
    async with store.transaction() as tx:
        for table in reversed(metadata.sorted_tables):
            await tx.connection.execute(delete(table))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(store_url)
    await empty(opened)
    yield opened
    await opened.close()


@pytest.fixture
async def open_store(store_url: str) -> AsyncIterator[Callable[[], Awaitable[Store]]]:
    """Another Store on the same database, with its own pool (another replica)."""
    opened: list[Store] = []

    async def open_another() -> Store:
        another = await Store.open(store_url)
        opened.append(another)
        return another

    yield open_another
    for another in opened:
        await another.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_engine(store: Store, clock: Clock) -> Callable[..., Engine]:
    """An engine with test-sized timings; pass `store=` for another replica's."""

    def make(*definitions: WorkflowDefinition, **options: Any) -> Engine:
        options.setdefault("lease_seconds", 5.0)
        options.setdefault("poll_interval", 0.02)
        options.setdefault("clock", clock)
        return Engine(options.pop("store", store), definitions, **options)

    return make

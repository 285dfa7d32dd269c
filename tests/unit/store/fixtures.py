"""Store and engine fixtures shared by the unit suite (SQLite) and the integration suite
(the same tests on SQLite and PostgreSQL). Each suite's conftest provides `store_url`,
the URL of an already migrated database."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import delete

from gateway.store import Store, migrate
from gateway.store.tables import metadata
from gateway.workflows import Engine, WorkflowDefinition

_T = TypeVar("_T")


def run_in_own_loop(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run async set-up from a sync fixture, away from the loops tests run in."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, made once; tests get copies (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("store") / "migrated.db"
    run_in_own_loop(migrate(f"sqlite+aiosqlite:///{path}"))
    return path


def sqlite_copy_url(migrated: Path, directory: Path) -> str:
    target = directory / "store.db"
    shutil.copyfile(migrated, target)
    return f"sqlite+aiosqlite:///{target}"


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
    opened = await Store.open(store_url, migrate=False)
    await empty(opened)
    yield opened
    await opened.close()


@pytest.fixture
async def open_store(store_url: str) -> AsyncIterator[Callable[[], Awaitable[Store]]]:
    """Another Store on the same database, with its own pool (another replica)."""
    opened: list[Store] = []

    async def open_another() -> Store:
        another = await Store.open(store_url, migrate=False)
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

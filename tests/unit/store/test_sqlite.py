"""SQLite specifics: WAL, one writer at a time without "database is locked", and a clear
error instead of a deadlock for a write transaction opened inside another."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text

from gateway.store import NestedTransactionError, Store


async def test_the_database_runs_in_wal_mode(store: Store):
    async with store.engine.connect() as connection:
        mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()

    assert mode == "wal"


async def test_concurrent_writers_from_two_stores_all_commit(
    store: Store, open_store: Callable[[], Awaitable[Store]]
):
    other = await open_store()

    async def write(target: Store, n: int) -> None:
        async with target.transaction() as tx:
            # Read first, then write: the pattern that deadlocks under plain BEGIN.
            await tx.events.last_cursor()
            await tx.events.append("Written", {"n": n})

    await asyncio.gather(*(write(store if n % 2 else other, n) for n in range(40)))

    events = await store.events.read_after(None, limit=100)
    assert sorted(e.data["n"] for e in events) == list(range(40))


async def test_a_write_transaction_inside_another_is_refused(store: Store):
    async with store.transaction() as tx:
        await tx.outbox.add("workflow", {})
        with pytest.raises(NestedTransactionError):
            await store.outbox.add("workflow", {})


async def test_reads_inside_a_write_transaction_do_not_wait_for_it(store: Store):
    async with store.transaction() as tx:
        await tx.outbox.add("workflow", {})
        # WAL: a reader sees the last commit, not the open transaction, and does not block.
        assert await asyncio.wait_for(store.outbox.fetch_unpublished(), timeout=5) == []

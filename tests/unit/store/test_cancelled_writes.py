"""A write cancelled at any moment (a timeout, a lease stepping down, a client gone) leaves
SQLite writable, and leaves nothing waiting: the connection SQLAlchemy gives up on closes
its cursors first, so a statement that had written cannot keep the write lock, and its
thread is stopped once, so its close ends."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
from pathlib import Path

from gateway.store import Store
from gateway.store.sqlite_connection import CursorClosingConnection


def sqlite_path(store: Store) -> str:
    database = store.engine.url.database
    assert database is not None
    return database


def writable_from_outside(path: str) -> bool:
    """Whether another process could take SQLite's write lock within a second."""
    other = sqlite3.connect(path, isolation_level=None, timeout=1.0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:  # "database is locked"
        return False
    finally:
        other.close()


async def test_writes_cancelled_at_random_moments_never_leave_the_write_lock_held(store: Store):
    # Before, about one such cancellation in four left a connection holding the lock.
    rng = random.Random(20261207)
    path = sqlite_path(store)
    for _ in range(3):  # a warm pool, as in a running gateway
        await store.leases.acquire("job", "a", 3.0)
    cancelled = wedged = 0
    for _ in range(150):
        write = asyncio.create_task(store.leases.acquire("job", "a", 3.0))
        await asyncio.sleep(rng.random() * 0.004)  # anywhere from queueing to commit
        write.cancel()
        try:
            await write
            continue
        except asyncio.CancelledError:
            cancelled += 1
        wedged += not writable_from_outside(path)

    assert cancelled >= 50  # the test would prove nothing if the writes all got done
    assert wedged == 0
    assert await store.leases.acquire("job", "b", 3.0) is False  # a's: still the store's word


def test_a_connection_closed_mid_statement_lets_the_write_lock_go(tmp_path: Path):
    path = str(tmp_path / "plain.db")
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("CREATE TABLE t (n INTEGER)")
    setup.close()
    connection = sqlite3.connect(path, isolation_level=None, factory=CursorClosingConnection)
    connection.execute("BEGIN IMMEDIATE")
    cursor = connection.cursor()
    cursor.execute("INSERT INTO t VALUES (1), (2) RETURNING n")  # one row read, one not
    connection.close()  # the cursor lives on, as in a cancellation's traceback

    assert writable_from_outside(path)
    assert cursor is not None


def test_closing_a_connection_twice_is_harmless(tmp_path: Path):
    connection = sqlite3.connect(str(tmp_path / "twice.db"), factory=CursorClosingConnection)
    connection.cursor().execute("SELECT 1")
    connection.close()
    connection.close()


async def test_a_write_cancelled_twice_while_another_process_writes_leaves_nothing_waiting(
    store_url: str,
):
    # Before, the connection's close waited for ever for a thread that had stopped, and
    # the event loop, which waits for every task when it shuts down, never did.
    store = await Store.open(store_url, migrate=False)
    path = sqlite_path(store)
    other = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    other.execute("BEGIN IMMEDIATE")
    write = asyncio.create_task(store.leases.acquire("job", "a", 3.0))
    await asyncio.sleep(0.05)  # queued behind the other process, inside SQLite
    write.cancel()  # say, a timeout
    await asyncio.sleep(0)
    write.cancel()  # and the lease stopping
    await asyncio.sleep(0.1)
    other.execute("ROLLBACK")
    other.close()
    with contextlib.suppress(asyncio.CancelledError):
        await write
    async with asyncio.timeout(10):
        await store.close()

    left = asyncio.all_tasks() - {asyncio.current_task()}
    if left:
        _, waiting = await asyncio.wait(left, timeout=5)
        assert not waiting
    assert writable_from_outside(path)

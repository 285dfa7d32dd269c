"""Building the async engine, with the SQLite settings that make it safe to share.

SQLite allows one writer at a time. Left alone, two transactions that both start by
reading and then write deadlock on the upgrade and one fails at once with "database is
locked", whatever the busy timeout. So every write transaction starts with
`BEGIN IMMEDIATE` (it queues for the write lock up front, honouring the busy timeout,
which covers other processes), and the `Store` serializes its own writers with a lock
so tasks in one process never contend inside SQLite at all. Readers use
`BEGIN DEFERRED` and, thanks to WAL, never wait for the writer. Connections come from
`sqlite_connection`, mended so that a write cancelled midway neither keeps the write
lock nor leaves a close that never ends.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from gateway.store.sqlite_connection import open_connection

SQLITE_BUSY_TIMEOUT_MS = 10_000
READ_ONLY = "psgraph_read_only"  # execution option: this transaction only reads


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An engine for `sqlite+aiosqlite:///file` or `postgresql+asyncpg://...`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, in_memory=parsed.database in (None, "", ":memory:"), echo=echo)
    if parsed.get_backend_name() == "postgresql":
        return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10)
    raise ValueError(f"unsupported store URL {parsed.render_as_string(hide_password=True)}")


def _sqlite_engine(url: str, *, in_memory: bool, echo: bool) -> AsyncEngine:
    options: dict[str, Any] = {"echo": echo, "connect_args": {"async_creator_fn": open_connection}}
    if in_memory:
        # Every new connection to :memory: is a new, empty database: share one.
        options["poolclass"] = StaticPool
    engine = create_async_engine(url, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")

    return engine

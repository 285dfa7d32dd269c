"""The store: one object per process owning the engine, handing out repositories.

store = await Store.open(url)                  # migrates to the latest schema first
await store.audit.record(...)                  # one call, one short transaction
async with store.transaction() as tx:          # several writes, one commit
    await tx.workflows.update_leased(...)
    await tx.outbox.add("workflow", {...})
await store.close()
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.store.database import READ_ONLY, create_engine
from gateway.store.errors import NestedTransactionError
from gateway.store.migrate import upgrade
from gateway.store.records import OutboxMessage
from gateway.store.repos.audit import AuditRepository
from gateway.store.repos.base import Scope
from gateway.store.repos.business_keys import BusinessKeyRepository
from gateway.store.repos.crosswalk import CrosswalkRepository
from gateway.store.repos.events import EventRepository
from gateway.store.repos.exceptions import ExceptionRepository
from gateway.store.repos.idempotency import IdempotencyRepository
from gateway.store.repos.ingest import (
    ChangeCursorRepository,
    DeadLetterRepository,
    WebhookReceiptRepository,
)
from gateway.store.repos.leases import LeaseRepository
from gateway.store.repos.outbox import OutboxRepository
from gateway.store.repos.steps import StepRepository
from gateway.store.repos.workflows import WorkflowRepository

Publish = Callable[[OutboxMessage], Awaitable[None]]


class Repositories:
    """Every repository, bound to one scope (the store, or one open transaction)."""

    def __init__(self, scope: Scope) -> None:
        self.workflows = WorkflowRepository(scope)
        self.steps = StepRepository(scope)
        self.idempotency = IdempotencyRepository(scope)
        self.outbox = OutboxRepository(scope)
        self.crosswalk = CrosswalkRepository(scope)
        self.audit = AuditRepository(scope)
        self.events = EventRepository(scope)
        self.webhooks = WebhookReceiptRepository(scope)
        self.cursors = ChangeCursorRepository(scope)
        self.dead_letters = DeadLetterRepository(scope)
        self.leases = LeaseRepository(scope)
        self.business_keys = BusinessKeyRepository(scope)
        self.exceptions = ExceptionRepository(scope)


class Joined:
    """The scope of one open transaction: every read and write joins its connection."""

    def __init__(self, connection: AsyncConnection, dialect: str) -> None:
        self.connection = connection
        self._dialect = dialect

    @property
    def dialect(self) -> str:
        return self._dialect

    def reading(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self._joined()

    def writing(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self._joined()

    @asynccontextmanager
    async def _joined(self) -> AsyncIterator[AsyncConnection]:
        yield self.connection


class Transaction(Repositories):
    """Repositories sharing one open transaction; see `Store.transaction`. They are bound
    to its `Joined` scope, not to the transaction: a cycle between them would leave every
    transaction, and its connection, to the cycle collector."""

    def __init__(self, connection: AsyncConnection, dialect: str) -> None:
        self.connection = connection
        self.scope = Joined(connection, dialect)  # for repositories of other packages
        super().__init__(self.scope)


class Store(Repositories):
    """The gateway's durable state on SQLite (one process) or PostgreSQL (many replicas)."""

    def __init__(self, engine: AsyncEngine) -> None:
        """Prefer `Store.open`; this takes an engine built by `database.create_engine`."""
        self.engine = engine
        self._readers = engine.execution_options(**{READ_ONLY: True})
        self._dialect = engine.dialect.name
        # SQLite has one writer; queue ours here rather than inside SQLite.
        self._writer_lock = asyncio.Lock() if self._dialect == "sqlite" else None
        self._writer: asyncio.Task[object] | None = None
        self._relay_lock = asyncio.Lock()
        super().__init__(self)

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True, echo: bool = False) -> Store:
        """Connect to `url`, first bringing its schema to the latest version if `migrate`."""
        engine = create_engine(url, echo=echo)
        if migrate:
            await upgrade(engine)
        return cls(engine)

    async def close(self) -> None:
        await self.engine.dispose()

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self._dialect

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A write transaction: commits when the block ends, rolls back if it raises.

        Do not call the store's own repositories inside the block (they would open a
        second transaction; on SQLite that is refused with NestedTransactionError); use `tx`'s.
        """
        async with self.writing() as connection:
            yield Transaction(connection, self._dialect)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Transaction]:
        """A read-only transaction: several reads that see one consistent state."""
        async with self.reading() as connection:
            yield Transaction(connection, self._dialect)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        async with self._readers.begin() as connection:
            yield connection

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        if self._writer_lock is None:
            async with self.engine.begin() as connection:
                yield connection
            return
        current = asyncio.current_task()
        if current is not None and self._writer is current:
            raise NestedTransactionError(
                "a write transaction is already open in this task; use its repositories"
            )
        async with self._writer_lock:
            self._writer = current
            try:
                async with self.engine.begin() as connection:
                    yield connection
            finally:
                self._writer = None

    async def relay_outbox(self, publish: Publish, *, limit: int = 100) -> int:
        """Publish unpublished outbox messages in order, then mark them; how many went.

        On PostgreSQL the batch stays row-locked while it is published, so relays on
        other replicas skip it. On SQLite (one process) a lock keeps relays in this
        process from overlapping, and publishing happens outside any transaction so a
        publish hook may itself use the store.
        """
        async with self._relay_lock:
            total = 0
            while True:
                if self._dialect == "postgresql":
                    async with self.transaction() as tx:
                        batch = await tx.outbox.fetch_unpublished(limit=limit, lock=True)
                        for message in batch:
                            await publish(message)
                        await tx.outbox.mark_published([m.id for m in batch])
                else:
                    batch = await self.outbox.fetch_unpublished(limit=limit)
                    for message in batch:
                        await publish(message)
                    await self.outbox.mark_published([m.id for m in batch])
                total += len(batch)
                if len(batch) < limit:
                    return total

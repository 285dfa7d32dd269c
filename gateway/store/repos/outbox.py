"""The transactional outbox: messages written with the state change they announce.

Rows are written inside the transaction that changes state and published after it
commits, so a message is never sent for a change that rolled back, and never lost for
one that committed. Delivery is at least once: a subscriber may see a message twice
(after a crash between publishing and marking), and dedupes by `id`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, insert, select, update

from gateway.store.records import OutboxMessage
from gateway.store.repos.base import Repository
from gateway.store.tables import outbox
from gateway.store.types import utcnow


class OutboxRepository(Repository):
    async def add(self, topic: str, payload: dict[str, Any]) -> int:
        """Queue a message; its id orders it after every message queued before."""
        async with self._scope.writing() as conn:
            result = await conn.execute(
                insert(outbox)
                .values(topic=topic, payload=payload, created_at=utcnow())
                .returning(outbox.c.id)
            )
            return int(result.scalar_one())

    async def fetch_unpublished(
        self, *, limit: int = 100, lock: bool = False
    ) -> list[OutboxMessage]:
        """The oldest unpublished messages.

        With `lock` (inside a transaction, PostgreSQL), rows are locked and rows another
        relay holds are skipped, so concurrent relays never publish the same message.
        """
        statement = (
            select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(limit)
        )
        if lock:
            statement = statement.with_for_update(skip_locked=True)
            async with self._scope.writing() as conn:
                rows = list(await conn.execute(statement))
        else:
            async with self._scope.reading() as conn:
                rows = list(await conn.execute(statement))
        return [_record(row) for row in rows]

    async def mark_published(self, ids: Sequence[int], at: dt.datetime | None = None) -> None:
        if not ids:
            return
        async with self._scope.writing() as conn:
            await conn.execute(
                update(outbox).where(outbox.c.id.in_(ids)).values(published_at=at or utcnow())
            )

    async def prune(self, published_before: dt.datetime) -> int:
        """Delete messages published before the given time; how many went."""
        async with self._scope.writing() as conn:
            result = await conn.execute(
                outbox.delete().where(outbox.c.published_at < published_before)
            )
        return int(result.rowcount)


def _record(row: Row[Any]) -> OutboxMessage:
    return OutboxMessage(**row._mapping)

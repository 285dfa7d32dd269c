"""The durable, ordered domain-event log that subscriptions replay from a cursor.

Cursors only grow, and a reader that has seen cursor N will never later find an event
below N appear. On SQLite that follows from its single writer. On PostgreSQL a sequence
alone would not do it (a transaction can take cursor 7, commit after the one that took
8, and a reader between the two commits would skip 7), so appends take a
transaction-scoped advisory lock: cursors are handed out in commit order. Append late
in a transaction and commit promptly; appends serialize on that lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import Row, func, select, text

from gateway.store.records import EventRecord
from gateway.store.repos.base import Repository
from gateway.store.tables import event_log
from gateway.store.types import utcnow

# pg_advisory_xact_lock key for appends to event_log ("psgraph events" in spirit).
EVENT_APPEND_LOCK = 7_358_202_412


class EventRepository(Repository):
    async def append(
        self,
        type: str,
        data: Any,
        *,
        occurred_at: dt.datetime | None = None,
        source: str | None = None,
        subject_id: str | None = None,
        dedup_key: str | None = None,
    ) -> EventRecord | None:
        """Append an event; None when an event with `dedup_key` is already in the log."""
        insert = (
            self._insert_ignoring(event_log, ["dedup_key"])
            .values(
                type=type,
                occurred_at=occurred_at or utcnow(),
                source=source,
                subject_id=subject_id,
                data=data,
                dedup_key=dedup_key,
            )
            .returning(*event_log.c)
        )
        async with self._scope.writing() as conn:
            if self._scope.dialect == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENT_APPEND_LOCK}
                )
            row = (await conn.execute(insert)).first()
        return _record(row) if row is not None else None

    async def read_after(
        self,
        cursor: int | None,
        *,
        limit: int = 100,
        types: Collection[str] | None = None,
        subject_id: str | None = None,
    ) -> list[EventRecord]:
        """Events after `cursor` (from the start when None), in cursor order."""
        statement = select(event_log).order_by(event_log.c.cursor).limit(limit)
        if cursor is not None:
            statement = statement.where(event_log.c.cursor > cursor)
        if types:
            statement = statement.where(event_log.c.type.in_(list(types)))
        if subject_id is not None:
            statement = statement.where(event_log.c.subject_id == subject_id)
        async with self._scope.reading() as conn:
            return [_record(row) for row in await conn.execute(statement)]

    async def last_cursor(self) -> int:
        """The newest cursor, 0 for an empty log."""
        async with self._scope.reading() as conn:
            value = (await conn.execute(select(func.max(event_log.c.cursor)))).scalar_one()
        return int(value or 0)

    async def seen(self, dedup_key: str) -> bool:
        statement = select(event_log.c.cursor).where(event_log.c.dedup_key == dedup_key)
        async with self._scope.reading() as conn:
            return (await conn.execute(statement)).first() is not None


def _record(row: Row[Any]) -> EventRecord:
    return EventRecord(**row._mapping)

"""Bookkeeping for change detection: webhook receipts, modified-since cursors, dead letters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, insert, select, update

from gateway.store.records import ChangeCursor, DeadLetter
from gateway.store.repos.base import Repository
from gateway.store.tables import change_cursors, dead_letters, webhook_receipts
from gateway.store.types import utcnow


class WebhookReceiptRepository(Repository):
    async def record(self, webhook_id: str, system: str) -> bool:
        """Remember a delivered webhook; False when that id was delivered before."""
        statement = (
            self._insert_ignoring(webhook_receipts, ["webhook_id"])
            .values(webhook_id=webhook_id, system=system, received_at=utcnow())
            .returning(webhook_receipts.c.webhook_id)
        )
        async with self._scope.writing() as conn:
            return (await conn.execute(statement)).first() is not None

    async def prune(self, older_than: dt.datetime) -> int:
        """Forget receipts older than the senders' retry window; how many went."""
        async with self._scope.writing() as conn:
            result = await conn.execute(
                webhook_receipts.delete().where(webhook_receipts.c.received_at < older_than)
            )
        return int(result.rowcount)


class ChangeCursorRepository(Repository):
    async def get(self, source: str, entity: str) -> str | None:
        statement = select(change_cursors.c.cursor).where(
            change_cursors.c.source == source, change_cursors.c.entity == entity
        )
        async with self._scope.reading() as conn:
            return (await conn.execute(statement)).scalar_one_or_none()

    async def set(self, source: str, entity: str, cursor: str) -> None:
        values = {"source": source, "entity": entity, "cursor": cursor, "updated_at": utcnow()}
        async with self._scope.writing() as conn:
            await conn.execute(self._upsert(change_cursors, values, ["source", "entity"]))

    async def all(self) -> list[ChangeCursor]:
        statement = select(change_cursors).order_by(
            change_cursors.c.source, change_cursors.c.entity
        )
        async with self._scope.reading() as conn:
            return [ChangeCursor(**row._mapping) for row in await conn.execute(statement)]


class DeadLetterRepository(Repository):
    async def add(self, kind: str, payload: Any, error: str, *, attempts: int = 1) -> DeadLetter:
        async with self._scope.writing() as conn:
            row = (
                await conn.execute(
                    insert(dead_letters)
                    .values(
                        kind=kind,
                        payload=payload,
                        error=error,
                        attempts=attempts,
                        created_at=utcnow(),
                    )
                    .returning(*dead_letters.c)
                )
            ).one()
        return _dead_letter(row)

    async def get(self, id: int) -> DeadLetter | None:
        async with self._scope.reading() as conn:
            row = (await conn.execute(select(dead_letters).where(dead_letters.c.id == id))).first()
        return _dead_letter(row) if row is not None else None

    async def find(
        self, *, kind: str | None = None, include_replayed: bool = False, limit: int = 100
    ) -> list[DeadLetter]:
        """Oldest first; replayed letters only when asked for."""
        statement = select(dead_letters).order_by(dead_letters.c.id).limit(limit)
        if kind is not None:
            statement = statement.where(dead_letters.c.kind == kind)
        if not include_replayed:
            statement = statement.where(dead_letters.c.replayed_at.is_(None))
        async with self._scope.reading() as conn:
            return [_dead_letter(row) for row in await conn.execute(statement)]

    async def mark_replayed(self, id: int) -> bool:
        """Mark a letter replayed; False if it was unknown or already replayed."""
        async with self._scope.writing() as conn:
            result = await conn.execute(
                update(dead_letters)
                .where(dead_letters.c.id == id, dead_letters.c.replayed_at.is_(None))
                .values(replayed_at=utcnow())
                .returning(dead_letters.c.id)
            )
            return result.first() is not None


def _dead_letter(row: Row[Any]) -> DeadLetter:
    return DeadLetter(**row._mapping)

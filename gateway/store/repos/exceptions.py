"""Business exceptions as the visibility monitor keeps them: read all, save one.

The monitor decides what changed (new, still there, cleared); this only stores rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

from sqlalchemy import select

from gateway.store.records import BusinessExceptionRow
from gateway.store.repos.base import Repository
from gateway.store.tables import business_exceptions


class ExceptionRepository(Repository):
    async def get(self, exception_id: str) -> BusinessExceptionRow | None:
        query = select(business_exceptions).where(business_exceptions.c.id == exception_id)
        async with self._scope.reading() as conn:
            row = (await conn.execute(query)).first()
        return BusinessExceptionRow(**row._mapping) if row is not None else None

    async def all(self, *, kinds: Iterable[str] | None = None) -> list[BusinessExceptionRow]:
        query = select(business_exceptions)
        if kinds is not None:
            query = query.where(business_exceptions.c.kind.in_(list(kinds)))
        async with self._scope.reading() as conn:
            rows = (await conn.execute(query)).all()
        return [BusinessExceptionRow(**row._mapping) for row in rows]

    async def save(self, rows: Iterable[BusinessExceptionRow]) -> None:
        """Insert or overwrite each row, in one transaction."""
        values = [asdict(row) for row in rows]
        if not values:
            return
        async with self._scope.writing() as conn:
            for value in values:
                await conn.execute(self._upsert(business_exceptions, value, ["id"]))

"""Business-key claims: which workflow owns a key, taken over only from a named owner.

claimed = await tx.business_keys.claim("quote_to_project:006A", "quote_to_project", wf, now)
holder = await tx.business_keys.holder("quote_to_project:006A")      # a workflow id
await tx.business_keys.take_over("quote_to_project:006A", old_id, new_id, now)

Each call is one statement: two starts racing for a key never both win. On PostgreSQL
the loser's INSERT waits for the winner's transaction and then does nothing; SQLite has
one writer.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from gateway.store.repos.base import Repository
from gateway.store.tables import business_keys


class BusinessKeyRepository(Repository):
    async def claim(self, key: str, kind: str, workflow_id: str, now: dt.datetime) -> bool:
        """Make `workflow_id` the owner of `key` if nobody owns it; False if somebody does."""
        statement = (
            self._insert_ignoring(business_keys, ["key"])
            .values(key=key, kind=kind, workflow_id=workflow_id, claimed_at=now)
            .returning(business_keys.c.key)
        )
        async with self._scope.writing() as conn:
            return (await conn.execute(statement)).first() is not None

    async def holder(self, key: str) -> str | None:
        """The id of the workflow that owns `key`, if any does."""
        statement = select(business_keys.c.workflow_id).where(business_keys.c.key == key)
        async with self._scope.reading() as conn:
            return (await conn.execute(statement)).scalar_one_or_none()

    async def take_over(self, key: str, previous: str, workflow_id: str, now: dt.datetime) -> bool:
        """Hand `key` from `previous` to `workflow_id`; False if `previous` no longer owns it."""
        statement = (
            update(business_keys)
            .where(business_keys.c.key == key, business_keys.c.workflow_id == previous)
            .values(workflow_id=workflow_id, claimed_at=now)
            .returning(business_keys.c.key)
        )
        async with self._scope.writing() as conn:
            return (await conn.execute(statement)).first() is not None

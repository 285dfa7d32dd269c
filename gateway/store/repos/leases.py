"""Named, expiring leases: one holder at a time, taken over only once the lease runs out.

leases.acquire("capture", "host:1a2b", ttl_s=15, now=clock())  # True: ours until now+15s
leases.release("capture", "host:1a2b")                         # free for the next at once

Each call is one statement, so two callers racing for a lease never both win: an INSERT
that on a conflicting name updates the row only WHERE it is the caller's own or has run
out. PostgreSQL locks the conflicting row and re-checks that condition on its newest
version; SQLite has one writer. The times are the callers' clocks, like the workflow
leases', so the replicas' clocks must agree to well within a lease's time-to-live.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Insert, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from gateway.store.records import Lease
from gateway.store.repos.base import Repository
from gateway.store.tables import leases
from gateway.store.types import utcnow


class LeaseRepository(Repository):
    async def acquire(
        self, name: str, holder: str, ttl_s: float, *, now: dt.datetime | None = None
    ) -> bool:
        """Take the lease `name` for `ttl_s` seconds if it is free, run out, or already
        `holder`'s (then it is renewed); False while someone else holds it."""
        now = now if now is not None else utcnow()
        values = {"name": name, "holder": holder, "expires_at": now + dt.timedelta(seconds=ttl_s)}
        statement = self._take(values, or_(leases.c.holder == holder, leases.c.expires_at <= now))
        async with self._scope.writing() as conn:
            return (await conn.execute(statement.returning(leases.c.name))).first() is not None

    async def release(self, name: str, holder: str) -> bool:
        """Give the lease up if `holder` has it; False if it was not theirs (any more)."""
        statement = delete(leases).where(leases.c.name == name, leases.c.holder == holder)
        async with self._scope.writing() as conn:
            return int((await conn.execute(statement)).rowcount) > 0

    async def get(self, name: str) -> Lease | None:
        """Who holds `name` and until when (it may have run out already)."""
        async with self._scope.reading() as conn:
            row = (await conn.execute(select(leases).where(leases.c.name == name))).first()
        return Lease(**row._mapping) if row is not None else None

    def _take(self, values: dict[str, Any], allowed: ColumnElement[bool]) -> Insert:
        changes = {"holder": values["holder"], "expires_at": values["expires_at"]}
        if self._scope.dialect == "postgresql":
            pg = postgresql.insert(leases).values(values)
            return pg.on_conflict_do_update(index_elements=["name"], set_=changes, where=allowed)
        lite = sqlite.insert(leases).values(values)
        return lite.on_conflict_do_update(index_elements=["name"], set_=changes, where=allowed)

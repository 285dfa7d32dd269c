"""What change capture last saw of each source record: its status and modification time.

The domain events a change implies depend on where the record came from (a time entry
that was SUBMITTED and is now APPROVED), so each sighting is compared with the last one
kept here. Reached as `RecordStateRepository(store)` or `RecordStateRepository(tx)` to
join an open transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite

from gateway.store.repos.base import Repository
from gateway.store.tables import record_states
from gateway.store.types import utcnow

CHUNK = 500  # rows per statement: well under SQLite's bound-parameter limit


@dataclass(frozen=True, slots=True)
class RecordState:
    status: str | None
    modified_at: dt.datetime | None


class RecordStateRepository(Repository):
    async def get_many(
        self, system: str, entity: str, native_ids: Iterable[str]
    ) -> dict[str, RecordState]:
        """The states kept for those ids; ids never seen are absent."""
        wanted = list(dict.fromkeys(native_ids))
        found: dict[str, RecordState] = {}
        async with self._scope.reading() as conn:
            for start in range(0, len(wanted), CHUNK):
                statement = select(
                    record_states.c.native_id,
                    record_states.c.status,
                    record_states.c.modified_at,
                ).where(
                    record_states.c.system == system,
                    record_states.c.entity == entity,
                    record_states.c.native_id.in_(wanted[start : start + CHUNK]),
                )
                for row in await conn.execute(statement):
                    found[row.native_id] = RecordState(row.status, row.modified_at)
        return found

    async def put_many(self, system: str, entity: str, states: Mapping[str, RecordState]) -> None:
        """Keep these states, replacing what was kept for the same ids."""
        now = utcnow()
        rows = [
            {
                "system": system,
                "entity": entity,
                "native_id": native_id,
                "status": state.status,
                "modified_at": state.modified_at,
                "seen_at": now,
            }
            for native_id, state in states.items()
        ]
        async with self._scope.writing() as conn:
            for start in range(0, len(rows), CHUNK):
                await conn.execute(self._replace(rows[start : start + CHUNK]))

    async def forget(self, system: str, entity: str, native_ids: Sequence[str]) -> None:
        """Drop the states of deleted records (a record that comes back is new again)."""
        async with self._scope.writing() as conn:
            for start in range(0, len(native_ids), CHUNK):
                await conn.execute(
                    record_states.delete().where(
                        record_states.c.system == system,
                        record_states.c.entity == entity,
                        record_states.c.native_id.in_(list(native_ids[start : start + CHUNK])),
                    )
                )

    def _replace(self, rows: list[dict[str, Any]]) -> Insert:
        keys = ["system", "entity", "native_id"]
        if self._scope.dialect == "postgresql":
            pg = postgresql.insert(record_states).values(rows)
            changed = {c: pg.excluded[c] for c in ("status", "modified_at", "seen_at")}
            return pg.on_conflict_do_update(index_elements=keys, set_=changed)
        lite = sqlite.insert(record_states).values(rows)
        changed = {c: lite.excluded[c] for c in ("status", "modified_at", "seen_at")}
        return lite.on_conflict_do_update(index_elements=keys, set_=changed)

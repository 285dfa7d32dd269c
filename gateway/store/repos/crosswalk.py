"""Links the gateway itself created between a global key and each system's native id.

One row per (entity, system, native id), and at most one native id per
(entity, global key, system): lookups run both ways on unique keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select

from gateway.store.errors import CrosswalkConflictError
from gateway.store.records import CrosswalkEntry
from gateway.store.repos.base import Repository
from gateway.store.tables import crosswalk
from gateway.store.types import utcnow


class CrosswalkRepository(Repository):
    async def link(
        self,
        entity: str,
        global_key: str,
        system: str,
        native_id: str,
        *,
        workflow_id: str | None = None,
    ) -> CrosswalkEntry:
        """Record that `global_key` is `native_id` in `system`. Linking twice is harmless.

        Raises CrosswalkConflictError when either side is already linked to something else.
        """
        # Ignoring any unique clash, then looking, keeps racing links from failing the
        # transaction: the loser finds the winner's row and compares.
        insert = (
            self._insert_ignoring(crosswalk)
            .values(
                entity=entity,
                system=system,
                native_id=native_id,
                global_key=global_key,
                created_by_workflow=workflow_id,
                created_at=utcnow(),
            )
            .returning(*crosswalk.c)
        )
        async with self._scope.writing() as conn:
            row = (await conn.execute(insert)).first()
            if row is None:
                row = (await conn.execute(_by_native_id(entity, system, native_id))).first()
        if row is None:
            raise CrosswalkConflictError(f"{entity} {global_key} is already linked in {system}")
        entry = _record(row)
        if entry.global_key != global_key:
            raise CrosswalkConflictError(
                f"{system} {entity} {native_id} is already linked to {entry.global_key}"
            )
        return entry

    async def native_id(self, entity: str, global_key: str, system: str) -> str | None:
        async with self._scope.reading() as conn:
            row = (await conn.execute(_by_global_key(entity, system, global_key))).first()
        return row.native_id if row is not None else None

    async def global_key(self, entity: str, system: str, native_id: str) -> str | None:
        async with self._scope.reading() as conn:
            row = (await conn.execute(_by_native_id(entity, system, native_id))).first()
        return row.global_key if row is not None else None

    async def global_keys(
        self, entity: str, system: str, native_ids: Sequence[str]
    ) -> dict[str, str]:
        """native id -> global key for those that are linked; one query for the batch."""
        if not native_ids:
            return {}
        statement = select(crosswalk.c.native_id, crosswalk.c.global_key).where(
            crosswalk.c.entity == entity,
            crosswalk.c.system == system,
            crosswalk.c.native_id.in_(native_ids),
        )
        async with self._scope.reading() as conn:
            return {row.native_id: row.global_key for row in await conn.execute(statement)}

    async def refs(self, entity: str, global_key: str) -> dict[str, str]:
        """system -> native id for every system `global_key` is linked in."""
        statement = select(crosswalk.c.system, crosswalk.c.native_id).where(
            crosswalk.c.entity == entity, crosswalk.c.global_key == global_key
        )
        async with self._scope.reading() as conn:
            return {row.system: row.native_id for row in await conn.execute(statement)}


def _by_global_key(entity: str, system: str, global_key: str) -> Any:
    return select(crosswalk).where(
        crosswalk.c.entity == entity,
        crosswalk.c.system == system,
        crosswalk.c.global_key == global_key,
    )


def _by_native_id(entity: str, system: str, native_id: str) -> Any:
    return select(crosswalk).where(
        crosswalk.c.entity == entity,
        crosswalk.c.system == system,
        crosswalk.c.native_id == native_id,
    )


def _record(row: Row[Any]) -> CrosswalkEntry:
    return CrosswalkEntry(**row._mapping)

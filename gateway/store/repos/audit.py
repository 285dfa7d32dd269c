"""The audit log: who changed what in which system, when, with before and after."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, insert, select

from gateway.store.records import AuditEntry
from gateway.store.repos.base import Repository
from gateway.store.tables import audit_log
from gateway.store.types import utcnow


class AuditRepository(Repository):
    async def record(
        self,
        principal: str,
        action: str,
        system: str | None,
        object_type: str,
        object_id: str,
        before: Any,
        after: Any,
        workflow_id: str | None = None,
        *,
        at: dt.datetime | None = None,
    ) -> AuditEntry:
        """Append one entry; `before`/`after` are JSON values (None where nothing existed)."""
        async with self._scope.writing() as conn:
            row = (
                await conn.execute(
                    insert(audit_log)
                    .values(
                        at=at or utcnow(),
                        principal=principal,
                        action=action,
                        system=system,
                        object_type=object_type,
                        object_id=object_id,
                        before=before,
                        after=after,
                        workflow_id=workflow_id,
                    )
                    .returning(*audit_log.c)
                )
            ).one()
        return _record(row)

    async def find(
        self,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        workflow_id: str | None = None,
        principal: str | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[AuditEntry]:
        """Matching entries, oldest first (or newest first)."""
        order = audit_log.c.id.desc() if newest_first else audit_log.c.id
        statement = select(audit_log).order_by(order).limit(limit)
        if object_type is not None:
            statement = statement.where(audit_log.c.object_type == object_type)
        if object_id is not None:
            statement = statement.where(audit_log.c.object_id == object_id)
        if workflow_id is not None:
            statement = statement.where(audit_log.c.workflow_id == workflow_id)
        if principal is not None:
            statement = statement.where(audit_log.c.principal == principal)
        async with self._scope.reading() as conn:
            return [_record(row) for row in await conn.execute(statement)]


def _record(row: Row[Any]) -> AuditEntry:
    return AuditEntry(**row._mapping)

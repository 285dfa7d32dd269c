"""Workflow rows: creation under an idempotency key, leased claims, fenced updates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, update

from gateway.store.errors import LeaseLostError
from gateway.store.records import Phase, WorkflowRecord, WorkflowStatus
from gateway.store.repos.base import Repository
from gateway.store.tables import workflows

CLAIMABLE = (WorkflowStatus.PENDING, WorkflowStatus.RUNNING)


class WorkflowRepository(Repository):
    async def create(
        self,
        *,
        id: str,
        kind: str,
        input: dict[str, Any],
        input_hash: str,
        idempotency_key: str | None,
        principal: str | None,
        now: dt.datetime,
    ) -> WorkflowRecord | None:
        """A new PENDING workflow, or None when `idempotency_key` is already taken."""
        values = {
            "id": id,
            "kind": kind,
            "status": WorkflowStatus.PENDING.value,
            "phase": Phase.FORWARD.value,
            "idempotency_key": idempotency_key,
            "input_hash": input_hash,
            "input": input,
            "principal": principal,
            "attempts": 0,
            "created_at": now,
            "next_run_at": now,
            "version": 1,
        }
        statement = (
            self._insert_ignoring(workflows, ["idempotency_key"])
            .values(values)
            .returning(*workflows.c)
        )
        async with self._scope.writing() as conn:
            row = (await conn.execute(statement)).first()
        return _record(row) if row is not None else None

    async def get(self, id: str) -> WorkflowRecord | None:
        async with self._scope.reading() as conn:
            row = (await conn.execute(select(workflows).where(workflows.c.id == id))).first()
        return _record(row) if row is not None else None

    async def get_many(self, ids: Sequence[str]) -> dict[str, WorkflowRecord]:
        if not ids:
            return {}
        async with self._scope.reading() as conn:
            rows = await conn.execute(select(workflows).where(workflows.c.id.in_(ids)))
        return {row.id: _record(row) for row in rows}

    async def by_idempotency_key(self, key: str) -> WorkflowRecord | None:
        statement = select(workflows).where(workflows.c.idempotency_key == key)
        async with self._scope.reading() as conn:
            row = (await conn.execute(statement)).first()
        return _record(row) if row is not None else None

    async def find(
        self,
        *,
        status: WorkflowStatus | None = None,
        kind: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[WorkflowRecord]:
        """Newest first."""
        statement = (
            _filtered(select(workflows), status, kind)
            .order_by(workflows.c.created_at.desc(), workflows.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self._scope.reading() as conn:
            return [_record(row) for row in await conn.execute(statement)]

    async def count(self, *, status: WorkflowStatus | None = None, kind: str | None = None) -> int:
        statement = _filtered(select(func.count()).select_from(workflows), status, kind)
        async with self._scope.reading() as conn:
            return int((await conn.execute(statement)).scalar_one())

    async def counts(self) -> dict[tuple[str, WorkflowStatus], int]:
        """How many workflows there are of each (kind, status) (for metrics)."""
        statement = select(workflows.c.kind, workflows.c.status, func.count()).group_by(
            workflows.c.kind, workflows.c.status
        )
        async with self._scope.reading() as conn:
            rows = await conn.execute(statement)
            return {(kind, WorkflowStatus(status)): int(n) for kind, status, n in rows}

    async def started_by(
        self, principals: Collection[str]
    ) -> dict[str, tuple[int, dt.datetime | None]]:
        """Per principal: how many workflows it started, and when it last did."""
        statement = (
            select(workflows.c.principal, func.count(), func.max(workflows.c.created_at))
            .where(workflows.c.principal.in_(list(principals)))
            .group_by(workflows.c.principal)
        )
        async with self._scope.reading() as conn:
            rows = await conn.execute(statement)
            return {principal: (int(n), last) for principal, n, last in rows}

    async def claim(
        self,
        *,
        owner: str,
        kinds: Collection[str],
        limit: int,
        now: dt.datetime,
        lease_until: dt.datetime,
    ) -> list[WorkflowRecord]:
        """Lease up to `limit` runnable workflows of `kinds` to `owner`, marking them RUNNING.

        Runnable: PENDING and due, or RUNNING under a lease that has run out (its worker
        died). PostgreSQL skips rows another worker is claiming right now; SQLite's
        single writer makes the select-then-update atomic on its own.
        """
        candidates = (
            select(workflows.c.id)
            .where(
                workflows.c.kind.in_(kinds),
                workflows.c.status.in_([s.value for s in CLAIMABLE]),
                or_(workflows.c.next_run_at.is_(None), workflows.c.next_run_at <= now),
                or_(workflows.c.lease_until.is_(None), workflows.c.lease_until < now),
            )
            .order_by(workflows.c.next_run_at, workflows.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._scope.writing() as conn:
            ids = list((await conn.execute(candidates)).scalars())
            if not ids:
                return []
            claimed = await conn.execute(
                update(workflows)
                .where(workflows.c.id.in_(ids))
                .values(
                    status=WorkflowStatus.RUNNING.value,
                    lease_owner=owner,
                    lease_until=lease_until,
                    started_at=func.coalesce(workflows.c.started_at, now),
                    attempts=workflows.c.attempts + 1,
                    version=workflows.c.version + 1,
                )
                .returning(*workflows.c)
            )
            return [_record(row) for row in claimed]

    async def renew_lease(self, id: str, owner: str, until: dt.datetime) -> bool:
        """Extend `owner`'s lease; False when it no longer holds it."""
        async with self._scope.writing() as conn:
            result = await conn.execute(
                update(workflows)
                .where(_leased_by(id, owner))
                .values(lease_until=until)
                .returning(workflows.c.id)
            )
            return result.first() is not None

    async def update_leased(self, id: str, owner: str, **changes: Any) -> WorkflowRecord:
        """Apply `changes` only while `owner` holds the lease; raises LeaseLostError otherwise.

        Every write a worker makes goes through here (or `touch`), so a worker that lost
        its lease can never overwrite the progress of the one that took over.
        """
        async with self._scope.writing() as conn:
            row = (
                await conn.execute(
                    update(workflows)
                    .where(_leased_by(id, owner))
                    .values(**_column_values(changes), version=workflows.c.version + 1)
                    .returning(*workflows.c)
                )
            ).first()
        if row is None:
            raise LeaseLostError(id, owner)
        return _record(row)

    async def touch(self, id: str, owner: str) -> int:
        """Bump the version under `owner`'s lease (a step changed); the new version."""
        return (await self.update_leased(id, owner)).version

    async def update_if(
        self, id: str, statuses: Collection[WorkflowStatus], **changes: Any
    ) -> WorkflowRecord | None:
        """Apply `changes` only if the workflow is in one of `statuses`; None otherwise."""
        async with self._scope.writing() as conn:
            row = (
                await conn.execute(
                    update(workflows)
                    .where(
                        workflows.c.id == id,
                        workflows.c.status.in_([s.value for s in statuses]),
                    )
                    .values(**_column_values(changes), version=workflows.c.version + 1)
                    .returning(*workflows.c)
                )
            ).first()
        return _record(row) if row is not None else None


def _leased_by(id: str, owner: str) -> Any:
    return and_(
        workflows.c.id == id,
        workflows.c.lease_owner == owner,
        workflows.c.status == WorkflowStatus.RUNNING.value,
    )


def _filtered(statement: Any, status: WorkflowStatus | None, kind: str | None) -> Any:
    if status is not None:
        statement = statement.where(workflows.c.status == status.value)
    if kind is not None:
        statement = statement.where(workflows.c.kind == kind)
    return statement


def _column_values(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(workflows.c.keys())
    if unknown:
        raise ValueError(f"workflows has no columns {sorted(unknown)}")
    return {k: v.value if isinstance(v, WorkflowStatus | Phase) else v for k, v in changes.items()}


def _record(row: Row[Any]) -> WorkflowRecord:
    values = dict(row._mapping)
    values["status"] = WorkflowStatus(values["status"])
    values["phase"] = Phase(values["phase"])
    return WorkflowRecord(**values)

"""Idempotency keys for requests that are not workflows (a workflow's key lives on its row).

A key is claimed with the hash of the request it came with; the same key with the same
request finds the first claim (and its response once recorded); with another request it
is a client error. A claim whose request was refused before writing anything is
released, so the key can carry the corrected request.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, select, update

from gateway.store.errors import IdempotencyConflictError
from gateway.store.records import IdempotencyRecord
from gateway.store.repos.base import Repository
from gateway.store.tables import idempotency_keys
from gateway.store.types import utcnow


class IdempotencyRepository(Repository):
    async def claim(
        self,
        scope: str,
        key: str,
        request_hash: str,
        *,
        workflow_id: str | None = None,
    ) -> tuple[IdempotencyRecord, bool]:
        """The record for (scope, key) and whether this call created it.

        Raises IdempotencyConflictError when the key was claimed with another request hash.
        """
        values = {
            "scope": scope,
            "key": key,
            "request_hash": request_hash,
            "workflow_id": workflow_id,
            "created_at": utcnow(),
        }
        insert = (
            self._insert_ignoring(idempotency_keys, ["scope", "key"])
            .values(values)
            .returning(*idempotency_keys.c)
        )
        async with self._scope.writing() as conn:
            row = (await conn.execute(insert)).first()
            if row is not None:
                return _record(row), True
            existing = (await conn.execute(_by_key(scope, key))).one()
        record = _record(existing)
        if record.request_hash != request_hash:
            raise IdempotencyConflictError(key)
        return record, False

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        async with self._scope.reading() as conn:
            row = (await conn.execute(_by_key(scope, key))).first()
        return _record(row) if row is not None else None

    async def complete(self, scope: str, key: str, response: Any) -> None:
        """Remember the response to replay for the same request."""
        async with self._scope.writing() as conn:
            await conn.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
                .values(response=response)
            )

    async def release(self, scope: str, key: str, request_hash: str) -> bool:
        """Forget a claim whose request was refused before it wrote anything, so the key
        may carry a corrected request; a claim that has a response is kept."""
        async with self._scope.writing() as conn:
            result = await conn.execute(
                idempotency_keys.delete().where(
                    idempotency_keys.c.scope == scope,
                    idempotency_keys.c.key == key,
                    idempotency_keys.c.request_hash == request_hash,
                    idempotency_keys.c.response.is_(None),
                )
            )
        return bool(result.rowcount)

    async def prune(self, older_than: dt.datetime) -> int:
        """Forget keys created before `older_than`; how many went."""
        async with self._scope.writing() as conn:
            result = await conn.execute(
                idempotency_keys.delete().where(idempotency_keys.c.created_at < older_than)
            )
        return int(result.rowcount)


def _by_key(scope: str, key: str) -> Any:
    return select(idempotency_keys).where(
        idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
    )


def _record(row: Row[Any]) -> IdempotencyRecord:
    return IdempotencyRecord(**row._mapping)

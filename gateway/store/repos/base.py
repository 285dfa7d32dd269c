"""What every repository stands on: a scope that lends it a connection.

A repository reached through `Store` runs each call in its own short transaction; the
same repository reached through a `Transaction` joins that transaction, so several
writes (a state change and its outbox row, say) commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


class Scope(Protocol):
    @property
    def dialect(self) -> str: ...

    def reading(self) -> AbstractAsyncContextManager[AsyncConnection]: ...

    def writing(self) -> AbstractAsyncContextManager[AsyncConnection]: ...


class Repository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def _insert_ignoring(self, table: Table, conflict: Sequence[str] | None = None) -> Insert:
        """INSERT that does nothing when `conflict` columns (any unique key if None) match."""
        if self._scope.dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing(index_elements=conflict)
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=conflict)

    def _upsert(self, table: Table, values: dict[str, Any], conflict: Sequence[str]) -> Insert:
        """INSERT that overwrites the non-key columns of a row with the same `conflict` key."""
        changes = {k: v for k, v in values.items() if k not in conflict}
        if self._scope.dialect == "postgresql":
            pg = postgresql.insert(table).values(values)
            return pg.on_conflict_do_update(index_elements=conflict, set_=changes)
        lite = sqlite.insert(table).values(values)
        return lite.on_conflict_do_update(index_elements=conflict, set_=changes)

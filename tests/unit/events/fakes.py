"""In-process stand-ins that keep our own contracts: a connector over a dict of records."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from sources.connector import ChangeSet, Connector, Page
from sources.errors import SourceError, SourceUnavailable
from sources.records import Opportunity, Project, Record, SourceSystem, TimeEntry

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


class FakeConnector(Connector):
    """A source whose records a test edits; `changes` reports edits since the cursor
    (the cursor is the count of edits seen), like a modified-since feed."""

    system: ClassVar[SourceSystem] = SourceSystem.PSA
    entities: ClassVar[Mapping[str, type[Record]]] = {
        "project": Project,
        "time_entry": TimeEntry,
        "opportunity": Opportunity,
    }
    batch_limit: ClassVar[int] = 100

    def __init__(self, system: SourceSystem = SourceSystem.PSA) -> None:
        self.system = system  # type: ignore[misc]
        self.records: dict[str, dict[str, Record]] = {name: {} for name in self.entities}
        self.log: list[tuple[str, str]] = []  # (entity, id) per edit, in order
        self.deleted: set[tuple[str, str]] = set()
        self.failure: SourceError | None = None
        self.calls: list[str] = []
        self._clock = T0

    def put(self, entity: str, record: Record) -> Record:
        """Store `record` as changed now (its modified_at is set to a fresh tick)."""
        self._clock += dt.timedelta(seconds=1)
        stamped = record.model_copy(update={"modified_at": self._clock})
        self.records[entity][stamped.id] = stamped
        self.log.append((entity, stamped.id))
        return stamped

    def delete(self, entity: str, record_id: str) -> None:
        self.records[entity].pop(record_id, None)
        self.deleted.add((entity, record_id))
        self.log.append((entity, record_id))

    def fail_with(self, error: SourceError | None) -> None:
        self.failure = error

    def _check(self, call: str) -> None:
        self.calls.append(call)
        if self.failure is not None:
            raise self.failure

    async def get_many(self, entity: str, ids: Sequence[str]) -> builtins.list[Record | None]:
        self._check(f"get_many {entity}")
        return [self.records[entity].get(i) for i in ids]

    async def list(
        self,
        entity: str,
        filters: Mapping[str, Any] | None = None,
        *,
        page_size: int = 100,
        cursor: str | None = None,
    ) -> Page[Record]:
        self._check(f"list {entity}")
        rows = sorted(self.records[entity].values(), key=lambda r: r.id)
        start = int(cursor or 0)
        end = start + page_size
        return Page(rows[start:end], str(end) if end < len(rows) else None, len(rows))

    async def changes(self, entity: str, cursor: str | None) -> ChangeSet[Record]:
        self._check(f"changes {entity}")
        if cursor is None:
            return ChangeSet([], str(len(self.log)))
        touched = dict.fromkeys(i for e, i in self.log[int(cursor) :] if e == entity)
        records = [self.records[entity][i] for i in touched if i in self.records[entity]]
        deleted = [i for i in touched if (entity, i) in self.deleted]
        return ChangeSet(records, str(len(self.log)), deleted)

    async def aclose(self) -> None:
        pass


def unavailable(system: SourceSystem = SourceSystem.PSA) -> SourceUnavailable:
    return SourceUnavailable(system, "connection refused")


def project(project_id: str, status: str = "ACTIVE") -> Project:
    return Project(id=project_id, code=f"PRJ-{project_id}", name="Project", status=status)


def time_entry(entry_id: str, status: str = "SUBMITTED") -> TimeEntry:
    return TimeEntry(
        id=entry_id,
        user_id="7",
        project_id="55",
        project_code="PRJ-55",
        date=dt.date(2026, 11, 2),
        hours=4.0,
        billable=True,
        status=status,
    )


def opportunity(opportunity_id: str, stage: str = "NEGOTIATION") -> Opportunity:
    return Opportunity(id=opportunity_id, account_id="001A", name="Deal", stage=stage)


def global_id(type_name: str, key: str) -> str:
    """A readable stand-in for the resolvers' opaque ids."""
    return f"{type_name}:{key}"

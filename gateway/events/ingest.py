"""Turning what change capture saw into domain events, once, whichever way it came.

A poll, the pull feed and a push all end here with the records they (re-)read. In one
transaction the records are compared with the states last seen (`record_states`), the
domain events they imply are appended to the log (deduplicated by key, so the same change
seen by a poll and by a push is one event), the new states are kept, and the scan's
cursor or the push's receipt is written. After the commit, the read cache is invalidated
for every record seen (here and, through the bus, in every other gateway process) and the
log's growth is announced.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from gateway.events.bus import Broadcast
from gateway.events.domain import DomainEvent, events_for_change, status_of
from gateway.events.log import EventLog
from gateway.store import EventRecord, Transaction
from gateway.store.repos.record_states import RecordState, RecordStateRepository
from sources.records import Milestone, Record, SourceSystem, StaffingRequest

log = logging.getLogger(__name__)

INVALIDATIONS = "invalidations"

Invalidate = Callable[[SourceSystem, str, Sequence[str] | None], object]
"""The read cache's hook: forget `entity` records of `system` with these ids (all: None)."""

OnEvents = Callable[[Sequence[EventRecord]], Awaitable[None]]


@dataclass(frozen=True)
class Sighting:
    """What one scan or push saw of one entity of one system."""

    system: SourceSystem
    entity: str
    records: Sequence[Record] = ()
    deleted_ids: Sequence[str] = ()

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.records] + list(self.deleted_ids)


@dataclass(frozen=True)
class Applied:
    events: list[EventRecord] = field(default_factory=list)
    duplicate: bool = False  # the push's webhook id was received before


@dataclass(frozen=True)
class Receipt:
    webhook_id: str
    system: SourceSystem


class Ingest:
    def __init__(
        self,
        log: EventLog,
        *,
        subject_id: Callable[[str, str], str],
        invalidate: Invalidate | None = None,
        bus: Broadcast | None = None,
    ) -> None:
        """`subject_id` makes global ids (for the parent ids events carry); `invalidate`
        is the read cache's hook; `bus` carries invalidations to the other processes."""
        self._log = log
        self._store = log.store
        self._subject_id = subject_id
        self._invalidate = invalidate
        self._bus = bus
        self.origin = uuid.uuid4().hex  # this process, so it skips its own invalidations

    async def apply(
        self,
        seen: Sighting,
        *,
        cursor: str | None = None,
        receipt: Receipt | None = None,
    ) -> Applied:
        """Derive, deduplicate and append the events `seen` implies; keep `cursor` as the
        entity's change cursor, or `receipt` as delivered, in the same transaction."""
        async with self._store.transaction() as tx:
            if receipt is not None and not await tx.webhooks.record(
                receipt.webhook_id, receipt.system.value
            ):
                return Applied(duplicate=True)
            events = await self._compare(tx, seen)
            appended = await self._log.append_in(tx, events)
            if cursor is not None:
                await tx.cursors.set(seen.system.value, seen.entity, cursor)
        await self.invalidate(seen.system, seen.entity, seen.ids)
        await self._log.announce(appended)
        return Applied(appended)

    async def learn(self, system: SourceSystem, entity: str, records: Sequence[Record]) -> int:
        """Remember the states of records seen for the first time, without events (a
        baseline, so the first change to an existing record is not taken for its birth)."""
        states = RecordStateRepository(self._store)
        known = await states.get_many(system.value, entity, [r.id for r in records])
        fresh = {
            r.id: RecordState(status_of(r), r.modified_at) for r in records if r.id not in known
        }
        if fresh:
            await states.put_many(system.value, entity, fresh)
        return len(fresh)

    async def invalidate(self, system: SourceSystem, entity: str, ids: Sequence[str]) -> None:
        """Forget cached reads of these records here, and tell the other processes."""
        if not ids:
            return
        if self._invalidate is not None:
            self._invalidate(system, entity, list(ids))
        if self._bus is not None:
            payload = {"origin": self.origin, "system": system.value, "entity": entity}
            try:
                await self._bus.publish(INVALIDATIONS, json.dumps({**payload, "ids": list(ids)}))
            except Exception:  # the bus's failure: other processes' entries expire by TTL
                log.warning("publishing a cache invalidation failed", exc_info=True)

    def invalidated_elsewhere(self, payload: str) -> None:
        """Apply an invalidation another process published."""
        if self._invalidate is None:
            return
        try:
            message = json.loads(payload)
            if message.get("origin") == self.origin:
                return
            system = SourceSystem(message["system"])
            self._invalidate(system, str(message["entity"]), [str(i) for i in message["ids"]])
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignoring an unreadable invalidation: %.200s", payload)

    async def _compare(self, tx: Transaction, seen: Sighting) -> list[DomainEvent]:
        states = RecordStateRepository(tx)
        system = seen.system.value
        before = await states.get_many(system, seen.entity, [r.id for r in seen.records])
        events: list[DomainEvent] = []
        now: dict[str, RecordState] = {}
        for record in _in_order_of_change(seen.records):
            prior = before.get(record.id)
            if prior is not None and _older(record, prior):
                continue  # a read that raced a newer one: it says nothing new
            status = status_of(record)
            for event in events_for_change(
                seen.system,
                record,
                prior.status if prior is not None else None,
                seen_before=prior is not None,
            ):
                events.append(self._with_parent(event, record))
            now[record.id] = RecordState(status, record.modified_at)
        if now:
            await states.put_many(system, seen.entity, now)
        if seen.deleted_ids:
            await states.forget(system, seen.entity, list(seen.deleted_ids))
        return events

    def _with_parent(self, event: DomainEvent, record: Record) -> DomainEvent:
        # Milestones and staffing requests carry their project's global id, so a
        # subscriber to one project sees them (`projectUpdated`).
        if isinstance(record, Milestone | StaffingRequest):
            parent = self._subject_id("Project", record.project_id)
            return dataclasses.replace(event, data={**event.data, "projectId": parent})
        return event


def _older(record: Record, prior: RecordState) -> bool:
    return (
        record.modified_at is not None
        and prior.modified_at is not None
        and record.modified_at < prior.modified_at
    )


def _in_order_of_change(records: Sequence[Record]) -> list[Record]:
    # Vendors list newest first, or by their own keys; the log keeps the order things
    # happened in (records without a modification time keep their place at the end).
    stamped = [r for r in records if r.modified_at is not None]
    stamped.sort(key=lambda r: r.modified_at or dt.datetime.min)
    return stamped + [r for r in records if r.modified_at is None]

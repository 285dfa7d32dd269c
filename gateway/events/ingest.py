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

import asyncio
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
BATCH = 100  # changes written in one transaction at most

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


@dataclass
class _Pending:
    seen: Sighting
    cursor: str | None
    receipt: Receipt | None
    done: asyncio.Future[Applied]


def _settle(done: asyncio.Future[Applied], result: Applied | Exception) -> None:
    if done.done():
        return  # its caller gave up waiting
    if isinstance(result, Applied):
        done.set_result(result)
    else:
        done.set_exception(result)


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
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None

    async def apply(
        self,
        seen: Sighting,
        *,
        cursor: str | None = None,
        receipt: Receipt | None = None,
    ) -> Applied:
        """Derive, deduplicate and append the events `seen` implies; keep `cursor` as the
        entity's change cursor, or `receipt` as delivered, in the same transaction.
        Returns once that transaction has committed."""
        done: asyncio.Future[Applied] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(seen, cursor, receipt, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending(), name="ingest-writer")
        return await done

    async def _write_pending(self) -> None:
        # Group commit: what arrives while a transaction runs goes into the next one, so
        # concurrent pushes share the cost of a commit (SQLite has one writer anyway).
        batch: list[_Pending] = []
        try:
            while self._pending:
                batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
                results = await self._write_batch(batch)
                await self._after_commit(batch, results)
                batch = []
        finally:
            # Left over only when this task is cancelled (the service is stopping).
            for item in [*batch, *self._pending]:
                item.done.cancel()
            self._pending.clear()

    async def _write_batch(self, batch: Sequence[_Pending]) -> list[Applied | Exception]:
        try:
            return list(await self._write(batch))
        except Exception as error:  # each caller gets it: its push is refused, its scan retried
            if len(batch) == 1:
                return [error]
        # One bad change must not fail the others: write each on its own.
        return [(await self._write_batch([item]))[0] for item in batch]

    async def _write(self, batch: Sequence[_Pending]) -> list[Applied]:
        async with self._store.transaction() as tx:
            fresh: list[int] = []  # positions of the items that are not repeated pushes
            results = [Applied(duplicate=True)] * len(batch)
            for position, item in enumerate(batch):
                receipt = item.receipt
                if receipt is None or await tx.webhooks.record(
                    receipt.webhook_id, receipt.system.value
                ):
                    fresh.append(position)
            states = await _States.read(tx, [batch[p].seen for p in fresh])
            for position in fresh:
                item = batch[position]
                events = self._compare(item.seen, states)
                appended = await self._log.append_in(tx, events)
                if item.cursor is not None:
                    await tx.cursors.set(item.seen.system.value, item.seen.entity, item.cursor)
                results[position] = Applied(appended)
            await states.write(tx)
        return results

    async def _after_commit(
        self, batch: Sequence[_Pending], results: Sequence[Applied | Exception]
    ) -> None:
        for item, result in zip(batch, results, strict=True):
            if isinstance(result, Applied) and not result.duplicate:
                await self.invalidate(item.seen.system, item.seen.entity, item.seen.ids)
        await self._log.announce(
            [e for result in results if isinstance(result, Applied) for e in result.events]
        )
        for item, result in zip(batch, results, strict=True):
            _settle(item.done, result)

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

    def _compare(self, seen: Sighting, states: _States) -> list[DomainEvent]:
        key = (seen.system.value, seen.entity)
        events: list[DomainEvent] = []
        for record in _in_order_of_change(seen.records):
            prior = states.get(key, record.id)
            if prior is not None and _older(record, prior):
                continue  # a read that raced a newer one: it says nothing new
            for event in events_for_change(
                seen.system,
                record,
                prior.status if prior is not None else None,
                seen_before=prior is not None,
            ):
                events.append(self._with_parent(event, record))
            states.put(key, record.id, RecordState(status_of(record), record.modified_at))
        for record_id in seen.deleted_ids:
            states.forget(key, record_id)
        return events

    def _with_parent(self, event: DomainEvent, record: Record) -> DomainEvent:
        # Milestones and staffing requests carry their project's global id, so a
        # subscriber to one project sees them (`projectUpdated`).
        if isinstance(record, Milestone | StaffingRequest):
            parent = self._subject_id("Project", record.project_id)
            return dataclasses.replace(event, data={**event.data, "projectId": parent})
        return event


Key = tuple[str, str]  # (system, entity)


class _States:
    """The record states one transaction works with: read once for all its changes,
    updated as each change is compared (so two changes to one record compare in turn),
    written once at the end."""

    def __init__(self, known: dict[Key, dict[str, RecordState]]) -> None:
        self._known = known
        self._changed: dict[Key, dict[str, RecordState]] = {}
        self._forgotten: dict[Key, set[str]] = {}

    @classmethod
    async def read(cls, tx: Transaction, seen: Sequence[Sighting]) -> _States:
        wanted: dict[Key, set[str]] = {}
        for sighting in seen:
            ids = wanted.setdefault((sighting.system.value, sighting.entity), set())
            ids.update(r.id for r in sighting.records)
        repository = RecordStateRepository(tx.scope)
        return cls(
            {
                key: await repository.get_many(key[0], key[1], sorted(ids))
                for key, ids in wanted.items()
            }
        )

    def get(self, key: Key, record_id: str) -> RecordState | None:
        return self._known.get(key, {}).get(record_id)

    def put(self, key: Key, record_id: str, state: RecordState) -> None:
        self._known.setdefault(key, {})[record_id] = state
        self._changed.setdefault(key, {})[record_id] = state
        self._forgotten.get(key, set()).discard(record_id)

    def forget(self, key: Key, record_id: str) -> None:
        self._known.get(key, {}).pop(record_id, None)
        self._changed.get(key, {}).pop(record_id, None)
        self._forgotten.setdefault(key, set()).add(record_id)

    async def write(self, tx: Transaction) -> None:
        repository = RecordStateRepository(tx.scope)
        for (system, entity), states in self._changed.items():
            if states:
                await repository.put_many(system, entity, states)
        for (system, entity), ids in self._forgotten.items():
            if ids:
                await repository.forget(system, entity, sorted(ids))


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

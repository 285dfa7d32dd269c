"""The event log service: domain events into the store's ordered log, announced after commit.

    log = EventLog(store, bus, subject_id=encode_global_id)
    appended = await log.append(events)            # one transaction, then one notification
    async with store.transaction() as tx:          # or join a transaction of your own...
        appended = await log.append_in(tx, events)
    await log.announce(appended)                   # ...and announce once it has committed

The log is the record of truth; the bus only says "the log grew to cursor N". A reader
that misses a notification loses nothing: it reads the log after the last cursor it saw.
Cursors are the log's integers written as decimal strings, opaque to clients.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from typing import Any

from gateway.events.bus import Broadcast
from gateway.events.domain import DomainEvent, IdEncoder
from gateway.store import EventRecord, Store, Transaction

log = logging.getLogger(__name__)

CHANNEL = "events"


class InvalidCursorError(ValueError):
    """A cursor that this log never handed out."""


def parse_cursor(value: str | None) -> int | None:
    """The log position behind a client's cursor; None (from the start) for None."""
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise InvalidCursorError(f"{value!r} is not an event cursor")
    return int(value)


def format_cursor(position: int) -> str:
    return str(position)


def notification(position: int) -> str:
    return json.dumps({"cursor": position})


def notified_position(payload: str) -> int | None:
    """The cursor a bus notification names, None when it is unreadable (then re-read)."""
    try:
        value = json.loads(payload).get("cursor")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


class EventLog:
    def __init__(self, store: Store, bus: Broadcast, *, subject_id: IdEncoder) -> None:
        """`subject_id(type, native_key)` makes the global id of an event's subject."""
        self._store = store
        self._bus = bus
        self._subject_id = subject_id

    @property
    def store(self) -> Store:
        return self._store

    async def append(self, events: Sequence[DomainEvent]) -> list[EventRecord]:
        """Append in one transaction and announce after it commits; returns the events
        that were new (one already in the log under its dedup key is not appended again)."""
        if not events:
            return []
        async with self._store.transaction() as tx:
            appended = await self.append_in(tx, events)
        await self.announce(appended)
        return appended

    async def append_in(self, tx: Transaction, events: Sequence[DomainEvent]) -> list[EventRecord]:
        """Append inside `tx`; the caller calls `announce` once `tx` has committed."""
        appended: list[EventRecord] = []
        for event in events:
            record = await tx.events.append(
                event.type,
                _json_safe(event.data),
                occurred_at=event.occurred_at,
                source=event.source.value if event.source is not None else None,
                subject_id=(
                    self._subject_id(event.subject.type, event.subject.key)
                    if event.subject is not None
                    else None
                ),
                dedup_key=event.dedup_key,
            )
            if record is not None:
                appended.append(record)
        return appended

    async def announce(self, appended: Sequence[EventRecord]) -> None:
        """Tell every gateway process that the log grew. Best effort: a lost notification
        delays delivery until the next read of the log, it loses nothing."""
        if not appended:
            return
        try:
            await self._bus.publish(CHANNEL, notification(max(r.cursor for r in appended)))
        except Exception:  # the bus's own failure (Redis down): the log already holds it
            log.warning("announcing events on the bus failed", exc_info=True)

    async def read_after(
        self,
        after: int | None,
        *,
        limit: int = 100,
        types: Collection[str] | None = None,
        subject_id: str | None = None,
    ) -> list[EventRecord]:
        """Events after the position (from the start for None), oldest first."""
        return await self._store.events.read_after(
            after, limit=limit, types=types, subject_id=subject_id
        )

    async def head(self) -> int:
        """The newest position; 0 for an empty log."""
        return await self._store.events.last_cursor()


def _json_safe(data: dict[str, Any]) -> Any:
    # Decimals, dates and the like as their text, exactly as the event's JSON shows them.
    return json.loads(json.dumps(data, default=str, sort_keys=True))


def event_json(record: EventRecord) -> str:
    """An event's data as the JSON string clients receive."""
    return json.dumps(record.data, default=str, sort_keys=True)

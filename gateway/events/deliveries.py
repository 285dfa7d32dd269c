"""Consumers of the event log (workflow triggers, pushes downstream), each at least once,
with failures dead-lettered and replayable.

Each `Consumer` reads the log from its own offset, kept in the store's change cursors
under source "log", so a restarted gateway resumes where it stopped (a consumer that has
never run starts at the log's head: history is not re-delivered). An event the consumer
fails on is retried `attempts` times with backoff, then written to the dead-letter table
with the error, and the consumer moves on. `replay(id)` delivers a dead letter again, once,
and marks it replayed if that worked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from gateway.events.bus import SlowConsumerError
from gateway.events.live import EventFilter, EventStream, FeedClosedError, LiveFeed
from gateway.store import DeadLetter, EventRecord, Store

log = logging.getLogger(__name__)

OFFSETS = "log"  # the change_cursors source under which consumer offsets are kept

Handler = Callable[[EventRecord], Awaitable[object]]
BatchHandler = Callable[[Sequence[EventRecord]], Awaitable[object]]


class DeliveryError(Exception):
    """A handler's way of saying "this delivery failed, try again later"."""


class UnknownDeadLetterError(LookupError):
    pass


class AlreadyReplayedError(LookupError):
    pass


@dataclass(frozen=True)
class Consumer:
    name: str  # at most 50 characters; names its offset and its dead letters
    handle: Handler
    types: frozenset[str] = frozenset()  # empty: every event
    # Events that arrive together (one change scan's, say), up to `batch_max` with no more
    # than `linger_s` between them, go to `handle_batch` in one call; if that keeps
    # failing each is dead-lettered on its own, and a replay hands it to `handle`.
    handle_batch: BatchHandler | None = None
    batch_max: int = 1
    linger_s: float = 0.05

    def __post_init__(self) -> None:
        if not 0 < len(self.name) <= 50:
            raise ValueError(f"consumer name {self.name!r} must be 1 to 50 characters")


def event_payload(record: EventRecord) -> dict[str, Any]:
    """An event as a dead letter keeps it (and as it is handed back on replay)."""
    return {
        "cursor": record.cursor,
        "type": record.type,
        "occurred_at": record.occurred_at.isoformat(),
        "source": record.source,
        "subject_id": record.subject_id,
        "data": record.data,
        "dedup_key": record.dedup_key,
    }


def event_from_payload(payload: dict[str, Any]) -> EventRecord:
    return EventRecord(
        cursor=int(payload["cursor"]),
        type=str(payload["type"]),
        occurred_at=dt.datetime.fromisoformat(payload["occurred_at"]),
        source=payload.get("source"),
        subject_id=payload.get("subject_id"),
        data=payload.get("data"),
        dedup_key=payload.get("dedup_key"),
    )


class Deliveries:
    def __init__(
        self,
        store: Store,
        feed: LiveFeed,
        consumers: Sequence[Consumer],
        *,
        attempts: int = 3,
        backoff_s: float = 0.5,
    ) -> None:
        self._store = store
        self._feed = feed
        self._consumers = {c.name: c for c in consumers}
        self._attempts = max(1, attempts)
        self._backoff_s = backoff_s
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def consumers(self) -> list[Consumer]:
        return list(self._consumers.values())

    async def start(self) -> None:
        for consumer in self._consumers.values():
            offset = await self._store.cursors.get(OFFSETS, consumer.name)
            if offset is None:
                head = await self._store.events.last_cursor()
                await self._store.cursors.set(OFFSETS, consumer.name, str(head))
            self._tasks.append(
                asyncio.create_task(self._consume(consumer), name=f"deliver-{consumer.name}")
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def dead_letters(
        self, *, include_replayed: bool = False, limit: int = 100
    ) -> list[DeadLetter]:
        return await self._store.dead_letters.find(include_replayed=include_replayed, limit=limit)

    async def replay(self, letter_id: int) -> DeadLetter:
        """Deliver a dead letter again, once; marked replayed if it worked. Raises what the
        delivery raised if it failed again (the letter stays)."""
        letter = await self._store.dead_letters.get(letter_id)
        if letter is None:
            raise UnknownDeadLetterError(f"no dead letter {letter_id}")
        if letter.replayed_at is not None:
            raise AlreadyReplayedError(f"dead letter {letter_id} was already replayed")
        consumer = self._consumers.get(letter.kind)
        if consumer is None:
            raise UnknownDeadLetterError(
                f"dead letter {letter_id} is for {letter.kind!r}, not here"
            )
        await consumer.handle(event_from_payload(letter.payload["event"]))
        await self._store.dead_letters.mark_replayed(letter_id)
        replayed = await self._store.dead_letters.get(letter_id)
        assert replayed is not None
        return replayed

    async def _consume(self, consumer: Consumer) -> None:
        while True:
            offset = await self._store.cursors.get(OFFSETS, consumer.name)
            after = int(offset) if offset is not None else self._feed.position
            try:
                stream = await self._feed.stream(
                    after=after, wants=EventFilter(types=consumer.types)
                )
                if consumer.handle_batch is not None and consumer.batch_max > 1:
                    await self._consume_batches(consumer, consumer.handle_batch, stream)
                else:
                    async for record in stream:
                        await self._deliver(consumer, record)
                        await self._delivered(consumer, record.cursor)
            except SlowConsumerError:
                log.warning("consumer %s fell behind; resuming from its offset", consumer.name)
            except FeedClosedError:
                return

    async def _delivered(self, consumer: Consumer, cursor: int) -> None:
        """Moves the consumer's offset past a handled event, even if it is being stopped
        meanwhile: the handler's work is done, and an offset lost now would hand the event
        over again after a restart."""
        write = asyncio.ensure_future(self._store.cursors.set(OFFSETS, consumer.name, str(cursor)))
        try:
            await asyncio.shield(write)
        except asyncio.CancelledError:
            await write
            raise

    async def _consume_batches(
        self, consumer: Consumer, handle: BatchHandler, stream: EventStream
    ) -> None:
        # The next event is awaited in a task of its own, so waiting `linger_s` for it
        # never cancels the stream mid-read.
        pending = asyncio.ensure_future(anext(stream))
        try:
            while True:
                batch = [await pending]
                pending = asyncio.ensure_future(anext(stream))
                while len(batch) < consumer.batch_max:
                    done, _ = await asyncio.wait({pending}, timeout=consumer.linger_s)
                    if not done:
                        break
                    batch.append(pending.result())
                    pending = asyncio.ensure_future(anext(stream))
                await self._deliver_batch(consumer, handle, batch)
                await self._delivered(consumer, batch[-1].cursor)
        finally:
            pending.cancel()
            with suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending

    async def _deliver_batch(
        self, consumer: Consumer, handle: BatchHandler, batch: Sequence[EventRecord]
    ) -> None:
        error: BaseException | None = None
        for attempt in range(1, self._attempts + 1):
            try:
                await handle(batch)
                return
            except asyncio.CancelledError:
                raise
            except Exception as failure:  # whatever the handler raised is what we keep
                error = failure
                log.warning(
                    "delivery of events %d..%d to %s failed (attempt %d/%d): %r",
                    batch[0].cursor,
                    batch[-1].cursor,
                    consumer.name,
                    attempt,
                    self._attempts,
                    failure,
                )
                if attempt < self._attempts:
                    await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
        for record in batch:
            await self._store.dead_letters.add(
                consumer.name,
                {"event": event_payload(record)},
                f"{type(error).__name__}: {error}",
                attempts=self._attempts,
            )

    async def _deliver(self, consumer: Consumer, record: EventRecord) -> None:
        error: BaseException | None = None
        for attempt in range(1, self._attempts + 1):
            try:
                await consumer.handle(record)
                return
            except asyncio.CancelledError:
                raise
            except Exception as failure:  # whatever the handler raised is what we keep
                error = failure
                log.warning(
                    "delivery of event %d to %s failed (attempt %d/%d): %r",
                    record.cursor,
                    consumer.name,
                    attempt,
                    self._attempts,
                    failure,
                )
                if attempt < self._attempts:
                    await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
        await self._store.dead_letters.add(
            consumer.name,
            {"event": event_payload(record)},
            f"{type(error).__name__}: {error}",
            attempts=self._attempts,
        )

"""Live delivery of the event log to this process's subscribers: replay, then live, with no
gap and no duplicate.

One `LiveFeed` per process holds the process's only subscription to the bus, taken before
it first reads the log. On every notification (and every `poll_s`, in case one was lost)
it reads the log after the last position it delivered and hands each new event to the
watches that want it, so a thousand subscribers cost one read of the log, not a thousand.

A subscriber's `stream(after=...)`:

1. registers its watch first: from then on every event past the feed's position P is
   queued for it;
2. replays from the log after `after` (events up to P, and perhaps some past it), or,
   without `after`, reads the log's head H: what was there before it subscribed;
3. streams its queue, skipping any cursor it has already sent (or at most H).

Events up to P are in the log when the replay reads it (P was read from it), events past
P reach the queue, and the cursor check drops what arrives both ways. Each watch queues at
most `buffer` events; one that falls further behind is ended with `SlowConsumerError` while the
others carry on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from gateway.events.bus import Broadcast, SlowConsumerError
from gateway.events.log import CHANNEL, EventLog, notified_position
from gateway.store import EventRecord

log = logging.getLogger(__name__)

READ_BATCH = 500
Match = Callable[[EventRecord], bool]


@dataclass(frozen=True)
class EventFilter:
    """Which events a subscriber wants: by type, by subject, and/or by any predicate."""

    types: frozenset[str] = frozenset()
    subject_id: str | None = None
    also: Match | None = None  # events about the subject found beyond its subject_id

    def __call__(self, record: EventRecord) -> bool:
        if self.types and record.type not in self.types:
            return False
        if self.subject_id is None:
            return True
        return record.subject_id == self.subject_id or (self.also is not None and self.also(record))

    @property
    def sql_exact(self) -> bool:
        """Whether the log's own type/subject filter selects exactly these events."""
        return self.also is None


_ENDED = object()


class Watch:
    """One subscriber's bounded queue of live events."""

    def __init__(self, wants: EventFilter, buffer: int) -> None:
        self.wants = wants
        self.buffer = buffer
        self.overflowed = False
        self._queue: asyncio.Queue[EventRecord | object] = asyncio.Queue()

    def offer(self, record: EventRecord) -> None:
        if self.overflowed or not self.wants(record):
            return
        if self._queue.qsize() >= self.buffer:
            self.overflowed = True
            self._queue.put_nowait(_ENDED)
            return
        self._queue.put_nowait(record)

    def end(self) -> None:
        self._queue.put_nowait(_ENDED)

    async def get(self) -> EventRecord:
        item = await self._queue.get()
        if item is _ENDED:
            if self.overflowed:
                raise SlowConsumerError(
                    f"subscriber fell more than {self.buffer} events behind and was ended; "
                    "subscribe again with `after` set to the last cursor received"
                )
            raise FeedClosedError("the gateway is shutting down")
        assert isinstance(item, EventRecord)
        return item


class FeedClosedError(Exception):
    """The feed stopped (the gateway is shutting down)."""


class LiveFeed:
    def __init__(
        self, log: EventLog, bus: Broadcast, *, buffer: int = 1000, poll_s: float = 1.0
    ) -> None:
        self._log = log
        self._bus = bus
        self.buffer = buffer
        self._poll_s = poll_s
        self._watches: set[Watch] = set()
        self._position = 0
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def position(self) -> int:
        """The newest log position this feed has delivered."""
        return self._position

    @property
    def subscriber_count(self) -> int:
        return len(self._watches)

    async def start(self) -> None:
        """Subscribe to the bus, then learn the log's head; returns once live."""
        self._task = asyncio.create_task(self._run(), name="live-feed")
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            ready.cancel()
            self._task.result()  # raises what stopped it
            raise FeedClosedError("the live feed ended before it started")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for watch in list(self._watches):
            watch.end()
        self._watches.clear()

    async def stream(
        self,
        *,
        after: int | None = None,
        wants: EventFilter | None = None,
        buffer: int | None = None,
    ) -> EventStream:
        """Events after `after` from the log, then live ones as they are appended; with
        `after` None, only events appended once this returns. The stream is registered
        before this returns, so nothing appended later is missed; iterate it, and
        `aclose` it (or use `async with`) when done. It ends with `SlowConsumerError` if this
        subscriber falls more than `buffer` events behind."""
        watch = Watch(wants or EventFilter(), buffer or self.buffer)
        self._watches.add(watch)
        try:
            head = await self._log.head() if after is None else None
        except BaseException:
            self._watches.discard(watch)
            raise
        return EventStream(self, watch, after, head)

    def _forget(self, watch: Watch) -> None:
        self._watches.discard(watch)

    async def _replay(self, after: int, wants: EventFilter) -> AsyncIterator[EventRecord]:
        position = after
        while True:
            batch = await self._log.read_after(
                position,
                limit=READ_BATCH,
                types=wants.types or None,
                subject_id=wants.subject_id if wants.sql_exact else None,
            )
            for record in batch:
                position = record.cursor
                if wants(record):
                    yield record
            if len(batch) < READ_BATCH:
                return

    async def _run(self) -> None:
        while True:
            try:
                async with self._bus.subscribe(CHANNEL, buffer=10_000) as notifications:
                    if not self._ready.is_set():
                        self._position = await self._log.head()
                        self._ready.set()
                    await self._catch_up()
                    while True:
                        named = None
                        try:
                            async with asyncio.timeout(self._poll_s):
                                named = notified_position((await notifications.get()).payload)
                        except TimeoutError:
                            pass
                        if named is None or named > self._position:
                            await self._catch_up()
            except SlowConsumerError:
                log.warning("the live feed fell behind the bus; re-reading the log")
            except StopAsyncIteration:
                return  # the bus disconnected: the gateway is stopping
            except (SQLAlchemyError, OSError):
                log.warning("reading the event log failed; retrying", exc_info=True)
                await asyncio.sleep(self._poll_s)

    async def _catch_up(self) -> None:
        while True:
            batch = await self._log.read_after(self._position, limit=READ_BATCH)
            for record in batch:
                self._position = record.cursor
                for watch in list(self._watches):
                    watch.offer(record)
            if len(batch) < READ_BATCH:
                return


class EventStream:
    """One subscriber's view of the log: replay, then live (see the module docstring)."""

    def __init__(self, feed: LiveFeed, watch: Watch, after: int | None, head: int | None) -> None:
        self._feed = feed
        self._watch = watch
        self._last = after if after is not None else head or 0
        self._replay: AsyncIterator[EventRecord] | None = (
            feed._replay(after, watch.wants) if after is not None else None
        )
        self._closed = False

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> EventRecord:
        if self._closed:
            raise StopAsyncIteration
        try:
            return await self._next()
        except BaseException:
            await self.aclose()
            raise

    async def _next(self) -> EventRecord:
        if self._replay is not None:
            async for record in self._replay:
                self._last = record.cursor
                return record
            self._replay = None
        while True:
            record = await self._watch.get()
            if record.cursor > self._last:
                self._last = record.cursor
                return record

    async def aclose(self) -> None:
        self._closed = True
        self._feed._forget(self._watch)

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

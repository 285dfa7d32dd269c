"""Live fan-out of events to subscribers on every gateway process (encode/broadcaster style).

    async with Broadcast("redis://localhost:6379/0", prefix="psgraph:") as bus:
        async with bus.subscribe("events") as subscriber:
            await bus.publish("events", '{"cursor": "42"}')
            async for message in subscriber:
                ...

The bus carries notifications, not the record of truth: the durable event log in the store
is that, and a subscriber that missed messages replays from it by cursor. Each subscriber
has a bounded buffer; one that cannot keep up is ended with `SlowConsumerError` so that the
others carry on.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlparse


@dataclass(frozen=True)
class Message:
    channel: str
    payload: str


class SlowConsumerError(Exception):
    """The subscriber's buffer overflowed; its subscription has ended."""


class BusBackend(ABC):
    @abstractmethod
    async def connect(self) -> None: ...

    @abstractmethod
    async def disconnect(self) -> None: ...

    @abstractmethod
    async def subscribe(self, channel: str) -> None: ...

    @abstractmethod
    async def unsubscribe(self, channel: str) -> None: ...

    @abstractmethod
    async def publish(self, channel: str, payload: str) -> None: ...

    @abstractmethod
    async def next_message(self) -> Message:
        """Wait for the next message on any subscribed channel."""


_OVERFLOW = object()


class Subscriber:
    def __init__(self, channel: str, buffer: int) -> None:
        self.channel = channel
        self._queue: asyncio.Queue[Message | object | None] = asyncio.Queue(maxsize=buffer + 1)
        self._buffer = buffer
        self.overflowed = False

    def offer(self, message: Message) -> None:
        if self.overflowed:
            return
        if self._queue.qsize() >= self._buffer:
            self.overflowed = True
            self._queue.put_nowait(_OVERFLOW)
            return
        self._queue.put_nowait(message)

    def close(self) -> None:
        if not self.overflowed and not self._queue.full():
            self._queue.put_nowait(None)

    async def get(self) -> Message:
        item = await self._queue.get()
        if item is _OVERFLOW:
            raise SlowConsumerError(
                f"subscriber on {self.channel!r} fell {self._buffer} messages behind"
            )
        if item is None:
            raise StopAsyncIteration
        assert isinstance(item, Message)
        return item

    def __aiter__(self) -> Subscriber:
        return self

    async def __anext__(self) -> Message:
        return await self.get()


class Broadcast:
    def __init__(
        self, url: str = "memory://", *, prefix: str = "psgraph:", buffer: int = 1000
    ) -> None:
        self.url = url
        self.buffer = buffer
        self._backend = _backend_for(url, prefix)
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Broadcast:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    async def connect(self) -> None:
        await self._backend.connect()
        self._reader = asyncio.create_task(self._read_forever())

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except asyncio.CancelledError:
                pass
            self._reader = None
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.close()
        await self._backend.disconnect()

    async def publish(self, channel: str, payload: str) -> None:
        await self._backend.publish(channel, payload)

    @asynccontextmanager
    async def subscribe(
        self, channel: str, *, buffer: int | None = None
    ) -> AsyncIterator[Subscriber]:
        subscriber = Subscriber(channel, buffer or self.buffer)
        first = channel not in self._subscribers
        self._subscribers.setdefault(channel, set()).add(subscriber)
        if first:
            await self._backend.subscribe(channel)
        try:
            yield subscriber
        finally:
            subscribers = self._subscribers.get(channel, set())
            subscribers.discard(subscriber)
            if not subscribers:
                self._subscribers.pop(channel, None)
                await self._backend.unsubscribe(channel)

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    async def _read_forever(self) -> None:
        while True:
            message = await self._backend.next_message()
            for subscriber in list(self._subscribers.get(message.channel, ())):
                subscriber.offer(message)


def _backend_for(url: str, prefix: str) -> BusBackend:
    scheme = urlparse(url).scheme
    if scheme == "memory":
        from gateway.events.memory_backend import MemoryBackend

        return MemoryBackend()
    if scheme in ("redis", "rediss"):
        from gateway.events.redis_backend import RedisBackend

        return RedisBackend(url, prefix=prefix)
    raise ValueError(f"unsupported bus URL {url!r}: use memory:// or redis://")

"""The in-process bus: for one gateway process."""

from __future__ import annotations

import asyncio

from gateway.events.bus import BusBackend, Message


class MemoryBackend(BusBackend):
    def __init__(self) -> None:
        self._channels: set[str] = set()
        self._queue: asyncio.Queue[Message] = asyncio.Queue()

    async def connect(self) -> None:
        pass

    async def disconnect(self) -> None:
        self._channels.clear()

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def publish(self, channel: str, payload: str) -> None:
        if channel in self._channels:
            self._queue.put_nowait(Message(channel, payload))

    async def next_message(self) -> Message:
        return await self._queue.get()

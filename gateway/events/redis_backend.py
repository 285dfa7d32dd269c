"""The Redis pub/sub bus: every gateway process sees every message."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from gateway.events.bus import BusBackend, Message


class RedisBackend(BusBackend):
    def __init__(self, url: str, *, prefix: str) -> None:
        self._url = url
        self._prefix = prefix
        self._redis: Redis | None = None
        self._pubsub: PubSub | None = None
        self._ready = asyncio.Event()

    async def connect(self) -> None:
        self._redis = Redis.from_url(self._url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)

    async def disconnect(self) -> None:
        if self._pubsub is not None:
            await self._pubsub.aclose()
        if self._redis is not None:
            await self._redis.aclose()

    async def subscribe(self, channel: str) -> None:
        assert self._pubsub is not None, "connect() first"
        await self._pubsub.subscribe(self._prefix + channel)
        self._ready.set()

    async def unsubscribe(self, channel: str) -> None:
        assert self._pubsub is not None, "connect() first"
        await self._pubsub.unsubscribe(self._prefix + channel)

    async def publish(self, channel: str, payload: str) -> None:
        assert self._redis is not None, "connect() first"
        await self._redis.publish(self._prefix + channel, payload)

    async def next_message(self) -> Message:
        assert self._pubsub is not None, "connect() first"
        await self._ready.wait()  # get_message() fails before the first subscribe
        while True:
            raw = await self._pubsub.get_message(timeout=1.0)
            if raw is None or raw.get("type") != "message":
                continue
            channel = raw["channel"].decode()
            data = raw["data"]
            return Message(
                channel[len(self._prefix) :], data.decode() if isinstance(data, bytes) else data
            )

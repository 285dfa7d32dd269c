"""The event bus fans every message out to every subscriber, in memory and over Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from gateway.events.bus import Broadcast, SlowConsumerError
from tests.support_services import require_service

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(
    params=[
        pytest.param("memory://", id="memory"),
        pytest.param(REDIS_URL, id="redis", marks=pytest.mark.redis),
    ]
)
def bus_url(request: pytest.FixtureRequest) -> str:
    if request.param.startswith("redis"):
        require_service("Redis", "127.0.0.1", 6379)
    return str(request.param)


@pytest.fixture
def prefix() -> str:
    # Runs share the Redis server: every run publishes under its own key prefix.
    return f"psgraph-test-{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def bus(bus_url: str, prefix: str) -> AsyncIterator[Broadcast]:
    async with Broadcast(bus_url, prefix=prefix, buffer=50) as broadcast:
        yield broadcast


async def _receive(subscriber: object, n: int) -> list[str]:
    received = []
    async with asyncio.timeout(5):
        async for message in subscriber:  # type: ignore[attr-defined]
            received.append(message.payload)
            if len(received) == n:
                return received
    return received


async def test_every_subscriber_gets_every_message_in_order(bus: Broadcast) -> None:
    async with bus.subscribe("events") as first, bus.subscribe("events") as second:
        for i in range(10):
            await bus.publish("events", str(i))
        expected = [str(i) for i in range(10)]
        assert await _receive(first, 10) == expected
        assert await _receive(second, 10) == expected


async def test_channels_are_separate(bus: Broadcast) -> None:
    async with bus.subscribe("a") as on_a:
        await bus.publish("b", "not for a")
        await bus.publish("a", "for a")
        assert await _receive(on_a, 1) == ["for a"]


async def test_a_slow_consumer_is_ended_and_the_others_carry_on(bus: Broadcast) -> None:
    async with (
        bus.subscribe("events", buffer=5) as slow,
        bus.subscribe("events") as fast,
    ):
        for i in range(20):
            await bus.publish("events", str(i))
        assert await _receive(fast, 20) == [str(i) for i in range(20)]
        with pytest.raises(SlowConsumerError):
            await _receive(slow, 20)


@pytest.mark.redis
async def test_redis_reaches_subscribers_of_another_process(prefix: str) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    async with (
        Broadcast(REDIS_URL, prefix=prefix) as here,
        Broadcast(REDIS_URL, prefix=prefix) as there,
        there.subscribe("events") as subscriber,
    ):
        await here.publish("events", "hello from here")
        assert await _receive(subscriber, 1) == ["hello from here"]


def test_an_unknown_bus_url_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="memory:// or redis://"):
        Broadcast("kafka://broker:9092")

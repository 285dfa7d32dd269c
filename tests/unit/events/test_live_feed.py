"""Subscribers replay from a cursor and then go live, with no gap and no duplicate; a slow
one is ended and the others carry on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.events.bus import SlowConsumerError
from gateway.events.domain import DomainEvent, Subject
from gateway.events.live import EventFilter, LiveFeed
from gateway.events.log import EventLog
from gateway.store import EventRecord
from sources.records import SourceSystem


def event(n: int, kind: str = "TimeApproved", key: str | None = None) -> DomainEvent:
    return DomainEvent(
        type=kind,
        source=SourceSystem.TIME,
        subject=Subject("TimeEntry", key or str(n)),
        data={"n": n},
        dedup_key=f"{kind}:{n}",
    )


async def take(stream: AsyncIterator[EventRecord], n: int) -> list[EventRecord]:
    got: list[EventRecord] = []
    async with asyncio.timeout(5):
        async for record in stream:
            got.append(record)
            if len(got) == n:
                break
    return got


async def test_without_a_cursor_a_subscriber_sees_only_what_comes_next(
    event_log: EventLog, feed: LiveFeed
):
    await event_log.append([event(1)])
    stream = await feed.stream()
    first = asyncio.ensure_future(take(stream, 1))

    await event_log.append([event(2)])

    assert [r.data["n"] for r in await first] == [2]


async def test_a_cursor_replays_what_was_missed_then_streams_live_ones(
    event_log: EventLog, feed: LiveFeed
):
    seen = await event_log.append([event(1), event(2), event(3)])
    stream = await feed.stream(after=seen[0].cursor)

    replayed = await take(stream, 2)
    await event_log.append([event(4)])
    live = await take(stream, 1)

    assert [r.data["n"] for r in replayed + live] == [2, 3, 4]


async def test_events_appended_during_the_replay_arrive_once_and_in_order(
    event_log: EventLog, feed: LiveFeed
):
    await event_log.append([event(n) for n in range(1, 11)])

    async def keep_appending() -> None:
        for n in range(11, 41):
            await event_log.append([event(n)])
            await asyncio.sleep(0)

    writer = asyncio.create_task(keep_appending())
    got = await take(await feed.stream(after=0, buffer=1000), 40)
    await writer

    assert [r.data["n"] for r in got] == list(range(1, 41))


async def test_filters_pick_types_and_a_subject(event_log: EventLog, feed: LiveFeed):
    await event_log.append(
        [event(1), event(2, "TimeSubmitted"), event(3, key="9"), event(4, "TimeSubmitted", "9")]
    )

    by_type = await take(
        await feed.stream(after=0, wants=EventFilter(types=frozenset({"TimeSubmitted"}))), 2
    )
    by_subject = await take(
        await feed.stream(after=0, wants=EventFilter(subject_id="TimeEntry:9")), 2
    )

    assert [r.data["n"] for r in by_type] == [2, 4]
    assert [r.data["n"] for r in by_subject] == [3, 4]


async def test_a_subject_filter_can_also_follow_related_events(event_log: EventLog, feed: LiveFeed):
    await event_log.append([event(1, key="1"), event(2, key="2")])
    wants = EventFilter(subject_id="TimeEntry:1", also=lambda r: r.data.get("n") == 2)

    got = await take(await feed.stream(after=0, wants=wants), 2)

    assert [r.data["n"] for r in got] == [1, 2]


async def test_a_slow_subscriber_is_ended_with_a_clear_error_and_the_others_carry_on(
    event_log: EventLog, feed: LiveFeed
):
    slow = await feed.stream(buffer=3)
    fast = await feed.stream(buffer=100)
    slow_first = asyncio.ensure_future(take(slow, 1))
    fast_all = asyncio.ensure_future(take(fast, 10))
    await event_log.append([event(1)])
    await slow_first  # it took one, then stops reading

    for n in range(2, 11):
        await event_log.append([event(n)])

    assert [r.data["n"] for r in await fast_all] == list(range(1, 11))
    with pytest.raises(SlowConsumerError, match="fell more than 3 events behind"):
        await take(slow, 10)


async def test_a_lost_notification_only_delays_delivery(event_log: EventLog, feed: LiveFeed):
    waiting = asyncio.ensure_future(take(await feed.stream(), 1))

    # Written straight to the store: no notification goes out on the bus.
    await event_log.store.events.append("TimeApproved", {"n": 1}, dedup_key="quiet")

    assert [r.dedup_key for r in await waiting] == ["quiet"]

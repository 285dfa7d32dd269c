"""The event log service: ordered, deduplicated, subject ids, announced after commit."""

from __future__ import annotations

import json

import pytest

from gateway.events.bus import Broadcast
from gateway.events.domain import DomainEvent, Subject, source_health_event
from gateway.events.log import CHANNEL, EventLog, InvalidCursorError, event_json, parse_cursor
from sources.records import SourceSystem


def approved(entry_id: str) -> DomainEvent:
    return DomainEvent(
        type="TimeApproved",
        source=SourceSystem.TIME,
        subject=Subject("TimeEntry", entry_id),
        data={"id": entry_id, "hours": 1.5},
        dedup_key=f"TimeApproved:{entry_id}",
    )


async def test_appended_events_get_increasing_cursors_and_their_subjects_global_id(
    event_log: EventLog,
):
    first, second = await event_log.append([approved("1"), approved("2")])

    assert second.cursor > first.cursor
    assert first.subject_id == "TimeEntry:1"
    assert first.source == "TIME"
    assert json.loads(event_json(first)) == {"hours": 1.5, "id": "1"}
    assert await event_log.head() == second.cursor


async def test_the_same_change_appended_twice_is_one_event(event_log: EventLog):
    assert len(await event_log.append([approved("1")])) == 1
    assert await event_log.append([approved("1")]) == []

    assert [e.type for e in await event_log.read_after(None)] == ["TimeApproved"]


async def test_events_without_a_dedup_key_are_each_kept(event_log: EventLog):
    down = source_health_event(SourceSystem.PSA, False, "SOURCE_UNAVAILABLE")

    await event_log.append([down])
    await event_log.append([down])

    assert len(await event_log.read_after(None)) == 2


async def test_read_after_replays_from_a_cursor_with_filters(event_log: EventLog):
    appended = await event_log.append(
        [approved("1"), source_health_event(SourceSystem.CRM, True, "ok"), approved("2")]
    )

    after_first = await event_log.read_after(appended[0].cursor)
    only_time = await event_log.read_after(None, types=["TimeApproved"])
    about_two = await event_log.read_after(None, subject_id="TimeEntry:2")

    assert [e.cursor for e in after_first] == [e.cursor for e in appended[1:]]
    assert [e.subject_id for e in only_time] == ["TimeEntry:1", "TimeEntry:2"]
    assert [e.cursor for e in about_two] == [appended[2].cursor]


async def test_an_append_is_announced_on_the_bus_with_the_newest_cursor(
    event_log: EventLog, bus: Broadcast
):
    async with bus.subscribe(CHANNEL) as notifications:
        appended = await event_log.append([approved("1"), approved("2")])
        message = await notifications.get()

    assert json.loads(message.payload) == {"cursor": appended[-1].cursor}


async def test_nothing_new_is_not_announced(event_log: EventLog, bus: Broadcast):
    await event_log.append([approved("1")])
    async with bus.subscribe(CHANNEL) as notifications:
        await event_log.append([approved("1")])
        await bus.publish(CHANNEL, "marker")
        assert (await notifications.get()).payload == "marker"


@pytest.mark.parametrize(
    ("text", "position"),
    [
        pytest.param(None, None, id="none-means-from-the-start"),
        pytest.param("0", 0, id="zero"),
        pytest.param("42", 42, id="a-position"),
    ],
)
def test_cursors_parse_to_log_positions(text: str | None, position: int | None):
    assert parse_cursor(text) == position


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("-1", id="negative"),
        pytest.param("abc", id="not-a-number"),
        pytest.param("9" * 30, id="too-long"),
        pytest.param("٣", id="non-ascii-digit"),
    ],
)
def test_a_cursor_the_log_never_gave_is_refused(text: str):
    with pytest.raises(InvalidCursorError):
        parse_cursor(text)

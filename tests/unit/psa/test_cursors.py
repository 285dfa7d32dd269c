"""Page cursors walk chunks and pages; feed cursors read each event exactly once."""

from __future__ import annotations

import datetime as dt

import pytest

from sources.psa.cursors import FeedCursor, PagePosition

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
OVERLAP = dt.timedelta(minutes=15)


def _event(event_id: int, minutes: float) -> dict[str, str]:
    at = T0 + dt.timedelta(minutes=minutes)
    return {"id": str(event_id), "created_at": at.isoformat().replace("+00:00", "Z")}


def test_page_positions_walk_every_page_of_every_chunk():
    first = PagePosition.decode(None)
    assert first == PagePosition(0, 1)
    assert first.after(has_more=True, chunks=2) == PagePosition(0, 2)
    assert PagePosition(0, 2).after(has_more=False, chunks=2) == PagePosition(1, 1)
    assert PagePosition(1, 1).after(has_more=False, chunks=2) is None


def test_a_page_position_survives_its_encoding():
    position = PagePosition(3, 14)
    assert PagePosition.decode(position.encode()) == position


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param("7", id="no-chunk"),
        pytest.param("a:1", id="letters"),
        pytest.param("0:0", id="page-zero"),
        pytest.param("0:-1", id="negative"),
    ],
)
def test_a_foreign_page_cursor_is_refused(cursor):
    with pytest.raises(ValueError, match="page cursor"):
        PagePosition.decode(cursor)


def test_a_feed_cursor_survives_its_encoding():
    cursor = FeedCursor(T0, frozenset({"1", "22"}))
    assert FeedCursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("not base64 !", id="garbage"),
        pytest.param("e30", id="empty-object"),
        pytest.param(FeedCursor(T0).encode()[:-4], id="truncated"),
    ],
)
def test_a_foreign_feed_cursor_is_refused(cursor):
    with pytest.raises(ValueError, match="change cursor"):
        FeedCursor.decode(cursor)


def test_events_already_read_are_dropped_and_duplicates_come_once():
    start = FeedCursor(T0, frozenset({"1"}))
    events = [_event(2, 1), _event(1, -1), _event(2, 1), _event(3, 2)]

    fresh, after = start.advance(events, OVERLAP)

    assert [e["id"] for e in fresh] == ["2", "3"]
    assert after.newest == T0 + dt.timedelta(minutes=2)


def test_events_come_oldest_first_whatever_order_the_feed_gave():
    fresh, _ = FeedCursor(T0).advance([_event(9, 3), _event(10, 1), _event(8, 2)], OVERLAP)
    assert [e["id"] for e in fresh] == ["10", "8", "9"]


def test_a_late_event_inside_the_look_back_window_is_still_read():
    _, after_first = FeedCursor(T0).advance([_event(5, 10)], OVERLAP)
    # Event 4 happened before event 5 but only showed up in the feed now.
    late = [_event(4, 6), _event(5, 10)]

    fresh, _ = after_first.advance(late, OVERLAP)

    assert [e["id"] for e in fresh] == ["4"]


def test_the_cursor_only_remembers_events_inside_the_look_back_window():
    events = [_event(1, 0), _event(2, 20), _event(3, 30)]

    _, after = FeedCursor(T0).advance(events, OVERLAP)

    assert after.seen == {"2", "3"}
    assert after.window_start(OVERLAP) == T0 + dt.timedelta(minutes=15)


def test_a_quiet_feed_keeps_the_cursor_where_it_was():
    start = FeedCursor(T0, frozenset({"7"}))
    fresh, after = start.advance([], OVERLAP)
    assert fresh == []
    assert after.newest == T0


def test_a_new_cursor_counts_the_recent_feed_as_read_and_trusts_the_feeds_clock():
    our_clock_ahead = T0 + dt.timedelta(minutes=5)
    recent = [_event(1, -3), _event(2, -1)]

    start = FeedCursor.begin(recent, our_clock_ahead, OVERLAP)
    fresh, _ = start.advance([*recent, _event(3, 1)], OVERLAP)

    assert start.newest == T0 - dt.timedelta(minutes=1)
    assert [e["id"] for e in fresh] == ["3"]


def test_a_new_cursor_on_a_quiet_feed_starts_from_our_clock():
    assert FeedCursor.begin([], T0, OVERLAP) == FeedCursor(T0)

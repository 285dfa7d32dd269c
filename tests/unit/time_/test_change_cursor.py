"""The change cursor: newer than the last moment seen, or at it and not seen yet."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from sources.records import TimeUser
from sources.time.change_cursor import ChangeCursor

T0 = dt.datetime(2026, 5, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)


def user(user_id: str, at: dt.datetime) -> TimeUser:
    return TimeUser(id=user_id, modified_at=at, name="A Person", email="a@firm.example")


def test_records_at_the_cursors_moment_are_new_only_if_not_seen() -> None:
    cursor = ChangeCursor(T0, frozenset({"1"}))

    assert not cursor.is_new(user("1", T0))
    assert cursor.is_new(user("2", T0))
    assert cursor.is_new(user("1", T0 + dt.timedelta(milliseconds=1)))
    assert not cursor.is_new(user("3", T0 - dt.timedelta(milliseconds=1)))


def test_advancing_keeps_the_latest_moment_and_every_id_at_it() -> None:
    later = T0 + dt.timedelta(seconds=1)
    cursor = ChangeCursor(T0, frozenset({"1"}))

    assert cursor.advance([user("2", T0)]) == ChangeCursor(T0, frozenset({"1", "2"}))
    assert cursor.advance([user("3", later), user("4", T0), user("5", later)]) == ChangeCursor(
        later, frozenset({"3", "5"})
    )
    assert cursor.advance([]) == cursor


def test_harvest_is_asked_from_the_whole_second_so_scans_overlap() -> None:
    assert ChangeCursor(T0).query_since == dt.datetime(2026, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def test_a_cursor_survives_encoding() -> None:
    cursor = ChangeCursor(T0, frozenset({"900000001", "900000002"}))

    assert ChangeCursor.decode(cursor.encode()) == cursor


def test_now_is_millisecond_precise() -> None:
    assert ChangeCursor.now().since.microsecond % 1000 == 0


def encoded(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("not base64 at all!", id="garbage"),
        pytest.param("e30=", id="empty-object"),
        pytest.param(encoded({"since": "2026-05-01T12:00:00", "seen": []}), id="naive-time"),
        pytest.param(encoded({"since": "yesterday", "seen": []}), id="not-a-time"),
    ],
)
def test_a_foreign_cursor_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a TIME change cursor"):
        ChangeCursor.decode(text)

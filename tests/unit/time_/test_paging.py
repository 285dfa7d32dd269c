"""Harvest paging: follow links.next; its query string is the cursor."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from sources.errors import SourceDataError
from sources.time.paging import NextLinkPager, check_cursor, day_ranges, next_query


def page(next_link: Any) -> dict[str, Any]:
    return {"time_entries": [], "links": {"first": "...", "next": next_link, "last": "..."}}


def test_the_cursor_is_the_query_of_the_next_link() -> None:
    body = page("https://api.harvestapp.com/v2/time_entries?cursor=eyJhZnRlciI6MTB9&per_page=2000")

    assert next_query(body) == "cursor=eyJhZnRlciI6MTB9&per_page=2000"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(page(None), id="null-next"),
        pytest.param({"time_entries": []}, id="no-links"),
        pytest.param(page(""), id="empty-next"),
    ],
)
def test_the_last_page_has_no_next_cursor(body: dict[str, Any]) -> None:
    assert next_query(body) is None


def test_a_next_link_that_is_not_a_url_is_a_data_error() -> None:
    with pytest.raises(SourceDataError):
        next_query(page({"href": "?page=2"}))


def test_a_repeating_next_link_is_a_loop_not_a_page() -> None:
    pager = NextLinkPager()
    first = page("https://h/v2/time_entries?cursor=a")

    assert pager.advance(first) == "cursor=a"
    assert pager.advance(page("https://h/v2/time_entries?cursor=b")) == "cursor=b"
    with pytest.raises(SourceDataError, match="loop"):
        pager.advance(first)


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param("https://evil.example/v2/time_entries?cursor=a", id="a-url"),
        pytest.param("/v2/users?page=2", id="a-path"),
        pytest.param("cursor=a#fragment", id="a-fragment"),
    ],
)
def test_only_query_strings_are_cursors(cursor: str) -> None:
    with pytest.raises(ValueError, match="not a Harvest page cursor"):
        check_cursor(cursor)


def test_a_query_string_is_a_cursor() -> None:
    assert check_cursor("project_id=1&per_page=100&cursor=WzEsMl0") == (
        "project_id=1&per_page=100&cursor=WzEsMl0"
    )


def test_day_ranges_cover_every_day_once_newest_first() -> None:
    first, last = dt.date(2026, 11, 1), dt.date(2026, 11, 30)

    ranges = day_ranges(first, last, 4)

    assert len(ranges) == 4
    assert ranges[0][1] == last
    assert ranges[-1][0] == first
    days = [r[0] + dt.timedelta(days=i) for r in ranges for i in range((r[1] - r[0]).days + 1)]
    assert sorted(days) == [first + dt.timedelta(days=i) for i in range(30)]
    assert len(set(days)) == 30
    assert all(newer[0] > older[1] for newer, older in itertools.pairwise(ranges))


def test_day_ranges_are_never_shorter_than_a_day() -> None:
    day = dt.date(2026, 11, 1)

    assert day_ranges(day, day + dt.timedelta(days=1), 5) == [
        (day + dt.timedelta(days=1), day + dt.timedelta(days=1)),
        (day, day),
    ]

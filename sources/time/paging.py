"""Harvest paging as a strategy: always follow `links.next`, which may be a `cursor=` URL.

The query string of the next link is the cursor: the connector sends it back as is to
the resource's path, so Harvest's own cursor, filters and per_page travel unchanged.

A cursor leads one page at a time. Time entries and expenses come newest first ("sorted
by spent_date") and filter by day, so a reader of a whole range can, after its first
page, cut the days that page did not reach into ranges of about a page each and read
them side by side (`day_ranges`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec
from msgspec import UNSET, UnsetType

from sources.errors import SourceDataError
from sources.records import SourceSystem


def next_query(body: Mapping[str, Any]) -> str | None:
    """The query of `links.next`, or None on the last page."""
    links = body.get("links")
    link = links.get("next") if isinstance(links, Mapping) else None
    if not link:
        return None
    if not isinstance(link, str):
        raise SourceDataError(SourceSystem.TIME, f"links.next is not a URL: {link!r}")
    return urlsplit(link).query or None


def check_cursor(cursor: str) -> str:
    """A cursor is a query string from `links.next`, never a URL or a path."""
    if not cursor or any(char in cursor for char in "/?#"):
        raise ValueError(f"not a Harvest page cursor: {cursor!r}")
    return cursor


class NextLinkPager:
    """Walks one listing; a next link seen before is a loop, not another page."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def advance(self, body: Mapping[str, Any]) -> str | None:
        query = next_query(body)
        if query is not None:
            if query in self._seen:
                raise SourceDataError(SourceSystem.TIME, "links.next repeats: paging loop")
            self._seen.add(query)
        return query


# Listed newest first by spent_date and filtered by day (`from`, `to`).
NEWEST_FIRST = frozenset({"time_entry", "expense"})
# A part is planned at this share of a page, so that busier days than the average rarely
# make it need a second page (a level more); the price is a request or two of Harvest's
# quota (100 per 15 s) more than following the cursor would spend.
PART_FILL = 0.8
MAX_PARTS = 16


def day_ranges(first: dt.date, last: dt.date, parts: int) -> list[tuple[dt.date, dt.date]]:
    """[first, last] cut into `parts` contiguous ranges of whole days (fewer if there are
    fewer days), newest first, as Harvest lists."""
    days = (last - first).days + 1
    count = max(1, min(parts, days))
    starts = [first + dt.timedelta(days=days * i // count) for i in range(count + 1)]
    ranges = [(starts[i], starts[i + 1] - dt.timedelta(days=1)) for i in range(count)]
    return ranges[::-1]


def page_decoder(key: str, item: Any) -> Callable[[bytes], dict[str, Any]]:
    """A decoder of Harvest's paged bodies into what the connector reads of one: the
    list of `item`s under `key`, `links` and `total_entries`, each only if the vendor
    sent it. It raises msgspec's DecodeError (a ValueError) for what is not JSON or not
    a page's shape."""
    page = msgspec.defstruct(
        f"{key}_page",
        [
            (key, list[item] | UnsetType, UNSET),
            ("links", Any, UNSET),
            ("total_entries", Any, UNSET),
        ],
    )
    decoder = msgspec.json.Decoder(page)

    def decode(content: bytes) -> dict[str, Any]:
        found = decoder.decode(content)
        return {
            name: value
            for name in found.__struct_fields__
            if (value := getattr(found, name)) is not UNSET
        }

    return decode

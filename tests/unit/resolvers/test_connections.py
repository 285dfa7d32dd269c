from __future__ import annotations

import asyncio

import pytest

from resolvers.connections import Window, slice_window, vendor_window
from resolvers.errors import InvalidInputError
from resolvers.limits import QueryLimits
from sources.connector import Page
from sources.records import Record

LIMITS = QueryLimits(default_page_size=3, max_page_size=10)


class Vendor:
    """A vendor listing of `n` records with offset cursors, capping pages at `cap`."""

    def __init__(self, n: int, cap: int = 100, counts: bool = True) -> None:
        self.records = [Record(id=f"r{i}") for i in range(n)]
        self.cap = cap
        self.counts = counts
        self.requests: list[tuple[str | None, int]] = []

    async def __call__(self, cursor: str | None, size: int) -> Page[Record]:
        self.requests.append((cursor, size))
        start = int(cursor or 0)
        end = start + min(size, self.cap)
        following = str(end) if end < len(self.records) else None
        total = len(self.records) if self.counts else None
        return Page(self.records[start:end], following, total)


class OffsetVendor(Vendor):
    """A Vendor whose offset cursors can be named before a page is read, as
    `Connector.pages_after` names them; it records which reads were in flight at once."""

    def __init__(self, n: int, cap: int) -> None:
        super().__init__(n, cap)
        self.in_flight = 0
        self.most_at_once = 0

    async def __call__(self, cursor: str | None, size: int) -> Page[Record]:
        self.in_flight += 1
        self.most_at_once = max(self.most_at_once, self.in_flight)
        await asyncio.sleep(0)
        try:
            return await super().__call__(cursor, size)
        finally:
            self.in_flight -= 1

    def ahead(self, cursor: str | None, size: int, items: int) -> list[str]:
        start, step = int(cursor or 0), min(size, self.cap)
        return [str(start + step * k) for k in range(1, -(-items // step))]


def ids(window: Window[Record]) -> list[str]:
    return [record.id for _, record in window.edges]


async def test_a_first_page_is_one_vendor_request_of_that_size():
    vendor = Vendor(10)

    window = await vendor_window(vendor, 4, None, LIMITS)

    assert ids(window) == ["r0", "r1", "r2", "r3"]
    assert window.total_count == 10
    assert window.has_next_page
    assert not window.has_previous_page
    assert vendor.requests == [(None, 4)]


async def test_after_the_end_cursor_the_next_page_is_one_request_at_the_vendor_cursor():
    vendor = Vendor(10)
    first = await vendor_window(vendor, 4, None, LIMITS)

    second = await vendor_window(vendor, 4, str(first.edges[-1][0]), LIMITS)

    assert ids(second) == ["r4", "r5", "r6", "r7"]
    assert second.has_previous_page
    assert vendor.requests[-1] == ("4", 4)


async def test_after_a_cursor_in_the_middle_of_a_page_resumes_right_after_that_edge():
    vendor = Vendor(10)
    first = await vendor_window(vendor, 4, None, LIMITS)

    resumed = await vendor_window(vendor, 4, str(first.edges[1][0]), LIMITS)

    assert ids(resumed) == ["r2", "r3", "r4", "r5"]


async def test_paging_to_the_end_visits_every_record_once():
    vendor = Vendor(10)
    seen, after = [], None
    while True:
        window = await vendor_window(vendor, 3, after, LIMITS)
        seen += ids(window)
        if not window.has_next_page:
            break
        after = str(window.edges[-1][0])

    assert seen == [f"r{i}" for i in range(10)]
    assert len(vendor.requests) == 4


async def test_a_vendor_that_caps_its_pages_is_read_until_first_is_met():
    vendor = Vendor(10, cap=3)

    window = await vendor_window(vendor, 7, None, LIMITS)

    assert ids(window) == [f"r{i}" for i in range(7)]
    assert window.has_next_page


async def test_pages_named_ahead_are_read_side_by_side_with_the_first():
    vendor = OffsetVendor(10, cap=3)

    window = await vendor_window(vendor, 8, None, LIMITS, ahead=vendor.ahead)

    assert ids(window) == [f"r{i}" for i in range(8)]
    assert window.has_next_page
    assert sorted(c or "0" for c, _ in vendor.requests) == ["0", "3", "6"]
    assert vendor.most_at_once == 3  # one round trip, not three


async def test_pages_named_past_the_end_of_the_list_cost_nothing_but_their_request():
    vendor = OffsetVendor(4, cap=3)

    window = await vendor_window(vendor, 9, None, LIMITS, ahead=vendor.ahead)

    assert ids(window) == ["r0", "r1", "r2", "r3"]
    assert not window.has_next_page
    assert len(vendor.requests) == 3  # the third page was empty


async def test_a_resumed_window_names_the_pages_its_rest_needs_at_its_page_size():
    vendor = OffsetVendor(10, cap=3)
    first = await vendor_window(vendor, 2, None, LIMITS, ahead=vendor.ahead)
    vendor.requests.clear()

    resumed = await vendor_window(vendor, 5, str(first.edges[-1][0]), LIMITS, ahead=vendor.ahead)

    assert ids(resumed) == ["r2", "r3", "r4", "r5", "r6"]
    assert sorted(c for c, _ in vendor.requests) == ["2", "4", "6"]  # pages of 2, as before
    assert vendor.most_at_once == 3


async def test_the_last_edge_of_the_list_has_no_next_page():
    window = await vendor_window(Vendor(2), 5, None, LIMITS)

    assert ids(window) == ["r0", "r1"]
    assert not window.has_next_page
    assert (await vendor_window(Vendor(2), 5, str(window.edges[-1][0]), LIMITS)).edges == []


async def test_first_defaults_and_zero_counts_without_edges():
    assert len((await vendor_window(Vendor(10), None, None, LIMITS)).edges) == 3
    empty = await vendor_window(Vendor(10), 0, None, LIMITS)
    assert empty.edges == []
    assert empty.total_count == 10
    assert empty.has_next_page


async def test_a_source_that_cannot_count_leaves_the_total_unknown():
    assert (await vendor_window(Vendor(5, counts=False), 2, None, LIMITS)).total_count is None


@pytest.mark.parametrize(
    ("first", "after", "message"),
    [
        pytest.param(11, None, "first must be between 0 and 10", id="over-max"),
        pytest.param(-1, None, "first must be between 0 and 10", id="negative"),
        pytest.param(2, "%%%", "not a valid cursor", id="garbage-cursor"),
        pytest.param(2, "eyJ4IjoxfQ", "not a cursor for this list", id="foreign-json"),
        pytest.param(2, "eyJ2IjpudWxsLCJuIjo5OTksImsiOjB9", "not a cursor", id="huge-page"),
    ],
)
async def test_bad_paging_arguments_are_bad_input(first, after, message):
    with pytest.raises(InvalidInputError, match=message):
        await vendor_window(Vendor(10), first, after, LIMITS)


def test_a_list_in_hand_is_sliced_with_offset_cursors():
    items = list(range(7))

    first = slice_window(items, 3, None, LIMITS)
    second = slice_window(items, 3, str(first.edges[-1][0]), LIMITS)
    last = slice_window(items, 3, str(second.edges[-1][0]), LIMITS)

    assert [i for _, i in first.edges] == [0, 1, 2]
    assert [i for _, i in second.edges] == [3, 4, 5]
    assert [i for _, i in last.edges] == [6]
    assert first.total_count == 7
    assert first.has_next_page
    assert second.has_next_page
    assert not last.has_next_page


def test_a_vendor_cursor_is_not_an_offset_cursor():
    with pytest.raises(InvalidInputError, match="not a cursor for this list"):
        slice_window([1, 2], 1, "eyJ2IjpudWxsLCJuIjoyLCJrIjoxfQ", LIMITS)


class NumberedVendor(Vendor):
    """The same listing, its pages numbered: each page names the cursors of the rest,
    and the vendor notes how many requests were in flight at once."""

    def __init__(self, n: int, cap: int) -> None:
        super().__init__(n, cap)
        self.in_flight = 0
        self.most_in_flight = 0

    async def __call__(self, cursor: str | None, size: int) -> Page[Record]:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        page = await super().__call__(cursor, size)
        start, step = int(cursor or 0), min(size, self.cap)
        rest = tuple(str(at) for at in range(start + step, len(self.records), step))
        return Page(page.items, page.next_cursor, page.total, following=rest)


async def test_numbered_pages_beyond_the_first_are_read_side_by_side_and_only_those_needed():
    numbered, plain = NumberedVendor(50, cap=4), Vendor(50, cap=4)
    limits = QueryLimits(default_page_size=3, max_page_size=20)

    window = await vendor_window(numbered, 10, None, limits)
    same = await vendor_window(plain, 10, None, limits)
    resumed = await vendor_window(numbered, 10, str(window.edges[-1][0]), limits)

    assert ids(window) == ids(same) == [f"r{i}" for i in range(10)]
    assert [str(c) for c, _ in window.edges] == [str(c) for c, _ in same.edges]
    assert ids(resumed) == [f"r{i}" for i in range(10, 20)]
    assert numbered.requests[:3] == plain.requests == [(None, 10), ("4", 10), ("8", 10)]
    assert numbered.most_in_flight == 2  # pages two and three: not the other nine

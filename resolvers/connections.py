"""Relay connections over two kinds of list.

Top-level lists map onto each vendor's own paging: a cursor remembers the vendor cursor
of the page an edge sits on, the page size asked for, and how many items of that page
come before the next edge, so `after` resumes with one vendor request and nothing is
ever read in full. Lists under a parent (a client's projects) are read for all parents
of a level at once (see `Loaders.by_key`), and their cursors are offsets.

Cursors are opaque to callers; a cursor that is not one of ours is `InvalidInputError`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from resolvers.errors import InvalidInputError
from resolvers.limits import QueryLimits
from sources.connector import Page
from sources.records import Record

T = TypeVar("T")


class Cursor:
    """A cursor encoded only when asked for: most queries select no edge's cursor, and
    encoding one per row was a measurable share of a page's cost."""

    __slots__ = ("_payload",)

    def __init__(self, payload: dict[str, Any]) -> None:
        self._payload = payload

    def __str__(self) -> str:
        return _encode(self._payload)


@dataclass(frozen=True)
class Window(Generic[T]):
    """One page of a connection: items with the cursor that follows each (a `str`, or
    a `Cursor` that becomes one through `str()`)."""

    edges: list[tuple[str | Cursor, T]]
    has_next_page: bool
    has_previous_page: bool
    total_count: int | None

    def map(self, convert: Callable[[T], Any]) -> Window[Any]:
        return Window(
            [(cursor, convert(item)) for cursor, item in self.edges],
            self.has_next_page,
            self.has_previous_page,
            self.total_count,
        )


@dataclass(frozen=True)
class _Position:
    vendor_cursor: str | None  # the page the next item is on; None: the first page
    page_size: int
    skip: int  # items of that page before the next item
    end: bool = False  # nothing follows


def page_size(first: int | None, limits: QueryLimits) -> int:
    if first is None:
        return limits.default_page_size
    if first < 0 or first > limits.max_page_size:
        raise InvalidInputError(f"first must be between 0 and {limits.max_page_size}, got {first}")
    return first


def _encode(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii"))
        payload = json.loads(raw)
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidInputError(f"after: {cursor!r} is not a valid cursor") from None
    if not isinstance(payload, dict):
        raise InvalidInputError(f"after: {cursor!r} is not a valid cursor")
    return payload


def _position_cursor(vendor_cursor: str | None, size: int, skip: int, *, end: bool) -> Cursor:
    if end:
        return Cursor({"end": 1, "n": size})
    return Cursor({"v": vendor_cursor, "n": size, "k": skip})


def _position(after: str | None, size: int, limits: QueryLimits) -> _Position:
    if after is None:
        return _Position(None, max(size, 1), 0)
    payload = _decode(after)
    try:
        n = int(payload["n"])
        if payload.get("end"):
            return _Position(None, n, 0, end=True)
        vendor = payload["v"]
        skip = int(payload["k"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInputError(f"after: {after!r} is not a cursor for this list") from None
    if vendor is not None and not isinstance(vendor, str):
        raise InvalidInputError(f"after: {after!r} is not a cursor for this list")
    if not 1 <= n <= limits.max_page_size or skip < 0:
        raise InvalidInputError(f"after: {after!r} is not a cursor for this list")
    return _Position(vendor, n, skip)


FetchPage = Callable[[str | None, int], Awaitable[Page[Record]]]
# `ahead(vendor_cursor, page_size, items)`: the cursors of the pages after the one at
# `vendor_cursor` that `items` items from it take, where they can be named before it is
# read (`Connector.pages_after`); () where they cannot.
PagesAhead = Callable[[str | None, int, int], Sequence[str]]


async def vendor_window(
    fetch: FetchPage,
    first: int | None,
    after: str | None,
    limits: QueryLimits,
    *,
    ahead: PagesAhead | None = None,
) -> Window[Record]:
    """Up to `first` items after `after`, read page by page from the vendor through
    `fetch(vendor_cursor, page_size)`: usually exactly one request. A window of several
    vendor pages asks for them side by side: with the first, when `ahead` names them,
    else once the first page names them (`Page.following`), else one after another."""
    wanted = page_size(first, limits)
    position = _position(after, wanted, limits)
    if position.end:
        return Window([], False, True, None)
    edges: list[tuple[str | Cursor, Record]] = []
    total: int | None = None
    cursor, skip, size = position.vendor_cursor, position.skip, position.page_size
    has_next = False
    later: list[tuple[str, Page[Record]]] = []  # later pages, read side by side
    read: Page[Record] | None = None
    named = ahead(cursor, size, skip + wanted) if ahead is not None else ()
    if named:
        read, *rest = await asyncio.gather(fetch(cursor, size), *(fetch(c, size) for c in named))
        later = list(zip(named, rest, strict=True))
    while True:
        if read is not None:
            page, read = read, None
        elif later and later[0][0] == cursor:
            _, page = later.pop(0)
        else:
            later = []  # the vendor's pages did not follow as named: read on from here
            page = await fetch(cursor, size)
        if total is None:
            total = page.total
        items = page.items
        for index in range(skip, len(items)):
            if len(edges) == wanted:
                has_next = True
                break
            following = (
                _position_cursor(cursor, size, index + 1, end=False)
                if index + 1 < len(items)
                else _position_cursor(page.next_cursor, size, 0, end=page.next_cursor is None)
            )
            edges.append((following, items[index]))
        else:
            has_next = page.next_cursor is not None
        if len(edges) >= wanted or page.next_cursor is None or not items:
            break
        cursor, skip = page.next_cursor, 0
        if not later and page.following[:1] == (page.next_cursor,):
            needed = page.following[: math.ceil((wanted - len(edges)) / len(items))]
            pages = await asyncio.gather(*(fetch(c, size) for c in needed))
            later = list(zip(needed, pages, strict=True))
    return Window(edges, has_next, after is not None, total)


def slice_window(
    items: Sequence[T], first: int | None, after: str | None, limits: QueryLimits
) -> Window[T]:
    """A connection over a list already in hand, with offset cursors."""
    wanted = page_size(first, limits)
    start = 0
    if after is not None:
        payload = _decode(after)
        offset = payload.get("o")
        if not isinstance(offset, int) or offset < 0:
            raise InvalidInputError(f"after: {after!r} is not a cursor for this list")
        start = offset
    chosen = items[start : start + wanted]
    edges: list[tuple[str | Cursor, T]] = [
        (Cursor({"o": start + i + 1}), item) for i, item in enumerate(chosen)
    ]
    return Window(edges, start + wanted < len(items), start > 0, len(items))

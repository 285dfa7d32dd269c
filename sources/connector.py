"""The contract every source connector keeps.

A connector speaks one vendor's API and returns canonical records
(`sources.records`). Reads come in three forms that the gateway builds on:

- `get_many(entity, ids)`: records aligned with `ids` (None where the source has no
  such record), in ceil(len(ids) / batch_limit) requests where the vendor can batch;
- `list(entity, filters, page_size, cursor)`: one page and a cursor for the next;
- `changes(entity, cursor)`: what changed since the cursor, and the new cursor.

Writes are connector-specific methods, each idempotent the vendor's way.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, overload

import httpx

from sources.config import SourceSettings
from sources.records import Record, SourceSystem

R = TypeVar("R", bound=Record)
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None  # None: this was the last page
    total: int | None = None
    # The cursors of the pages after this one, in order (the first is `next_cursor`),
    # when the vendor numbers its pages: a reader needing several may ask side by side.
    following: Sequence[str] = ()


@dataclass(frozen=True)
class RestInParts(Generic[T]):
    """A listing after its first page, in parts (`Connector.rest_in_parts`)."""

    kept: list[T]  # the first page's items no part holds, first
    cursors: Sequence[str]  # each part's first page, in the listing's order


class NumberedCursors(Sequence[str]):
    """The cursors `encode(n)` of pages `numbers`, each made only when read: a reader
    takes the few it needs of what may be hundreds."""

    def __init__(self, numbers: range, encode: Callable[[int], str]) -> None:
        self._numbers = numbers
        self._encode = encode

    def __len__(self) -> int:
        return len(self._numbers)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        if isinstance(index, slice):
            return tuple(map(self._encode, self._numbers[index]))
        return self._encode(self._numbers[index])


async def every_page(
    read: Callable[[str | None], Awaitable[Page[T]]], first: Page[T] | None = None
) -> list[T]:
    """Every item of a listing, `read(cursor)` giving each page (from `first` on, if it
    was read already). Where a page names the cursors of the pages after it, those are
    read side by side, then on from the last."""
    items: list[T] = []
    page = first if first is not None else await read(None)
    while True:
        items.extend(page.items)
        if page.next_cursor is None or not page.items:
            return items
        if page.following[:1] == (page.next_cursor,):
            rest = await asyncio.gather(*(read(cursor) for cursor in page.following))
            for more in rest[:-1]:
                items.extend(more.items)
            page = rest[-1]
        else:
            page = await read(page.next_cursor)


@dataclass(frozen=True)
class ChangeSet(Generic[R]):
    records: list[R]
    cursor: str  # pass back to get the changes after these
    deleted_ids: list[str] = field(default_factory=list)


class Connector(ABC):
    system: ClassVar[SourceSystem]
    entities: ClassVar[Mapping[str, type[Record]]]  # entity name -> record type
    batch_limit: ClassVar[int]  # ids per request the vendor allows

    @abstractmethod
    def __init__(
        self, settings: SourceSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        """`transport` replaces the network, for tests."""

    @abstractmethod
    async def get_many(self, entity: str, ids: Sequence[str]) -> list[Record | None]: ...

    @abstractmethod
    async def list(
        self,
        entity: str,
        filters: Mapping[str, Any] | None = None,
        *,
        page_size: int = 100,
        cursor: str | None = None,
    ) -> Page[Record]: ...

    def pages_after(
        self,
        entity: str,
        filters: Mapping[str, Any] | None,
        cursor: str | None,
        *,
        page_size: int,
        count: int,
    ) -> Sequence[str]:
        """The cursors of up to `count` pages after the page at `cursor`, named before
        that page is read: a reader that will need several asks for them side by side
        with the first instead of one level later. Only where the vendor numbers its
        pages or pages by offset (the cursors are then known in advance); () where the
        next cursor comes from a page's answer. A page past the end of the listing
        comes back empty, so this is for readers that expect to need the pages."""
        return ()

    def rest_in_parts(
        self, entity: str, filters: Mapping[str, Any] | None, first: Page[Record]
    ) -> RestInParts[Record] | None:
        """For a reader that will read a whole listing: what is left after its `first`
        page (read with `filters`), cut into disjoint parts to read side by side, each
        to its own end, instead of one page after another. Only where the vendor's order
        and filters let a page tell what it covered; None where the next cursor is the
        only way on."""
        return None

    @abstractmethod
    async def changes(self, entity: str, cursor: str | None) -> ChangeSet[Record]:
        """With cursor None: no records, and a cursor for 'now'."""

    @abstractmethod
    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Connector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def record_type(connector: Connector, entity: str) -> type[Record]:
    try:
        return connector.entities[entity]
    except KeyError:
        raise ValueError(f"{connector.system.value} has no entity {entity!r}") from None

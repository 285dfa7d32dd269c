"""The data loaders of one request: one per (source, entity, key), built lazily inside
the running event loop, so each level of a query costs one batched read per source.

Batch functions return results aligned with their keys, with an exception instance in
place of a key whose read failed, and fail loudly if an upstream answer does not line
up with what was asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from aiodataloader import DataLoader

from resolvers.cache import mark_retrieved
from resolvers.freshness import Freshness
from resolvers.upstream import Upstream, freeze
from sources.connector import Page
from sources.errors import SourceError
from sources.records import Record, SourceSystem

T = TypeVar("T")


class Loaders:
    """Nothing the standard loaders keep refers back to these loaders, and `release`
    forgets them all at the end of a request: a cycle through them (a batch function that
    refers to the request, say) would leave everything the request read to the cycle
    collector, which, collecting a few hundred requests' worth at a time, took ~10-15% of
    the gateway's CPU for a simple query and paused it ~40 ms each time."""

    def __init__(self, upstream: Upstream, freshness: Freshness) -> None:
        self.upstream = upstream
        self.freshness = freshness
        self._loop = asyncio.get_running_loop()
        self._loaders: dict[Hashable, DataLoader[Any, Any]] = {}
        self._caches: dict[Hashable, dict[Any, asyncio.Future[Any]]] = {}
        self._once: dict[Hashable, asyncio.Future[Any]] = {}
        # Records listings returned, not yet primed into their by-id loader (`listed`).
        self._listed: dict[tuple[SourceSystem, str], list[Record]] = {}

    def release(self) -> None:
        """Forget every loader and read of this request (it has been answered)."""
        self._loaders.clear()
        self._caches.clear()
        self._once.clear()
        self._listed.clear()

    def listed(self, system: SourceSystem, entity: str, records: Sequence[Record]) -> None:
        """Records a listing of this request returned: `by_id(system, entity)` and `peek`
        answer them without a read. They are primed when the by-id loader is first asked
        for, not here: a page's rows seldom ask for themselves by id, and priming made a
        future per row."""
        self._listed.setdefault((system, entity), []).extend(records)

    def by_id(self, system: SourceSystem, entity: str) -> DataLoader[str, Record | None]:
        """Records by their id in `system`; None where the source has no such record."""
        loader = self._loaders.get(("id", system, entity))
        if loader is None:
            upstream, observe = self.upstream, self.freshness.observe  # not `self`: see the class

            async def batch(ids: list[str]) -> list[Any]:
                results = await upstream.get_many(system, entity, ids, observe=observe)
                return _aligned(ids, results, f"{system.value} {entity} by id")

            loader = self.loader(("id", system, entity), batch)
        for record in self._listed.pop((system, entity), ()) if self._listed else ():
            loader.prime(record.id, record)
        return loader

    def by_key(
        self,
        system: SourceSystem,
        entity: str,
        key: str,
        filters: Mapping[str, Any] | None = None,
        *,
        batchable: bool = True,
    ) -> DataLoader[str, list[Record]]:
        """For each parent id, the `entity` records whose `key` is that id (children by a
        foreign key), read for all parents of a level in one list-valued filter.
        `batchable=False` for vendors whose filter takes one value: one read per parent."""
        identity = _by_key(system, entity, key, filters, batchable)
        existing = self._loaders.get(identity)
        if existing is not None:
            return existing

        upstream, observe = self.upstream, self.freshness.observe  # not `self`: see the class

        async def batch(parent_ids: list[str]) -> list[Any]:
            results = await upstream.children(
                system, entity, key, parent_ids, filters, batchable=batchable, observe=observe
            )
            return _aligned(parent_ids, results, f"{system.value} {entity} by {key}")

        return self.loader(identity, batch)

    def aggregate_by_id(
        self, system: SourceSystem, name: str, *, depends_on: frozenset[str]
    ) -> DataLoader[str, Any]:
        """A summary endpoint keyed by id (`receivables(customer_ids)`, ...)."""

        upstream, observe = self.upstream, self.freshness.observe  # not `self`: see the class

        async def batch(ids: list[str]) -> list[Any]:
            results = await upstream.aggregate_by_id(
                system, name, ids, depends_on=depends_on, observe=observe
            )
            return _aligned(ids, results, f"{system.value} {name}")

        return self.loader(("aggregate", system, name), batch)

    def pages(
        self, system: SourceSystem, entity: str, filters: Mapping[str, Any] | None = None
    ) -> Callable[[str | None, int], Awaitable[Page[Record]]]:
        """`fetch(vendor_cursor, page_size)`: one page of a listing, for a connection that
        maps onto the vendor's own paging (`connections.vendor_window`)."""

        async def fetch(cursor: str | None, size: int) -> Page[Record]:
            return await self.upstream.page(
                system,
                entity,
                filters,
                page_size=size,
                cursor=cursor,
                observe=self.freshness.observe,
            )

        return fetch

    def pages_ahead(
        self, system: SourceSystem, entity: str, filters: Mapping[str, Any] | None = None
    ) -> Callable[[str | None, int, int], Sequence[str]]:
        """`ahead(vendor_cursor, page_size, items)` for `pages(system, entity, filters)`:
        see `connections.vendor_window`."""

        def ahead(cursor: str | None, size: int, items: int) -> Sequence[str]:
            return self.upstream.pages_after(
                system, entity, filters, cursor, page_size=size, items=items
            )

        return ahead

    async def listing(
        self, system: SourceSystem, entity: str, filters: Mapping[str, Any] | None = None
    ) -> list[Record]:
        """Every page of a listing, read at most once per request."""
        return await shared(self.listing_read(system, entity, filters))

    def listing_read(
        self, system: SourceSystem, entity: str, filters: Mapping[str, Any] | None = None
    ) -> asyncio.Future[list[Record]]:
        """The request's one read of `listing(...)`, started now if it has not been."""
        return self.started(
            ("listing", system, entity, freeze(filters)),
            lambda: self.upstream.listing(system, entity, filters, observe=self.freshness.observe),
        )

    async def index(self, system: SourceSystem, entity: str, field: str) -> Mapping[str, Record]:
        """`listing(system, entity)` keyed by `field` (normalised: stripped, case-folded)."""
        return await shared(self.index_read(system, entity, field))

    def index_read(
        self, system: SourceSystem, entity: str, field: str
    ) -> asyncio.Future[Mapping[str, Record]]:
        """The request's one read of `index(...)`, started now if it has not been."""

        async def build() -> dict[str, Record]:
            index: dict[str, Record] = {}
            for record in await self.listing(system, entity):
                value = getattr(record, field)
                if value:
                    index.setdefault(normal_key(str(value)), record)
            return index

        return self.started(("index", system, entity, field), build)

    async def aggregate(
        self, system: SourceSystem, name: str, *args: Hashable, depends_on: frozenset[str]
    ) -> Any:
        return await shared(self.aggregate_read(system, name, *args, depends_on=depends_on))

    def aggregate_read(
        self, system: SourceSystem, name: str, *args: Hashable, depends_on: frozenset[str]
    ) -> asyncio.Future[Any]:
        """The request's one read of `aggregate(...)`, started now if it has not been."""
        return self.started(
            _aggregate_read(system, name, args),
            lambda: self.upstream.aggregate(
                system, name, *args, depends_on=depends_on, observe=self.freshness.observe
            ),
        )

    def peek_aggregate_read(
        self, system: SourceSystem, name: str, *args: Hashable
    ) -> tuple[bool, Any]:
        """(True, its result) when `aggregate_read(system, name, *args)` was started in
        this request and has succeeded; (False, None) otherwise, without starting it."""
        future = self._once.get(_aggregate_read(system, name, args))
        return (False, None) if future is None else settled(future)

    def peek(self, system: SourceSystem, entity: str, record_id: str) -> tuple[bool, Any]:
        """(True, record or None) when `by_id(system, entity)` has already read `record_id`
        in this request, without waiting; (False, None) when it has not, or the read
        failed (the caller then loads it the usual way, and sees the failure there)."""
        if self._listed and (system, entity) in self._listed:
            self.by_id(system, entity)  # primes what was listed
        return self._peek(("id", system, entity), record_id)

    def peek_children(
        self, system: SourceSystem, entity: str, key: str, parent_id: str
    ) -> tuple[bool, Any]:
        """`peek` for `by_key(system, entity, key)` (no filters): the children of `parent_id`."""
        return self._peek(_by_key(system, entity, key, None, True), parent_id)

    def peek_aggregate(self, system: SourceSystem, name: str, record_id: str) -> tuple[bool, Any]:
        """`peek` for `aggregate_by_id(system, name)`."""
        return self._peek(("aggregate", system, name), record_id)

    def peek_loaded(self, identity: Hashable, key: Any) -> tuple[bool, Any]:
        """`peek` for the request's `loader(identity, ...)`."""
        return self._peek(identity, key)

    def _peek(self, identity: Hashable, key: Any) -> tuple[bool, Any]:
        future = self._caches.get(identity, {}).get(key)
        return (False, None) if future is None else settled(future)

    async def once(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        """`make()` at most once per request for `key`; concurrent callers share it."""
        return await shared(self.started(key, make))

    def started(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """The request's one run of `make()` for `key`, started now if it has not been.
        Awaiting several such reads one after another waits as long as gathering them
        would, without a task per await."""
        future = self._once.get(key)
        if future is None:
            future = self._once[key] = asyncio.ensure_future(make())
            future.add_done_callback(mark_retrieved)
        return future

    def loader(
        self, identity: Hashable, batch: Callable[[list[Any]], Awaitable[list[Any]]]
    ) -> DataLoader[Any, Any]:
        """The request's loader for `identity`, made with `batch` the first time: for
        batched reads the standard loaders do not cover. `batch` must return results
        aligned with its keys (an exception instance for a key that failed)."""

        loader = self._loaders.get(identity)
        if loader is None:

            async def checked(keys: list[Any]) -> list[Any]:
                return _aligned(keys, await batch(keys), repr(identity))

            cache: dict[Any, asyncio.Future[Any]] = {}
            loader = DataLoader(checked, loop=self._loop, cache_map=cache)
            self._loaders[identity] = loader
            self._caches[identity] = cache
        return loader


def _aggregate_read(system: SourceSystem, name: str, args: tuple[Hashable, ...]) -> Hashable:
    """The key of the request's one `aggregate_read(system, name, *args)`."""
    return ("aggregate", system, name, args)


def settled(read: asyncio.Future[Any]) -> tuple[bool, Any]:
    """(True, its result) when `read` has succeeded; (False, None) while it runs, or when
    it failed (a caller then awaits it the usual way, and sees the failure there)."""
    if not read.done() or read.cancelled() or read.exception() is not None:
        return False, None
    return True, read.result()


def _by_key(
    system: SourceSystem,
    entity: str,
    key: str,
    filters: Mapping[str, Any] | None,
    batchable: bool,
) -> Hashable:
    return ("key", system, entity, key, freeze(filters) if filters else (), batchable)


async def shared(read: asyncio.Future[T]) -> T:
    """A shared read's result; a caller that gives up does not cancel it for the others."""
    if read.done():
        return read.result()
    return await asyncio.shield(read)


def normal_key(value: str) -> str:
    return value.strip().casefold()


def _aligned(keys: Sequence[Any], results: Sequence[Any], what: str) -> list[Any]:
    if len(results) != len(keys):
        raise AssertionError(f"{what}: {len(results)} results for {len(keys)} keys")
    return list(results)


async def settle(*awaitables: Awaitable[Any]) -> list[Any]:
    """Await all, then raise the first failure: unlike a bare gather, no sibling is left
    running unobserved when one fails."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


async def settle_each(*awaitables: Awaitable[Any]) -> list[Any]:
    """Await all; a `SourceError` stays in its slot for the caller to report, any other
    failure is raised."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, SourceError):
            raise result
    return results

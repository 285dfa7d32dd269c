"""Every read the experience API makes goes through `Upstream`: the connectors, the
shared cache in front of them, and what the gateway knows about each source's health.

Shapes of read, each cached under its own `Namespace` kind:

- `get_many`   records by id (the connector chunks at its batch limit);
- `children`   records by a foreign key for many parents at once: the parents' ids go in
               one list-valued filter, chunked at the batch limit, one request per page;
- `page`       one page of a listing, for connections that map onto vendor paging;
- `listing`    every page of a listing: reference data for reverse look-ups, scans;
- `aggregate_by_id` / `aggregate`  the vendors' summary endpoints.

Each result is reported to the `observe` callback with its age, so a request can tell
the caller how fresh its data is.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any, TypeVar

from resolvers.cache import Cached, Namespace, SourceCache
from sources import registry
from sources.connector import Connector, Page, every_page
from sources.errors import SourceError, SourceUnavailable
from sources.http import SourceClient
from sources.records import Record, SourceSystem

T = TypeVar("T")

Observe = Callable[[SourceSystem, float, bool], None]  # system, fetched_at, stale
FrozenFilters = tuple[tuple[str, Hashable], ...]


def vendor_page_max(system: SourceSystem) -> int:
    """The most records the vendor returns in one page; some refuse a request for more."""
    return registry.system(system.value).page_max


def _ignore(_system: SourceSystem, _fetched_at: float, _stale: bool) -> None:
    return None


@dataclass(frozen=True)
class UpstreamCall:
    """One connector call (not a cache hit), for instrumentation."""

    system: SourceSystem
    entity: str
    kind: str
    size: int  # ids or parents asked for; 0 for pages and aggregates
    started: float
    ended: float
    error: str | None


@dataclass
class SourceState:
    system: SourceSystem
    configured: bool
    last_success: float | None = None  # wall-clock seconds
    last_error: str | None = None
    last_error_code: str | None = None
    last_error_at: float | None = None
    consecutive_failures: int = 0
    breaker: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "configured": self.configured,
            "breaker": self.breaker,
            "lastSuccess": self.last_success,
            "lastError": self.last_error,
            "lastErrorCode": self.last_error_code,
            "lastErrorAt": self.last_error_at,
            "consecutiveFailures": self.consecutive_failures,
        }


@dataclass
class _Health:
    state: SourceState
    clients: list[SourceClient] = field(default_factory=list)


def freeze(filters: Mapping[str, Any] | None) -> FrozenFilters:
    """A hashable, order-independent form of list filters (a cache key part)."""
    if not filters:
        return ()
    items: list[tuple[str, Hashable]] = []
    for name, value in sorted(filters.items()):
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            items.append((name, tuple(sorted(str(v) for v in value))))
        elif isinstance(value, date | datetime):
            items.append((name, value.isoformat()))
        else:
            items.append((name, value))
    return tuple(items)


class Upstream:
    def __init__(
        self,
        connectors: Mapping[SourceSystem, Connector],
        cache: SourceCache,
        *,
        batch_sizes: Mapping[SourceSystem, int] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.connectors = dict(connectors)
        self.cache = cache
        self._batch_sizes = dict(batch_sizes or {})
        self._wall = wall_clock
        self._listeners: list[Callable[[UpstreamCall], None]] = []
        self._health = {
            system: _Health(
                SourceState(system, configured=system in self.connectors),
                _source_clients(self.connectors[system]) if system in self.connectors else [],
            )
            for system in SourceSystem
        }

    @property
    def clock(self) -> Callable[[], float]:
        return self.cache.clock

    def add_listener(self, listener: Callable[[UpstreamCall], None]) -> None:
        """Call `listener` after every connector call (benchmarks, tests, metrics)."""
        self._listeners.append(listener)

    def connector(self, system: SourceSystem) -> Connector:
        try:
            return self.connectors[system]
        except KeyError:
            raise SourceUnavailable(system, "not configured in this gateway") from None

    def chunk_size(self, system: SourceSystem) -> int:
        limit = self.connector(system).batch_limit
        configured = self._batch_sizes.get(system)
        return max(1, min(limit, configured) if configured else limit)

    def clients(self) -> list[SourceClient]:
        """Every connector's HTTP clients (to watch their calls)."""
        return [client for health in self._health.values() for client in health.clients]

    def states(self) -> dict[SourceSystem, SourceState]:
        for health in self._health.values():
            states = [client.breaker.state for client in health.clients]
            health.state.breaker = _worst(states) if states else None
        return {system: health.state for system, health in self._health.items()}

    async def probe(self, system: SourceSystem) -> bool:
        """One small uncached read, to learn whether the source answers now (the outcome
        lands in its state)."""
        connector = self.connector(system)
        entity = next(iter(connector.entities))
        try:
            await self._call(
                system, entity, "probe", 0, lambda: connector.list(entity, {}, page_size=1)
            )
        except SourceError:
            return False
        return True

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.connectors.values()))

    # --- reads -------------------------------------------------------------------------

    async def get_many(
        self, system: SourceSystem, entity: str, ids: Sequence[str], observe: Observe = _ignore
    ) -> list[Record | SourceError | None]:
        namespace = Namespace(system, entity)

        async def load(missing: Sequence[Hashable]) -> list[Record | SourceError | None]:
            wanted = [str(i) for i in missing]
            records = await self._call(
                system,
                entity,
                "get_many",
                len(wanted),
                lambda: self.connector(system).get_many(entity, wanted),
            )
            if len(records) != len(wanted):
                raise AssertionError(
                    f"{system.value} get_many({entity}) returned {len(records)} records "
                    f"for {len(wanted)} ids"
                )
            return list(records)

        return _unwrap(system, await self._fetch_many(namespace, ids, load), observe)

    async def children(
        self,
        system: SourceSystem,
        entity: str,
        key: str,
        parent_ids: Sequence[str],
        filters: Mapping[str, Any] | None = None,
        *,
        batchable: bool = True,
        observe: Observe = _ignore,
    ) -> list[list[Record] | SourceError]:
        """For each parent id, the `entity` records whose `key` field equals it."""
        frozen = freeze(filters)
        namespace = Namespace(system, entity, f"children:{key}:{frozen!r}")

        async def load(missing: Sequence[Hashable]) -> list[list[Record] | SourceError]:
            wanted = [str(i) for i in missing]
            size = self.chunk_size(system) if batchable else 1
            chunks = [wanted[i : i + size] for i in range(0, len(wanted), size)]
            results = await asyncio.gather(
                *(
                    self._children_chunk(system, entity, key, chunk, filters, batchable)
                    for chunk in chunks
                ),
                return_exceptions=True,
            )
            out: list[list[Record] | SourceError] = []
            for chunk, result in zip(chunks, results, strict=True):
                if isinstance(result, SourceError):
                    out.extend(result for _ in chunk)
                elif isinstance(result, BaseException):
                    raise result
                else:
                    out.extend(result.get(parent, []) for parent in chunk)
            return out

        return _unwrap(system, await self._fetch_many(namespace, parent_ids, load), observe)

    async def _children_chunk(
        self,
        system: SourceSystem,
        entity: str,
        key: str,
        chunk: list[str],
        filters: Mapping[str, Any] | None,
        batchable: bool,
    ) -> dict[str, list[Record]]:
        value: Any = chunk if batchable else chunk[0]
        records = await self._list_all(system, entity, {**(filters or {}), key: value}, len(chunk))
        grouped: dict[str, list[Record]] = defaultdict(list)
        for record in records:
            grouped[str(getattr(record, key))].append(record)
        return grouped

    async def page(
        self,
        system: SourceSystem,
        entity: str,
        filters: Mapping[str, Any] | None,
        *,
        page_size: int,
        cursor: str | None,
        observe: Observe = _ignore,
    ) -> Page[Record]:
        namespace = Namespace(system, entity, "page")
        page_size = min(page_size, vendor_page_max(system))
        item = (freeze(filters), page_size, cursor)

        async def load() -> Page[Record]:
            return await self._call(
                system,
                entity,
                "page",
                0,
                lambda: self.connector(system).list(
                    entity, dict(filters or {}), page_size=page_size, cursor=cursor
                ),
            )

        return _unwrap_one(system, await self.cache.fetch_one(namespace, item, load), observe)

    def pages_after(
        self,
        system: SourceSystem,
        entity: str,
        filters: Mapping[str, Any] | None,
        cursor: str | None,
        *,
        page_size: int,
        items: int,
    ) -> Sequence[str]:
        """The cursors of the pages after `cursor` that `items` items from it take, as
        `page` would ask for them, where the vendor lets them be named in advance."""
        page_size = min(page_size, vendor_page_max(system))
        count = math.ceil(items / page_size) - 1
        if count <= 0:
            return ()
        try:
            return self.connector(system).pages_after(
                entity, dict(filters or {}), cursor, page_size=page_size, count=count
            )
        except ValueError:
            return ()  # a cursor the connector cannot read: reading the page says so

    async def listing(
        self,
        system: SourceSystem,
        entity: str,
        filters: Mapping[str, Any] | None = None,
        *,
        observe: Observe = _ignore,
    ) -> list[Record]:
        """Every record of a listing, all pages: reference data for reverse look-ups
        (users by email, projects by code) and windowed scans."""
        namespace = Namespace(system, entity, "listing")

        async def load() -> list[Record]:
            return await self._list_all(system, entity, dict(filters or {}), 0)

        return _unwrap_one(
            system, await self.cache.fetch_one(namespace, freeze(filters), load), observe
        )

    async def aggregate_by_id(
        self,
        system: SourceSystem,
        name: str,
        ids: Sequence[str],
        *,
        depends_on: frozenset[str],
        observe: Observe = _ignore,
    ) -> list[Any | SourceError]:
        """`connector.<name>(ids) -> {id: value}`, one call per chunk; None where absent."""
        namespace = Namespace(system, name, "aggregate", depends_on)

        async def load(missing: Sequence[Hashable]) -> list[Any]:
            wanted = [str(i) for i in missing]
            size = self.chunk_size(system)
            chunks = [wanted[i : i + size] for i in range(0, len(wanted), size)]
            method = getattr(self.connector(system), name)
            results = await asyncio.gather(
                *(
                    self._call(system, name, "aggregate", len(c), partial(method, c))
                    for c in chunks
                ),
                return_exceptions=True,
            )
            out: list[Any] = []
            for chunk, result in zip(chunks, results, strict=True):
                if isinstance(result, SourceError):
                    out.extend(result for _ in chunk)
                elif isinstance(result, BaseException):
                    raise result
                else:
                    out.extend(result.get(item) for item in chunk)
            return out

        return _unwrap(system, await self._fetch_many(namespace, ids, load), observe)

    async def aggregate(
        self,
        system: SourceSystem,
        name: str,
        *args: Hashable,
        depends_on: frozenset[str],
        observe: Observe = _ignore,
    ) -> Any:
        """`connector.<name>(*args)`, whatever it returns, cached as one item."""
        namespace = Namespace(system, name, "aggregate", depends_on)

        async def load() -> Any:
            method = getattr(self.connector(system), name)
            return await self._call(system, name, "aggregate", 0, lambda: method(*args))

        return _unwrap_one(system, await self.cache.fetch_one(namespace, args, load), observe)

    # --- plumbing ----------------------------------------------------------------------

    async def _fetch_many(
        self,
        namespace: Namespace,
        items: Sequence[str],
        load: Callable[[Sequence[Hashable]], Awaitable[Sequence[Any]]],
    ) -> list[Cached[Any] | SourceError]:
        if not items:
            return []
        return await self.cache.fetch_many(namespace, items, load)

    async def _list_all(
        self, system: SourceSystem, entity: str, filters: Mapping[str, Any], size: int
    ) -> list[Record]:
        connector = self.connector(system)
        size_cap = vendor_page_max(system)

        async def read(cursor: str | None) -> Page[Record]:
            list_page = partial(connector.list, entity, filters, page_size=size_cap, cursor=cursor)
            return await self._call(system, entity, "list", size, list_page)

        first = await read(None)
        rest = connector.rest_in_parts(entity, filters, first) if first.next_cursor else None
        if rest is None:
            return await every_page(read, first)

        async def part(cursor: str) -> list[Record]:
            return await every_page(read, await read(cursor))

        parts = await asyncio.gather(*(part(cursor) for cursor in rest.cursors))
        return [*rest.kept, *itertools.chain.from_iterable(parts)]

    async def _call(
        self,
        system: SourceSystem,
        entity: str,
        kind: str,
        size: int,
        call: Callable[[], Awaitable[T]],
    ) -> T:
        state = self._health[system].state
        started = time.monotonic()
        error: SourceError | None = None
        try:
            result = await call()
        except SourceError as failure:
            error = failure
            state.consecutive_failures += 1
            state.last_error, state.last_error_code = str(failure), failure.code
            state.last_error_at = self._wall()
            raise
        else:
            state.consecutive_failures = 0
            state.last_success = self._wall()
            return result
        finally:
            if self._listeners:
                record = UpstreamCall(
                    system,
                    entity,
                    kind,
                    size,
                    started,
                    time.monotonic(),
                    error.code if error else None,
                )
                for listener in self._listeners:
                    listener(record)


def _unwrap(
    system: SourceSystem, results: list[Cached[Any] | SourceError], observe: Observe
) -> list[Any]:
    out: list[Any] = []
    for result in results:
        if isinstance(result, SourceError):
            out.append(result)
        else:
            observe(system, result.fetched_at, result.stale)
            out.append(result.value)
    return out


def _unwrap_one(system: SourceSystem, result: Cached[T], observe: Observe) -> T:
    observe(system, result.fetched_at, result.stale)
    return result.value


_BREAKER_ORDER = {"closed": 0, "half-open": 1, "open": 2}


def _worst(states: list[str]) -> str:
    return max(states, key=lambda s: _BREAKER_ORDER.get(s, 0))


def _source_clients(connector: Connector) -> list[SourceClient]:
    # The Connector contract does not expose its HTTP clients; connectors keep them as
    # attributes, which is enough to report their breakers' state.
    return [value for value in vars(connector).values() if isinstance(value, SourceClient)]

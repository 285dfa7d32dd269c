"""The shared read cache behind every request's data loaders.

One bounded cache (cachetools `TLRUCache`) for the whole gateway, keyed by a
`Namespace` (which source, which entity, what kind of read) and an item (an id, a
parent id, a page cursor, ...). Each entry lives for its entity's TTL
(`SourceSettings.cache_ttl`; entities without one are not cached), plus the
stale-if-error window during which an expired entry may still be served, marked
stale, when its source fails.

Identical upstream reads in flight at the same time are shared: the first caller
starts one task, later callers await it (shielded, so one caller giving up does not
cancel the read for the others).

`invalidate(system, entity, ids)` is the hook change events call; `on_lookup`, when set,
is told how each look-up was served (for metrics).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from cachetools import TLRUCache

from sources.errors import SourceError, SourceUnavailable
from sources.records import SourceSystem

T = TypeVar("T")

ID_KIND = "id"


@dataclass(frozen=True)
class CachePolicy:
    maxsize: int = 50_000  # entries, across all sources
    stale_if_error: float = 0.0  # seconds past its TTL an entry may serve a failing source
    # Identical reads in flight at once share one upstream call. Off only to compare with
    # gateways that have no such sharing, doing exactly the upstream work they do.
    share_in_flight: bool = True


class Namespace(NamedTuple):
    """What a cached item is: `kind` "id" items are records by id; any other kind
    (children by a foreign key, a page, a whole listing, an aggregate) is dropped
    whenever its entity, or an entity in `depends_on`, changes.

    A named tuple rather than a frozen dataclass: every look-up hashes and compares it
    (inside the key `(namespace, item)`), and a tuple does both in C, where a
    dataclass runs its generated `__hash__` and `__eq__` in Python each time."""

    system: SourceSystem
    entity: str  # the entity whose TTL applies
    kind: str = ID_KIND
    depends_on: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Cached(Generic[T]):
    value: T
    fetched_at: float  # on the cache's clock
    stale: bool = False


Key = tuple[Namespace, Hashable]
# namespace, items fresh in the cache, items shared with a read in flight, items read now
Lookup = Callable[[Namespace, int, int, int], None]


@dataclass(frozen=True)
class _Entry:
    value: Any
    fetched_at: float
    ttl: float
    keep: float  # ttl + stale window: when the entry leaves the cache


class SourceCache:
    def __init__(
        self,
        ttls: Mapping[SourceSystem, Mapping[str, float]],
        policy: CachePolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or CachePolicy()
        self.clock = clock
        self.on_lookup: Lookup | None = None
        self._ttls = {system: dict(by_entity) for system, by_entity in ttls.items()}
        self._entries: TLRUCache[Key, _Entry] = TLRUCache(
            maxsize=self.policy.maxsize,
            ttu=lambda _key, entry, now: now + entry.keep,
            timer=clock,
        )
        self._inflight: dict[Key, tuple[asyncio.Task[Any], int]] = {}
        # (system, entity) -> keys of non-id entries to drop when that entity changes
        self._dependents: dict[tuple[SourceSystem, str], set[Key]] = {}
        # (system, entity) -> bumped on invalidation, so a read that was already in
        # flight does not store what the invalidation meant to drop
        self._generations: dict[tuple[SourceSystem, str], int] = {}

    def ttl(self, namespace: Namespace) -> float:
        return self._ttls.get(namespace.system, {}).get(namespace.entity, 0.0)

    def __len__(self) -> int:
        return len(self._entries)

    # --- reads -----------------------------------------------------------------------

    async def fetch_one(
        self, namespace: Namespace, item: Hashable, load: Callable[[], Awaitable[T]]
    ) -> Cached[T]:
        """The cached value for `item`, or `load()` it (shared with identical loads in
        flight). Raises the load's `SourceError` unless a stale entry may stand in."""

        async def load_one(_: Sequence[Hashable]) -> list[T | SourceError]:
            return [await load()]

        (result,) = await self.fetch_many(namespace, [item], load_one)
        if isinstance(result, BaseException):
            raise result
        return result

    async def fetch_many(
        self,
        namespace: Namespace,
        items: Sequence[Hashable],
        load_missing: Callable[[Sequence[Hashable]], Awaitable[Sequence[T | SourceError]]],
    ) -> list[Cached[T] | SourceError]:
        """Values aligned with `items`: fresh entries from the cache, the rest from
        reads already in flight or from one `load_missing(missing_items)` call, which
        must return results aligned with its argument (a `SourceError` in place of an
        item that failed). A failed item is served from a stale entry where allowed."""
        results: list[Cached[T] | SourceError | None] = [None] * len(items)
        waiting: list[tuple[int, asyncio.Task[Any], int]] = []
        missing: list[int] = []
        now = self.clock()
        ttl = self.ttl(namespace)
        stored = ttl > 0  # an entity without a TTL is never stored: nothing to look up
        for index, item in enumerate(items):
            key = (namespace, item)
            entry = self._entries.get(key) if stored else None
            if entry is not None and now - entry.fetched_at <= entry.ttl:
                results[index] = Cached(entry.value, entry.fetched_at)
            elif self.policy.share_in_flight and key in self._inflight:
                task, position = self._inflight[key]
                waiting.append((index, task, position))
            else:
                missing.append(index)
        if self.on_lookup is not None:
            shared = len(waiting)
            self.on_lookup(namespace, len(items) - shared - len(missing), shared, len(missing))
        if missing:
            wanted = [items[i] for i in missing]
            generation = self._generation(namespace)  # now, before any await
            load = self._load(namespace, wanted, load_missing, ttl, generation)
            if not self.policy.share_in_flight:
                # Nobody else will wait for this read: no task to share it, no shield.
                try:
                    values: Sequence[Cached[T] | SourceError] = await load
                except SourceError as error:
                    values = [error] * len(wanted)
                for index, loaded in zip(missing, values, strict=True):
                    results[index] = self._served(namespace, items[index], loaded)
            else:
                task = asyncio.ensure_future(load)
                task.add_done_callback(mark_retrieved)
                for position, item in enumerate(wanted):
                    self._inflight[(namespace, item)] = (task, position)
                waiting.extend((index, task, position) for position, index in enumerate(missing))
        for index, task, position in waiting:
            try:
                loaded = (await asyncio.shield(task))[position]
            except SourceError as error:
                loaded = error
            results[index] = self._served(namespace, items[index], loaded)
        return [r for r in results if r is not None]

    def _served(
        self, namespace: Namespace, item: Hashable, loaded: Cached[T] | SourceError
    ) -> Cached[T] | SourceError:
        """What a read gives its caller: its value, or for a failure a stale entry where
        one may stand in."""
        return (
            self._stale_or(namespace, item, loaded) if isinstance(loaded, SourceError) else loaded
        )

    async def _load(
        self,
        namespace: Namespace,
        items: list[Hashable],
        load_missing: Callable[[Sequence[Hashable]], Awaitable[Sequence[T | SourceError]]],
        ttl: float,
        generation: int,
    ) -> list[Cached[T] | SourceError]:
        try:
            values = list(await load_missing(items))
        finally:
            for item in items:
                self._inflight.pop((namespace, item), None)
        if len(values) != len(items):
            raise AssertionError(
                f"{namespace.system.value} {namespace.entity}: loaded {len(values)} values "
                f"for {len(items)} keys"
            )
        fetched_at = self.clock()
        storable = ttl > 0 and generation == self._generation(namespace)
        out: list[Cached[T] | SourceError] = []
        for item, value in zip(items, values, strict=True):
            if isinstance(value, SourceError):
                out.append(value)
                continue
            if storable:
                self._store((namespace, item), value, fetched_at, ttl)
            out.append(Cached(value, fetched_at))
        return out

    def _stale_or(
        self, namespace: Namespace, item: Hashable, error: SourceError
    ) -> Cached[Any] | SourceError:
        if not isinstance(error, SourceUnavailable):  # only when the source is down
            return error
        entry = self._entries.get((namespace, item))
        if entry is None:
            return error
        return Cached(entry.value, entry.fetched_at, stale=True)

    def _generation(self, namespace: Namespace) -> int:
        return sum(
            self._generations.get((namespace.system, entity), 0)
            for entity in (namespace.entity, *namespace.depends_on)
        )

    def _store(self, key: Key, value: Any, fetched_at: float, ttl: float) -> None:
        namespace = key[0]
        self._entries[key] = _Entry(value, fetched_at, ttl, ttl + self.policy.stale_if_error)
        if namespace.kind == ID_KIND:
            return
        for entity in {namespace.entity, *namespace.depends_on}:
            keys = self._dependents.setdefault((namespace.system, entity), set())
            keys.add(key)
            if len(keys) > max(1024, 2 * len(self._entries)):  # drop keys evicted meanwhile
                keys.intersection_update(self._entries.keys())

    # --- invalidation ----------------------------------------------------------------

    def invalidate(
        self, system: SourceSystem, entity: str, ids: Sequence[str] | None = None
    ) -> int:
        """Forget what `system` said about `entity`: the records with `ids` (all of
        them when None) and every listing, child list or aggregate built on that
        entity. Returns how many entries were dropped."""
        self._generations[(system, entity)] = self._generations.get((system, entity), 0) + 1
        doomed: list[Key]
        if ids is None:
            doomed = [
                k
                for k in list(self._entries.keys())
                if k[0].system == system and k[0].entity == entity
            ]
        else:
            by_id = Namespace(system, entity)
            doomed = [(by_id, record_id) for record_id in ids]
        dropped = 0
        doomed.extend(self._dependents.pop((system, entity), ()))
        for key in doomed:
            if self._entries.pop(key, None) is not None:
                dropped += 1
        return dropped

    def clear(self) -> None:
        self._entries.clear()
        self._dependents.clear()


def mark_retrieved(task: asyncio.Future[Any]) -> None:
    # Every waiter may have given up (cancelled); the failure is still reported to
    # whoever awaited, so do not let asyncio log it a second time.
    if not task.cancelled():
        task.exception()

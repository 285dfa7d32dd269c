"""Reference snapshots: every user or project, read page by page, kept for the entity's TTL.

Harvest has no id-list filter. Users and projects are few (hundreds to low thousands),
so reading them all at 2,000 a page is cheaper than one request per id, and within the
TTL a read by id costs no request at all.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass

from sources.records import Record


def pages_for(total: int, page_size: int) -> int:
    """Requests a full read of `total` records costs (one even when there are none)."""
    return max(1, math.ceil(total / page_size))


@dataclass(frozen=True)
class Snapshot:
    records: dict[str, Record]  # by id
    taken_at: float


class SnapshotCache:
    """The latest snapshot while younger than `ttl` seconds (a TTL of 0 keeps nothing).
    Hold `lock` while taking one, so concurrent readers wait for it instead of reading
    everything again."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self._clock = clock
        self._current: Snapshot | None = None
        self.total: int | None = None  # the population at the last full read
        self.lock = asyncio.Lock()

    def fresh(self) -> Snapshot | None:
        current = self._current
        if current is None or self._clock() - current.taken_at >= self.ttl:
            return None
        return current

    def store(self, records: dict[str, Record]) -> Snapshot:
        self._current = Snapshot(records, self._clock())
        self.total = len(records)
        return self._current

    def clear(self) -> None:
        self._current = None

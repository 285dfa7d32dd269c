"""The reference snapshot: every worker, read page by page, kept for the worker TTL.

Workday has no batch-by-id, so reading many workers costs either one request per id or
one request per page of the whole population. `pages_for` and `request_bound` are that
arithmetic; `SnapshotCache` keeps the last full read so repeated reads cost nothing.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from sources.hcm.mapping import digest
from sources.records import Worker


def pages_for(total: int, page_size: int) -> int:
    """Requests a full read of `total` workers costs (one even for an empty tenant)."""
    return max(1, math.ceil(total / page_size))


def request_bound(n_ids: int, total: int, page_size: int) -> int:
    """Most data requests a read of `n_ids` distinct ids may cost: one per id, or a full
    read, whichever is fewer."""
    if n_ids <= 0:
        return 0
    return min(n_ids, pages_for(total, page_size))


@dataclass(frozen=True)
class Snapshot:
    workers: dict[str, Worker]  # by id, in the vendor's order
    taken_at: float

    @cached_property
    def digests(self) -> dict[str, str]:
        return {worker_id: digest(worker) for worker_id, worker in self.workers.items()}


class SnapshotCache:
    """The latest snapshot while younger than `ttl` seconds. Hold `lock` while building
    one, so concurrent readers wait for it instead of reading the population again."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self._clock = clock
        self._current: Snapshot | None = None
        self.lock = asyncio.Lock()

    def fresh(self) -> Snapshot | None:
        current = self._current
        if current is None or self._clock() - current.taken_at >= self.ttl:
            return None
        return current

    def store(self, workers: dict[str, Worker]) -> Snapshot:
        self._current = Snapshot(workers, self._clock())
        return self._current

    def clear(self) -> None:
        self._current = None

"""How old the data behind one response is, per source: the `extensions.freshness` entry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sources.records import SourceSystem


class Freshness:
    """Collects, per source, the oldest data a request used and whether any was stale."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._oldest: dict[SourceSystem, float] = {}
        self._stale: set[SourceSystem] = set()

    def observe(self, system: SourceSystem, fetched_at: float, stale: bool) -> None:
        oldest = self._oldest.get(system)
        if oldest is None or fetched_at < oldest:
            self._oldest[system] = fetched_at
        if stale:
            self._stale.add(system)

    def report(self) -> dict[str, dict[str, Any]]:
        """{"CRM": {"ageSeconds": 12.5, "stale": false}, ...} for the sources used."""
        now = self._clock()
        return {
            system.value: {
                "ageSeconds": round(max(0.0, now - fetched_at), 3),
                "stale": system in self._stale,
            }
            for system, fetched_at in sorted(self._oldest.items(), key=lambda kv: kv[0].value)
        }

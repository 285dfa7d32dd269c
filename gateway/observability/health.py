"""Each source's health as the gateway sees it: what `Query.integrationHealth` answers and
what the exceptions engine reads to raise `SOURCE_DEGRADED`.

`SourceHealthTracker` keeps, per source, a bounded rolling window of what its calls did
(latency of each attempt, outcome of each logical call, retries), the last success, the
vendor's quota as its headers report it, and change capture's progress. `report(system)`
turns that into a `SourceHealthReport`:

- DOWN      the circuit breaker is open, or the last `DOWN_AFTER` calls all failed;
- DEGRADED  the breaker is probing (half-open), the last call failed, the source
            throttled us within `THROTTLED_FOR_S`, or less than `LOW_QUOTA` of its quota
            is left;
- UP        otherwise (also before any call: nothing says it is not).

Status follows the latest evidence so that a recovered source reads UP at once; the
window's error rate and retries tell how the last minutes went.
"""

from __future__ import annotations

import math
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from sources.records import SourceSystem

DOWN_AFTER = 3  # consecutive failed calls
THROTTLED_FOR_S = 60.0
LOW_QUOTA = 0.1
MAX_SAMPLES = 4096  # per source and kind of sample: bounds memory however busy the source


class SourceStatus(Enum):
    UP = "UP"
    DEGRADED = "DEGRADED"
    DOWN = "DOWN"


@dataclass(frozen=True)
class SourceHealthReport:
    system: SourceSystem
    status: SourceStatus
    breaker: str  # closed | open | half-open
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    error_rate: float  # failed calls / calls, over the window
    retries: int  # over the window
    last_success_at: datetime | None
    last_change_captured_at: datetime | None
    capture_lag_seconds: float | None
    quota_remaining: float | None  # share of the vendor's quota left, where it says


class _Window:
    """(monotonic time, value) samples younger than `span` seconds, at most MAX_SAMPLES."""

    def __init__(self, span: float) -> None:
        self.span = span
        self.samples: deque[tuple[float, float]] = deque(maxlen=MAX_SAMPLES)

    def add(self, now: float, value: float) -> None:
        self.samples.append((now, value))

    def values(self, now: float) -> list[float]:
        while self.samples and now - self.samples[0][0] > self.span:
            self.samples.popleft()
        return [value for _, value in self.samples]


@dataclass
class _Capture:
    scanned_at: float | None = None  # wall clock of the start of the last good scan
    changed_at: float | None = None  # wall clock of the last scan that saw a change


@dataclass
class _Source:
    latency: _Window
    calls: _Window  # 1.0 for a failed call, 0.0 for a good one
    retries: _Window
    consecutive_failures: int = 0
    last_success: float | None = None  # wall clock
    throttled_at: float | None = None  # monotonic
    quota: float | None = None
    capture: dict[str, _Capture] = field(default_factory=dict)  # by entity


class SourceHealthTracker:
    def __init__(
        self,
        systems: Mapping[SourceSystem, Callable[[], str | None]],
        *,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """`systems` maps each configured source to a function telling its breaker's
        state now ("closed", "open", "half-open"; None when it has no HTTP client)."""
        self._breakers = dict(systems)
        # Whether this gateway runs change capture now: with several replicas only one
        # scans, and a replica that stopped (a standby again) must not report a lag that
        # only grows. Set by the gateway while its events service runs.
        self.capturing: Callable[[], bool] = lambda: True
        self._clock = clock
        self._wall = wall_clock
        self._sources = {
            system: _Source(_Window(window_s), _Window(window_s), _Window(window_s))
            for system in systems
        }

    @property
    def systems(self) -> list[SourceSystem]:
        return list(self._sources)

    # --- what calls and change scans report ----------------------------------------

    def attempt(
        self, system: SourceSystem, seconds: float, headers: Mapping[str, str] | None
    ) -> None:
        source = self._sources.get(system)
        if source is None:
            return
        source.latency.add(self._clock(), seconds)
        if headers is not None:
            quota = quota_left(headers)
            if quota is not None:
                source.quota = quota

    def retried(self, system: SourceSystem, error: str) -> None:
        source = self._sources.get(system)
        if source is None:
            return
        now = self._clock()
        source.retries.add(now, 1.0)
        if error == "RATE_LIMITED":
            source.throttled_at = now

    def call(self, system: SourceSystem, error: str | None) -> None:
        source = self._sources.get(system)
        if source is None:
            return
        now = self._clock()
        source.calls.add(now, 0.0 if error is None else 1.0)
        if error is None:
            source.consecutive_failures = 0
            source.last_success = self._wall()
            return
        source.consecutive_failures += 1
        if error == "RATE_LIMITED":
            source.throttled_at = now

    def scanned(self, system: SourceSystem, entity: str, started_at: float, changes: int) -> None:
        """A change scan of `entity` that began at wall time `started_at` succeeded
        and saw `changes` changed or deleted records."""
        source = self._sources.get(system)
        if source is None:
            return
        capture = source.capture.setdefault(entity, _Capture())
        capture.scanned_at = started_at
        if changes:
            capture.changed_at = self._wall()

    # --- what is read ------------------------------------------------------------------

    def capture_lag(self, system: SourceSystem) -> float | None:
        """Seconds since the least recently captured entity of `system` was last scanned
        successfully: how old a change may be before the gateway sees it."""
        source = self._sources.get(system)
        if source is None or not source.capture or not self.capturing():
            return None
        scans = [c.scanned_at for c in source.capture.values()]
        if any(s is None for s in scans):
            return None
        oldest = min(s for s in scans if s is not None)
        return max(0.0, self._wall() - oldest)

    def capture_lags(self) -> dict[tuple[SourceSystem, str], float]:
        """Seconds since each (source, entity) was last scanned successfully (none while
        this gateway does not run capture)."""
        if not self.capturing():
            return {}
        now = self._wall()
        return {
            (system, entity): max(0.0, now - capture.scanned_at)
            for system, source in self._sources.items()
            for entity, capture in source.capture.items()
            if capture.scanned_at is not None
        }

    def breaker(self, system: SourceSystem) -> str:
        probe = self._breakers.get(system)
        return (probe() if probe is not None else None) or "closed"

    def report(self, system: SourceSystem) -> SourceHealthReport:
        source = self._sources[system]
        now = self._clock()
        latencies = sorted(source.latency.values(now))
        calls = source.calls.values(now)
        breaker = self.breaker(system)
        changed = [c.changed_at for c in source.capture.values() if c.changed_at is not None]
        return SourceHealthReport(
            system=system,
            status=self._status(source, breaker, now),
            breaker=breaker,
            latency_p50_ms=_percentile(latencies, 0.50),
            latency_p95_ms=_percentile(latencies, 0.95),
            error_rate=sum(calls) / len(calls) if calls else 0.0,
            retries=len(source.retries.values(now)),
            last_success_at=_utc(source.last_success),
            last_change_captured_at=_utc(max(changed) if changed else None),
            capture_lag_seconds=self.capture_lag(system),
            quota_remaining=source.quota,
        )

    def reports(self) -> list[SourceHealthReport]:
        """One report per configured source, in `SourceSystem` order."""
        return [self.report(system) for system in SourceSystem if system in self._sources]

    @staticmethod
    def _status(source: _Source, breaker: str, now: float) -> SourceStatus:
        if breaker == "open" or source.consecutive_failures >= DOWN_AFTER:
            return SourceStatus.DOWN
        throttled = source.throttled_at is not None and now - source.throttled_at < THROTTLED_FOR_S
        if (
            breaker == "half-open"
            or source.consecutive_failures
            or throttled
            or (source.quota is not None and source.quota < LOW_QUOTA)
        ):
            return SourceStatus.DEGRADED
        return SourceStatus.UP


def _percentile(ordered: list[float], share: float) -> float | None:
    """Nearest-rank percentile of `ordered` seconds, in milliseconds."""
    if not ordered:
        return None
    rank = max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))
    return ordered[rank] * 1000.0


def _utc(wall: float | None) -> datetime | None:
    return datetime.fromtimestamp(wall, UTC) if wall is not None else None


# --- vendors' quota headers ------------------------------------------------------------

_SFORCE = re.compile(r"api-usage=(\d+)/(\d+)")


def quota_left(headers: Mapping[str, str]) -> float | None:
    """The share of the vendor's request quota left, from the headers it sends:
    Salesforce `Sforce-Limit-Info: api-usage=used/limit` (the daily allowance), or the
    common `X-RateLimit-Remaining` / `X-RateLimit-Limit` pair. None when it says nothing."""
    info = headers.get("sforce-limit-info")
    if info is not None:
        match = _SFORCE.search(info)
        if match is not None and int(match.group(2)) > 0:
            used, allowed = int(match.group(1)), int(match.group(2))
            return max(0.0, (allowed - used) / allowed)
    remaining = headers.get("x-ratelimit-remaining")
    limit_header = headers.get("x-ratelimit-limit") if remaining is not None else None
    if remaining is not None and limit_header is not None:
        try:
            left, limit = float(remaining), float(limit_header)
        except ValueError:
            return None
        if limit > 0:
            return max(0.0, min(1.0, left / limit))
    return None

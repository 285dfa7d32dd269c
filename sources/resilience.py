"""Small resilience primitives shared by every source client."""

from __future__ import annotations

import asyncio
import time

from sources.config import BreakerPolicy
from sources.errors import SourceUnavailable
from sources.records import SourceSystem


class CircuitBreaker:
    """Closed -> open after N consecutive failures -> one half-open probe -> closed."""

    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if time.monotonic() - self._opened_at >= self.policy.reset_after:
            return "half-open"
        return "open"

    def before_call(self, system: SourceSystem) -> None:
        state = self.state
        if state == "open" or (state == "half-open" and self._probing):
            raise SourceUnavailable(system, "circuit open after repeated failures")
        if state == "half-open":
            self._probing = True

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_abandoned(self) -> None:
        """The call was given up before the source answered (its caller was cancelled):
        no evidence either way, but a half-open probe must not stay taken for good."""
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self.policy.failure_threshold:
            self._opened_at = time.monotonic()
        self._probing = False


class RateLimiter:
    """Paces calls to at most `rate` per second (a token bucket of depth 1 second)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tokens = rate
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.rate, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)

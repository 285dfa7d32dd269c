"""How a failed step is retried: which errors qualify, and how long to wait between tries."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts and exponential backoff with jitter for one step.

    The wait before attempt n+1 is `initial_delay * multiplier**(n-1)`, capped at
    `max_delay`, spread by ±`jitter` (a fraction) so that many workflows failing on the
    same outage do not all come back at once. An error carrying `retry_after` (a rate
    limit) waits at least that long.
    """

    max_attempts: int = 3
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.2
    # Retried besides errors that say `retriable = True` about themselves.
    retry_on: tuple[type[BaseException], ...] = (TimeoutError,)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction between 0 and 1")

    def retries(self, error: BaseException, attempt: int) -> bool:
        """Whether to try again after `attempt` (1-based) failed with `error`."""
        return attempt < self.max_attempts and is_retriable(error, self.retry_on)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after `attempt` (1-based) failed."""
        base = min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))
        spread = base * self.jitter * (2 * random.random() - 1)
        return max(base + spread, retry_after or 0.0)


NO_RETRY = RetryPolicy(max_attempts=1)


def is_retriable(error: BaseException, also: tuple[type[BaseException], ...] = ()) -> bool:
    """Errors say whether trying again may help (`retriable = True`, as SourceUnavailable)."""
    return getattr(error, "retriable", False) is True or isinstance(error, also)


def retry_after(error: BaseException) -> float | None:
    value = getattr(error, "retry_after", None)
    return float(value) if isinstance(value, int | float) else None

"""How a failed step is retried: which errors qualify, how long to wait between tries,
and when to give up."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Retries of a compensation when its policy counts time, not tries: undoing runs after
# the forward deadline may already have passed, so it gets a small budget of its own.
UNDO_ATTEMPTS = 8


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for one step, bounded by tries, time, or both.

    The wait before attempt n+1 is `initial_delay * multiplier**(n-1)`, capped at
    `max_delay`, spread by ±`jitter` (a fraction) so that many workflows failing on the
    same outage do not all come back at once. An error carrying `retry_after` (a rate
    limit) waits at least that long.

    `deadline` (seconds from the workflow's start) is the budget that matters for source
    outages: a transient failure is retried until the next try would begin past it.
    `max_attempts` bounds the tries as well (None: only the deadline does).
    """

    max_attempts: int | None = 3
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.2
    deadline: float | None = None
    # Retried besides errors that say `retriable = True` about themselves.
    retry_on: tuple[type[BaseException], ...] = (TimeoutError,)

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_attempts is None and self.deadline is None:
            raise ValueError("a retry policy needs max_attempts, a deadline, or both")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction between 0 and 1")

    def retries(self, error: BaseException, attempt: int) -> bool:
        """Whether to try again after `attempt` (1-based) failed with `error`, counting
        tries only (compensations, which run past the deadline)."""
        limit = self.max_attempts if self.max_attempts is not None else UNDO_ATTEMPTS
        return attempt < limit and is_retriable(error, self.retry_on)

    def next_delay(self, error: BaseException, attempt: int, elapsed: float) -> float | None:
        """Seconds to wait before trying again after `attempt` failed with `error`,
        `elapsed` seconds into the workflow; None to give up."""
        if not is_retriable(error, self.retry_on):
            return None
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return None
        delay = self.delay(attempt, retry_after(error))
        if self.deadline is not None and elapsed + delay > self.deadline:
            return None
        return delay

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after `attempt` (1-based) failed."""
        # Capping the exponent keeps a long outage's attempt counts from overflowing.
        exponent = min(attempt - 1, 64)
        base = min(self.max_delay, self.initial_delay * self.multiplier**exponent)
        spread = base * self.jitter * (2 * random.random() - 1)
        return max(base + spread, retry_after or 0.0)


NO_RETRY = RetryPolicy(max_attempts=1)


def is_retriable(error: BaseException, also: tuple[type[BaseException], ...] = ()) -> bool:
    """Errors say whether trying again may help (`retriable = True`, as SourceUnavailable)."""
    return getattr(error, "retriable", False) is True or isinstance(error, also)


def retry_after(error: BaseException) -> float | None:
    value = getattr(error, "retry_after", None)
    return float(value) if isinstance(value, int | float) else None

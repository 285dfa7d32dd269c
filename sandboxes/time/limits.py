"""Harvest's request limit: at most N requests per window of S seconds, per token."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from sources.time.harvest import RATE_LIMIT_REQUESTS, RATE_LIMIT_WINDOW_S


class RequestWindow:
    """A sliding log per token: a request is admitted while fewer than `requests` were
    admitted in the last `window_s` seconds; otherwise the caller learns how long to wait."""

    def __init__(
        self,
        requests: int = RATE_LIMIT_REQUESTS,
        window_s: float = RATE_LIMIT_WINDOW_S,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if requests < 1 or window_s <= 0:
            raise ValueError("a request window needs requests >= 1 and window_s > 0")
        self.requests = requests
        self.window_s = window_s
        self._clock = clock
        self._admitted: dict[str, deque[float]] = {}

    def admit(self, token: str) -> int | None:
        """None if the request may proceed; else the whole seconds to wait (Retry-After)."""
        now = self._clock()
        log = self._admitted.setdefault(token, deque())
        while log and log[0] <= now - self.window_s:
            log.popleft()
        if len(log) < self.requests:
            log.append(now)
            return None
        return max(1, math.ceil(log[0] + self.window_s - now))

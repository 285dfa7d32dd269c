"""The generated world's notion of time: one `today`, and everything recorded before it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

# How far back time entries and expenses go.
TIME_WINDOW_DAYS = 365
# An invoice goes out a day or more after the period it bills, so a period ending
# yesterday is not invoiced yet.
INVOICE_LAG_DAYS = 2


@dataclass(frozen=True)
class Clock:
    today: date

    @property
    def now(self) -> datetime:
        """The first instant of `today` (UTC); every recorded change happened before it."""
        return datetime.combine(self.today, time(0), tzinfo=UTC)

    @property
    def window_start(self) -> date:
        """The first day that may carry time entries."""
        return self.today - timedelta(days=TIME_WINDOW_DAYS)

    def invoiceable(self, period_end: date) -> bool:
        """Whether a billing period ending on `period_end` has been invoiced by now."""
        return period_end <= self.today - timedelta(days=INVOICE_LAG_DAYS)

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)

    def moment_between(self, rng: random.Random, first: date, last: date) -> datetime:
        """A random minute of a working day in [first, last], clamped to before `now`."""
        last = min(last, self.today - timedelta(days=1))
        first = min(first, last)
        day = first + timedelta(days=rng.randint(0, (last - first).days))
        return self.at(day, rng.randint(8, 19), rng.randint(0, 59))


def month_ends(start: date, end: date) -> list[date]:
    """Last days of the months from `start` up to `end`, with `end` itself as the final one."""
    ends: list[date] = []
    year, month = start.year, start.month
    while True:
        following = date(year + month // 12, month % 12 + 1, 1)
        last = following - timedelta(days=1)
        if last >= end:
            break
        ends.append(last)
        year, month = following.year, following.month
    ends.append(end)
    return ends

"""Bookings that stopped being true: the rules as pure functions over one snapshot of the
HCM's workers and the PSA's participations.

- OVER_CAPACITY: in some week from today on, the person's participations add up to more
  hours than their HCM weekly capacity. One conflict per person, naming the first such
  week and by how much.
- INACTIVE_ASSIGNED: the person is inactive in the HCM (they left) and still holds a
  participation that runs past today.

A conflict's `key` is stable while the condition holds, so a scan that finds it again
changes nothing, and one that no longer finds it resolves it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from gateway.staffing_rank import booked, week_starts
from sources.records import Assignment, Worker

OVER_CAPACITY = "OVER_CAPACITY"
INACTIVE_ASSIGNED = "INACTIVE_ASSIGNED"
HORIZON_WEEKS = 26  # how far ahead bookings are checked


@dataclass(frozen=True)
class BookingConflict:
    kind: str
    worker_id: str
    worker_name: str
    summary: str
    week: date | None  # OVER_CAPACITY: the first week over
    booked_hours: float
    capacity_hours: float
    assignment_ids: tuple[str, ...]
    hours_per_week_at_risk: float  # booked beyond capacity, or held by someone who left

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.worker_id}"


def conflicts_of(
    worker: Worker, bookings: Sequence[Assignment], today: date
) -> list[BookingConflict]:
    current = [b for b in bookings if b.end_date is None or b.end_date >= today]
    if not current:
        return []
    found: list[BookingConflict] = []
    if not worker.active:
        hours = sum(b.hours_per_week or 0.0 for b in current)
        found.append(
            BookingConflict(
                INACTIVE_ASSIGNED,
                worker.id,
                worker.name,
                f"{worker.name} has left but is still booked on {len(current)} "
                f"project{'s' if len(current) != 1 else ''} ({hours:g} h/week)",
                None,
                hours,
                0.0,
                tuple(sorted(b.id for b in current)),
                hours,
            )
        )
        return found
    capacity = worker.weekly_capacity_hours
    for monday in week_starts(today, today + timedelta(weeks=HORIZON_WEEKS)):
        holding = [b for b in current if booked(b, monday) > 0]
        hours = sum(booked(b, monday) for b in holding)
        if hours > capacity:
            found.append(
                BookingConflict(
                    OVER_CAPACITY,
                    worker.id,
                    worker.name,
                    f"{worker.name} is booked {hours:g} h in the week of {monday} "
                    f"against a capacity of {capacity:g} h",
                    monday,
                    hours,
                    capacity,
                    tuple(sorted(b.id for b in holding)),
                    hours - capacity,
                )
            )
            break
    return found


def scan(
    workers: Iterable[Worker], bookings: Mapping[str, Sequence[Assignment]], today: date
) -> list[BookingConflict]:
    """Every conflict of every worker; `bookings` by worker id."""
    return [c for w in workers for c in conflicts_of(w, bookings.get(w.id, ()), today)]

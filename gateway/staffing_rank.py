"""Who fits a staffing request: the ranking as pure functions, so the formula reads in one
place (docs/staffing.md shows it with an example).

    score = 0.5 * skill_match + 0.3 * availability + 0.2 * headroom

- skill_match: the share of the request's skills the person has (case-insensitive);
  1.0 when the request names none.
- availability: the person's free hours in their tightest week of the request's window
  (HCM weekly capacity minus PSA bookings overlapping that week), over the hours the
  request asks for, capped at 1.0 and floored at 0.
- headroom: 1 - utilization over the last four weeks (billable approved hours over
  capacity), floored at 0; a person with no time recorded has full headroom.

Only active people are candidates. Ties go to the lower utilization, then the name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sources.records import Assignment, Worker

SKILL_WEIGHT = 0.5
AVAILABILITY_WEIGHT = 0.3
HEADROOM_WEIGHT = 0.2
DEFAULT_HOURS = 40.0  # a request that names no hours is read as full time
DEFAULT_WEEKS = 12  # a window with no end: the request's first quarter
MAX_WEEKS = 52


@dataclass(frozen=True)
class Candidate:
    worker: Worker
    skill_match: float
    available_hours_per_week: float
    utilization: float | None
    score: float


def skill_match(wanted: Iterable[str], has: Iterable[str]) -> float:
    wanted_set = {s.casefold() for s in wanted}
    if not wanted_set:
        return 1.0
    return len(wanted_set & {s.casefold() for s in has}) / len(wanted_set)


def week_starts(start: date, end: date) -> list[date]:
    """The Mondays of the weeks that [start, end] touches."""
    first = start - timedelta(days=start.weekday())
    weeks: list[date] = []
    monday = first
    while monday <= end and len(weeks) < MAX_WEEKS:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def window(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The weeks a request needs someone for: from its start (today if none or past) to
    the project's end, or a quarter when the project names none."""
    begin = max(start or today, today)
    finish = end if end is not None and end >= begin else begin + timedelta(weeks=DEFAULT_WEEKS)
    return begin, finish


def booked(assignment: Assignment, monday: date) -> float:
    """Hours per week the assignment holds in the week starting `monday`."""
    sunday = monday + timedelta(days=6)
    if assignment.start_date is not None and assignment.start_date > sunday:
        return 0.0
    if assignment.end_date is not None and assignment.end_date < monday:
        return 0.0
    return assignment.hours_per_week or 0.0


def available_hours(
    capacity: float, bookings: Sequence[Assignment], start: date, end: date
) -> float:
    """Free hours in the tightest week of [start, end] (never below 0).

    The load only rises in a week where a booking starts, so only the window's first week
    and those weeks need adding up, not every week of the window."""
    weeks = week_starts(start, end)
    first, last = weeks[0], weeks[-1]
    overlapping = [b for b in bookings if booked(b, first) or _starts_within(b, first, last)]
    if not overlapping:
        return max(capacity, 0.0)
    candidates = {first} | {
        _monday(b.start_date)
        for b in overlapping
        if b.start_date is not None and first < b.start_date <= last + timedelta(days=6)
    }
    heaviest = max(sum(booked(b, monday) for b in overlapping) for monday in candidates)
    return max(capacity - heaviest, 0.0)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _starts_within(booking: Assignment, first: date, last: date) -> bool:
    begins = booking.start_date
    return begins is not None and first <= begins <= last + timedelta(days=6)


def score(skills: float, available: float, wanted_hours: float, utilization: float | None) -> float:
    availability = min(available / wanted_hours, 1.0) if wanted_hours > 0 else 1.0
    headroom = max(1.0 - (utilization or 0.0), 0.0)
    return round(
        SKILL_WEIGHT * skills + AVAILABILITY_WEIGHT * availability + HEADROOM_WEIGHT * headroom,
        6,
    )


def rank(
    *,
    skills: Sequence[str],
    hours_per_week: float | None,
    start: date,
    end: date,
    workers: Iterable[Worker],
    bookings: dict[str, list[Assignment]],
    utilization: dict[str, float | None],
) -> list[Candidate]:
    """Every active worker as a candidate, best first. `bookings` and `utilization` are
    keyed by worker id."""
    wanted = hours_per_week or DEFAULT_HOURS
    found = []
    for worker in workers:
        if not worker.active:
            continue
        match = skill_match(skills, worker.skills)
        free = available_hours(
            worker.weekly_capacity_hours, bookings.get(worker.id, []), start, end
        )
        used = utilization.get(worker.id)
        found.append(Candidate(worker, match, free, used, score(match, free, wanted, used)))
    found.sort(key=lambda c: (-c.score, c.utilization or 0.0, c.worker.name, c.worker.id))
    return found

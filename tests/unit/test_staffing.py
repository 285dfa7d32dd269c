"""Who fits a staffing request (the documented score), and which bookings stopped being
true: on hand-made people."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from gateway.staffing_conflicts import INACTIVE_ASSIGNED, OVER_CAPACITY, conflicts_of
from gateway.staffing_rank import (
    available_hours,
    booked,
    rank,
    score,
    skill_match,
    week_starts,
    window,
)
from sources.records import Assignment, Worker

MONDAY = date(2026, 3, 2)


def worker(key: str, skills: list[str], *, capacity: float = 40, active: bool = True) -> Worker:
    return Worker(
        id=key, name=f"Person {key}", skills=skills, weekly_capacity_hours=capacity, active=active
    )


def booking(hours: float, start: date, end: date | None = None) -> Assignment:
    return Assignment(
        id=f"a-{hours}-{start}", project_id="p", user_id="u", hours_per_week=hours,
        start_date=start, end_date=end,
    )  # fmt: skip


def test_skill_match_is_the_share_of_wanted_skills_held_ignoring_case() -> None:
    assert skill_match(["Python", "SQL"], ["sql", "Java"]) == 0.5
    assert skill_match([], ["anything"]) == 1.0
    assert skill_match(["Go"], []) == 0.0


def test_availability_is_the_tightest_week_of_the_window() -> None:
    bookings = [
        booking(10, MONDAY),  # every week
        booking(20, date(2026, 3, 16), date(2026, 3, 20)),  # only the third week
    ]

    assert available_hours(40, bookings, MONDAY, date(2026, 3, 13)) == 30
    assert available_hours(40, bookings, MONDAY, date(2026, 3, 27)) == 10
    assert available_hours(20, [booking(30, MONDAY)], MONDAY, MONDAY) == 0  # never negative


def test_a_window_starts_no_earlier_than_today_and_runs_a_quarter_without_an_end() -> None:
    today = date(2026, 3, 4)
    assert window(date(2026, 1, 1), date(2026, 6, 30), today) == (today, date(2026, 6, 30))
    start, end = window(None, None, today)
    assert (start, len(week_starts(start, end))) == (today, 13)


def test_the_score_weighs_skills_then_availability_then_headroom() -> None:
    assert score(1.0, 40, 20, 0.0) == pytest.approx(1.0)
    assert score(0.5, 10, 20, 0.5) == pytest.approx(0.5 * 0.5 + 0.3 * 0.5 + 0.2 * 0.5)
    assert score(0.0, 0, 20, 1.5) == 0.0  # over-used: no negative headroom


def test_people_are_ranked_best_first_and_inactive_people_are_not_candidates() -> None:
    people = [
        worker("busy-expert", ["Python", "SQL"]),
        worker("free-novice", []),
        worker("free-expert", ["python", "sql"]),
        worker("half-expert", ["Python"]),
        worker("gone-expert", ["Python", "SQL"], active=False),
    ]
    bookings = {"busy-expert": [booking(40, MONDAY)]}
    utilization = {"free-expert": 0.2, "half-expert": 0.0, "free-novice": 0.0}

    ranked = rank(
        skills=["Python", "SQL"],
        hours_per_week=20,
        start=MONDAY,
        end=date(2026, 4, 24),
        workers=people,
        bookings=bookings,
        utilization=utilization,
    )

    assert [(c.worker.id, c.score) for c in ranked] == [
        ("free-expert", pytest.approx(0.5 + 0.3 + 0.16)),
        ("half-expert", pytest.approx(0.25 + 0.3 + 0.2)),
        ("busy-expert", pytest.approx(0.5 + 0.0 + 0.2)),
        ("free-novice", pytest.approx(0.0 + 0.3 + 0.2)),
    ]


# --- bookings that stopped being true --------------------------------------------------


def test_a_person_booked_over_capacity_in_a_week_ahead_is_one_conflict() -> None:
    today = date(2026, 3, 4)
    bookings = [booking(30, MONDAY), booking(20, date(2026, 3, 16), date(2026, 3, 27))]

    (found,) = conflicts_of(worker("w", []), bookings, today)

    assert (found.kind, found.week, found.booked_hours, found.capacity_hours) == (
        OVER_CAPACITY,
        date(2026, 3, 16),
        50,
        40,
    )
    assert found.key == "OVER_CAPACITY:w"
    assert conflicts_of(worker("w", [], capacity=50), bookings, today) == []


def test_past_bookings_are_no_conflict() -> None:
    ended = [booking(60, date(2026, 1, 5), date(2026, 2, 27))]
    assert conflicts_of(worker("w", []), ended, date(2026, 3, 4)) == []
    assert conflicts_of(worker("w", [], active=False), ended, date(2026, 3, 4)) == []


def test_someone_who_left_but_holds_future_work_is_a_conflict() -> None:
    (found,) = conflicts_of(worker("w", [], active=False), [booking(16, MONDAY)], MONDAY)
    assert (found.kind, found.hours_per_week_at_risk) == (INACTIVE_ASSIGNED, 16)


def test_the_tightest_week_is_found_without_adding_up_every_week() -> None:
    """Checked against adding up every week of the window, on seeded random bookings."""
    rng = random.Random(7)
    day = date(2026, 1, 1)
    for _ in range(2000):
        start = day + timedelta(days=rng.randrange(200))
        end = start + timedelta(days=rng.randrange(300))
        bookings = []
        for n in range(rng.randrange(6)):
            begins = day + timedelta(days=rng.randrange(500))
            ends = begins + timedelta(days=rng.randrange(200))
            bookings.append(
                Assignment(
                    id=str(n),
                    project_id="p",
                    user_id="u",
                    hours_per_week=rng.choice([None, 8.0, 16.0, 40.0]),
                    start_date=rng.choice([None, begins]),
                    end_date=rng.choice([None, ends]),
                )
            )
        every_week = min(40 - sum(booked(b, m) for b in bookings) for m in week_starts(start, end))
        assert available_hours(40, bookings, start, end) == max(every_week, 0.0)

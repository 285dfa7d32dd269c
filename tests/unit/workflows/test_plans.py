"""What quote-to-project plans from a won deal: dates, code, staffing and billing lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gateway.workflows.plans import (
    billing_lines,
    month_ends,
    project_code,
    project_dates,
    split,
    staffing_plan,
)
from sources.records import Milestone

TODAY = dt.date(2026, 3, 1)


def test_a_project_starts_two_weeks_after_the_close_and_runs_six_months() -> None:
    assert project_dates(dt.date(2026, 3, 10), None, today=TODAY) == (
        dt.date(2026, 3, 24),
        dt.date(2026, 9, 20),
    )


def test_an_old_deal_starts_today_and_an_asked_date_wins() -> None:
    assert project_dates(dt.date(2020, 1, 1), None, today=TODAY)[0] == TODAY
    assert project_dates(dt.date(2020, 1, 1), dt.date(2026, 5, 4), today=TODAY)[0] == dt.date(
        2026, 5, 4
    )


def test_the_code_is_the_deal_s() -> None:
    assert project_code("0065g00002Bq7FlAAJ") == "Q2P-0065g00002Bq7Fl"


@pytest.mark.parametrize(
    ("practice", "roles"),
    [
        pytest.param(
            "Cloud", ["Project Manager", "Cloud Architect", "Platform Engineer"], id="known"
        ),
        pytest.param("Quantum", ["Project Manager", "Consultant"], id="unknown"),
        pytest.param(None, ["Project Manager", "Consultant"], id="none"),
    ],
)
def test_staffing_starts_with_a_manager_and_the_practice_s_roles(
    practice: str | None, roles: list[str]
) -> None:
    assert [line.role for line in staffing_plan(practice)] == roles


def test_shares_add_up_to_the_total_in_cents() -> None:
    parts = split(Decimal("100000.00"), 3)
    assert parts == [Decimal("33333.33"), Decimal("33333.33"), Decimal("33333.34")]


def test_month_ends_cover_both_ends() -> None:
    assert month_ends(dt.date(2026, 11, 15), dt.date(2027, 2, 1)) == [
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 31),
        dt.date(2027, 1, 31),
        dt.date(2027, 2, 28),
    ]


@pytest.mark.parametrize("kind", ["FIXED_FEE", "TIME_AND_MATERIALS", "MILESTONE"])
def test_without_milestones_the_budget_is_billed_monthly(kind: str) -> None:
    lines = billing_lines(kind, Decimal(90_000), dt.date(2026, 1, 5), dt.date(2026, 3, 20))

    assert [line.date for line in lines] == [
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
    ]
    assert sum(line.amount for line in lines) == Decimal(90_000)


def test_a_milestone_contract_bills_each_milestone_when_due() -> None:
    milestones = [
        Milestone(id=m, project_id="1", name=m, status="OPEN", due_date=due, amount=amount)
        for m, due, amount in [
            ("2", dt.date(2026, 6, 1), Decimal(60_000)),
            ("1", dt.date(2026, 3, 1), Decimal(40_000)),
        ]
    ]

    lines = billing_lines(
        "MILESTONE", Decimal(100_000), dt.date(2026, 1, 1), dt.date(2026, 6, 30), milestones
    )

    assert [(line.milestone_id, line.amount) for line in lines] == [
        ("1", Decimal(40_000)),
        ("2", Decimal(60_000)),
    ]


def test_an_unknown_contract_type_is_refused() -> None:
    with pytest.raises(ValueError, match="RETAINER"):
        billing_lines("RETAINER", Decimal(1), TODAY, TODAY)

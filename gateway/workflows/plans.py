"""What quote-to-project makes from a won opportunity: pure functions, no I/O.

The project's code and dates, the billing schedule's lines for its contract type, and the
staffing requests its practice usually starts with.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sources.records import BillingScheduleLine, Milestone

CENT = Decimal("0.01")
START_AFTER_CLOSE = dt.timedelta(days=14)
DEFAULT_DURATION = dt.timedelta(days=180)
CONTRACT_TYPES = frozenset({"FIXED_FEE", "TIME_AND_MATERIALS", "MILESTONE"})
PROJECT_MANAGER = "Project Manager"


@dataclass(frozen=True)
class StaffingLine:
    role: str
    skills: tuple[str, ...]
    hours_per_week: float


# The roles a practice's projects usually open with, besides a project manager.
STARTING_ROLES: Mapping[str, tuple[StaffingLine, ...]] = {
    "Strategy": (
        StaffingLine("Strategy Consultant", ("Market Analysis",), 40.0),
        StaffingLine("Financial Analyst", ("Financial Modelling",), 20.0),
    ),
    "Data & AI": (
        StaffingLine("Data Engineer", ("Data Engineering", "SQL"), 40.0),
        StaffingLine("Data Scientist", ("Machine Learning", "Python"), 40.0),
    ),
    "Cloud": (
        StaffingLine("Cloud Architect", ("Cloud Architecture",), 40.0),
        StaffingLine("Platform Engineer", ("Kubernetes", "Terraform"), 40.0),
    ),
    "Cybersecurity": (
        StaffingLine("Security Architect", ("Zero Trust",), 40.0),
        StaffingLine("GRC Consultant", ("Risk & Compliance",), 20.0),
    ),
    "ERP Advisory": (
        StaffingLine("Functional Consultant", ("NetSuite",), 40.0),
        StaffingLine("Data Migration Specialist", ("Data Migration",), 20.0),
    ),
}
GENERALIST = (StaffingLine("Consultant", (), 40.0),)


def project_code(opportunity_id: str) -> str:
    """A code unique to the opportunity (so a repeat finds the same project)."""
    return f"Q2P-{opportunity_id[:15]}"


def project_dates(
    close_date: dt.date | None, start_date: dt.date | None, *, today: dt.date
) -> tuple[dt.date, dt.date]:
    """Start as asked, or two weeks after the deal closed (never before today's plan)."""
    start = start_date or max((close_date or today) + START_AFTER_CLOSE, today)
    return start, start + DEFAULT_DURATION


def staffing_plan(practice: str | None) -> list[StaffingLine]:
    """A project manager part-time, and the practice's starting roles."""
    manager = StaffingLine(PROJECT_MANAGER, ("Project Management",), 10.0)
    return [manager, *STARTING_ROLES.get(practice or "", GENERALIST)]


def billing_lines(
    kind: str,
    budget: Decimal,
    start: dt.date,
    end: dt.date,
    milestones: Sequence[Milestone] = (),
) -> list[BillingScheduleLine]:
    """The schedule for a contract: milestone contracts bill each milestone when due
    (when the project has milestones); others bill the budget in equal month-end parts.
    The lines always add up to the budget."""
    if kind not in CONTRACT_TYPES:
        raise ValueError(f"unknown contract type {kind!r}")
    if kind == "MILESTONE" and milestones:
        ordered = sorted(milestones, key=lambda m: (m.due_date or end, m.id))
        amounts = [m.amount or Decimal(0) for m in ordered]
        if sum(amounts, Decimal(0)) > 0:
            return [
                BillingScheduleLine(date=m.due_date or end, amount=a, milestone_id=m.id)
                for m, a in zip(ordered, amounts, strict=True)
            ]
    dates = month_ends(start, end)
    return [
        BillingScheduleLine(date=d, amount=a)
        for d, a in zip(dates, split(budget, len(dates)), strict=True)
    ]


def month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """Each month end from start's month to end's month; at least one date."""
    found = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        found.append(dt.date(year, month, calendar.monthrange(year, month)[1]))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found or [end]


def split(total: Decimal, parts: int) -> list[Decimal]:
    """`total` in `parts` equal cents; the last part takes the rounding remainder."""
    share = (total / parts).quantize(CENT)
    return [*([share] * (parts - 1)), total - share * (parts - 1)]

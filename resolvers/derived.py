"""Figures derived across systems: pure functions, so the rules read in one place."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

MISSING_FINANCE_CODE = "MISSING_FINANCE_CODE"  # no ERP job: time cannot be billed
NO_BILLING_SCHEDULE = "NO_BILLING_SCHEDULE"  # an ERP job without a schedule
OVER_BUDGET = "OVER_BUDGET"  # billable work beyond the budget
UNBILLED_TIME_ON_CLOSED_PROJECT = "UNBILLED_TIME_ON_CLOSED_PROJECT"
FINANCE_CODE_MISMATCH = "FINANCE_CODE_MISMATCH"  # PSA and ERP name different jobs

CLOSED_STATUSES = frozenset({"COMPLETED", "CANCELLED"})
BILLED_STATUSES = frozenset({"APPROVED", "INVOICED"})  # approved time, billed or not


def budget_burn(consumed: Decimal, budget: Decimal | None) -> float | None:
    """Share of the budget consumed; None without a budget."""
    if budget is None or budget <= 0:
        return None
    return float(consumed / budget)


def margin(revenue: Decimal, cost: Decimal) -> float | None:
    """(revenue - cost) / revenue; None while there is no revenue."""
    if revenue <= 0:
        return None
    return float((revenue - cost) / revenue)


def blended_rate(
    rates_and_weights: Iterable[tuple[Decimal | None, float | None]],
) -> Decimal | None:
    """The weighted average of the known rates (weights: hours per week; 1 when unknown)."""
    total = Decimal("0")
    weight_sum = Decimal("0")
    for rate, weight in rates_and_weights:
        if rate is None:
            continue
        w = Decimal(str(weight)) if weight else Decimal("1")
        total += rate * w
        weight_sum += w
    return total / weight_sum if weight_sum else None


def billing_ready(has_finance_code: bool, has_schedule: bool, unbilled: Decimal) -> bool:
    """Approved work waiting, and what the ERP needs to invoice it."""
    return has_finance_code and has_schedule and unbilled > 0


def project_risks(
    *,
    status: str,
    has_finance_code: bool,
    has_schedule: bool,
    burn: float | None,
    unbilled_hours: float,
    finance_code_mismatch: bool,
) -> list[str]:
    risks = []
    if not has_finance_code:
        risks.append(MISSING_FINANCE_CODE)
    elif not has_schedule:
        risks.append(NO_BILLING_SCHEDULE)
    if finance_code_mismatch:
        risks.append(FINANCE_CODE_MISMATCH)
    if burn is not None and burn > 1.0:
        risks.append(OVER_BUDGET)
    if status in CLOSED_STATUSES and unbilled_hours > 0:
        risks.append(UNBILLED_TIME_ON_CLOSED_PROJECT)
    return risks


@functools.lru_cache(maxsize=256)  # every row of a board asks for the same range
def working_days(start: date, end: date) -> int:
    """Monday-to-Friday days in [start, end]."""
    if end < start:
        return 0
    days = (end - start).days + 1
    full_weeks, rest = divmod(days, 7)
    count = full_weeks * 5
    for offset in range(rest):
        if (start + timedelta(days=full_weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count


def utilization(
    billable_hours: float, weekly_capacity: float, start: date, end: date
) -> float | None:
    """Billable approved hours over capacity (weekly hours pro rata over working days)."""
    capacity = weekly_capacity * working_days(start, end) / 5
    if capacity <= 0:
        return None
    return billable_hours / capacity

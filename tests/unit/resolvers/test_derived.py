from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from resolvers import derived


def risks(**overrides: object) -> list[str]:
    facts = {
        "status": "ACTIVE",
        "has_finance_code": True,
        "has_schedule": True,
        "burn": 0.5,
        "unbilled_hours": 0.0,
        "finance_code_mismatch": False,
    }
    return derived.project_risks(**{**facts, **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({}, [], id="healthy"),
        pytest.param(
            {"has_finance_code": False, "has_schedule": False},
            ["MISSING_FINANCE_CODE"],
            id="no-finance-code",
        ),
        pytest.param({"has_schedule": False}, ["NO_BILLING_SCHEDULE"], id="no-schedule"),
        pytest.param({"burn": 1.2}, ["OVER_BUDGET"], id="over-budget"),
        pytest.param(
            {"status": "COMPLETED", "unbilled_hours": 3.0},
            ["UNBILLED_TIME_ON_CLOSED_PROJECT"],
            id="closed-unbilled",
        ),
        pytest.param({"finance_code_mismatch": True}, ["FINANCE_CODE_MISMATCH"], id="mismatch"),
    ],
)
def test_project_risks(overrides, expected):
    assert risks(**overrides) == expected


def test_budget_burn_is_the_share_consumed_and_unknown_without_a_budget():
    assert derived.budget_burn(Decimal("250"), Decimal("1000")) == 0.25
    assert derived.budget_burn(Decimal("250"), None) is None
    assert derived.budget_burn(Decimal("250"), Decimal("0")) is None


def test_margin_needs_revenue():
    assert derived.margin(Decimal("100"), Decimal("60")) == pytest.approx(0.4)
    assert derived.margin(Decimal("0"), Decimal("60")) is None


def test_blended_rate_weights_known_rates_by_hours():
    rate = derived.blended_rate([(Decimal("50"), 30.0), (Decimal("100"), 10.0), (None, 40.0)])
    assert rate == Decimal("62.5")
    assert derived.blended_rate([(None, 1.0)]) is None


def test_billing_is_ready_with_a_finance_code_a_schedule_and_approved_unbilled_work():
    assert derived.billing_ready(True, True, Decimal("1"))
    assert not derived.billing_ready(True, True, Decimal("0"))
    assert not derived.billing_ready(True, False, Decimal("1"))


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        pytest.param(date(2025, 6, 2), date(2025, 6, 8), 5, id="mon-sun"),
        pytest.param(date(2025, 6, 7), date(2025, 6, 8), 0, id="weekend"),
        pytest.param(date(2025, 6, 1), date(2025, 6, 30), 21, id="june-2025"),
        pytest.param(date(2025, 6, 9), date(2025, 6, 1), 0, id="reversed"),
    ],
)
def test_working_days(start, end, days):
    assert derived.working_days(start, end) == days


def test_utilization_is_hours_over_pro_rata_capacity():
    assert derived.utilization(20.0, 40.0, date(2025, 6, 2), date(2025, 6, 6)) == 0.5
    assert derived.utilization(5.0, 40.0, date(2025, 6, 7), date(2025, 6, 8)) is None

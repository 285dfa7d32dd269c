"""Project summaries merge Harvest's time report and uninvoiced report."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from sources.errors import SourceDataError
from sources.time.summary import ProjectSummaries, ProjectTimeSummary, ReportRow


def rows(*found: dict[str, Any]) -> list[ReportRow]:
    """Report rows as the connector decodes them."""
    return msgspec.convert(found, list[ReportRow])


def test_each_project_gets_figures_from_both_reports() -> None:
    time_rows = [
        {
            "project_id": 14000001,
            "total_hours": 12.5,
            "billable_hours": 10.0,
            "billable_amount": 1500.0,
            "approved_hours": 8.0,
            "currency": "EUR",
        },
        {
            "project_id": 14000002,
            "total_hours": 3.0,
            "billable_hours": 0.0,
            "billable_amount": 0.0,
            "approved_hours": 3.0,
            "currency": "USD",
        },
    ]
    uninvoiced_rows = [
        {
            "project_id": 14000001,
            "total_hours": 12.5,
            "uninvoiced_hours": 2.5,
            "uninvoiced_expenses": 40.1,
            "uninvoiced_amount": 415.1,
            "currency": "EUR",
        },
        {  # only expenses in the range
            "project_id": 14000003,
            "total_hours": 0.0,
            "uninvoiced_hours": 0.0,
            "uninvoiced_expenses": 99.99,
            "uninvoiced_amount": 99.99,
            "currency": "GBP",
        },
    ]

    summaries = ProjectSummaries(rows(*time_rows), rows(*uninvoiced_rows))

    assert summaries == {
        "14000001": ProjectTimeSummary(
            project_id="14000001",
            total_hours=12.5,
            billable_hours=10.0,
            approved_hours=8.0,
            uninvoiced_hours=2.5,
            uninvoiced_amount=Decimal("415.1"),
            billable_amount=Decimal("1500.0"),
            currency="EUR",
        ),
        "14000002": ProjectTimeSummary(
            project_id="14000002",
            total_hours=3.0,
            billable_hours=0.0,
            approved_hours=3.0,
            uninvoiced_hours=0.0,
            uninvoiced_amount=Decimal("0"),
            billable_amount=Decimal("0.0"),
            currency="USD",
        ),
        "14000003": ProjectTimeSummary(
            project_id="14000003",
            total_hours=0.0,
            billable_hours=0.0,
            approved_hours=0.0,
            uninvoiced_hours=0.0,
            uninvoiced_amount=Decimal("99.99"),
            billable_amount=Decimal("0"),
            currency="GBP",
        ),
    }


def test_approved_hours_are_unknown_when_the_time_report_does_not_carry_them() -> None:
    harvest_row = {"project_id": 1, "total_hours": 1.0, "billable_hours": 1.0, "currency": "USD"}

    summaries = ProjectSummaries(rows(harvest_row), [])

    assert summaries["1"].approved_hours is None


def test_a_malformed_row_fails_only_its_own_project_when_it_is_asked_for() -> None:
    good = {"project_id": 1, "total_hours": 2.0, "billable_hours": 1.0, "currency": "USD"}
    bad = {"project_id": 2, "total_hours": "lots", "currency": "USD"}

    summaries = ProjectSummaries(rows(good, bad), rows({"project_id": 2, "uninvoiced_amount": "?"}))

    assert summaries["1"].total_hours == 2.0
    with pytest.raises(SourceDataError, match="malformed project report row 2"):
        summaries.get("2")
    assert summaries.get("3") is None
    assert sorted(summaries) == ["1", "2"]

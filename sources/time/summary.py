"""Hours and money per project from Harvest's two project reports, merged.

The time report gives total, billable and (a sandbox extension) approved hours; the
uninvoiced report gives what is still to invoice. A project missing from one report had
nothing to report there, so its figures from that report are zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ZERO = Decimal("0")


@dataclass(frozen=True)
class ProjectTimeSummary:
    """One TIME project's figures for a date range.

    `approved_hours` is None when the source's time report does not carry it (Harvest's
    own does not; the sandbox's does).
    """

    project_id: str
    total_hours: float
    billable_hours: float
    approved_hours: float | None
    uninvoiced_hours: float
    uninvoiced_amount: Decimal
    billable_amount: Decimal
    currency: str


def merge_reports(
    time_results: Iterable[Mapping[str, Any]],
    uninvoiced_results: Iterable[Mapping[str, Any]],
) -> dict[str, ProjectTimeSummary]:
    """Summaries by TIME project id; raises KeyError/TypeError/ValueError on a bad row."""
    time_by_project = {str(row["project_id"]): row for row in time_results}
    open_by_project = {str(row["project_id"]): row for row in uninvoiced_results}
    reports_approval = any("approved_hours" in row for row in time_by_project.values())
    summaries = {}
    for project_id in time_by_project.keys() | open_by_project.keys():
        spent = time_by_project.get(project_id, {})
        open_ = open_by_project.get(project_id, {})
        summaries[project_id] = ProjectTimeSummary(
            project_id=project_id,
            total_hours=float(spent.get("total_hours", open_.get("total_hours", 0.0))),
            billable_hours=float(spent.get("billable_hours", 0.0)),
            approved_hours=(float(spent.get("approved_hours", 0.0)) if reports_approval else None),
            uninvoiced_hours=float(open_.get("uninvoiced_hours", 0.0)),
            uninvoiced_amount=_money(open_.get("uninvoiced_amount")),
            billable_amount=_money(spent.get("billable_amount")),
            currency=str(spent.get("currency") or open_.get("currency") or "USD"),
        )
    return summaries


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(str(value))

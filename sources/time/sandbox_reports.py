"""Harvest's project reports, computed from the sandbox's rows.

- time report (`/reports/time/projects`): per project, the hours spent in the range, the
  billable hours and their amount; plus, as a sandbox extension, `approved_hours`.
- uninvoiced report (`/reports/uninvoiced`): per project with billable time or expenses
  not yet invoiced, the hours and amounts still to invoice, in the project's currency
  (expenses recorded in another currency are converted at the world's fixed rates).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sources.time.sandbox_rows import ExpenseRow, ProjectRow, TimeEntryRow, wire_id
from sources.world.names import USD_PER_UNIT

ReportRow = tuple[ProjectRow, dict[str, Any]]  # the project (for ordering) and its result


@dataclass
class _Totals:
    total_hours: float = 0.0
    billable_hours: float = 0.0
    billable_amount: float = 0.0
    approved_hours: float = 0.0
    uninvoiced_hours: float = 0.0
    uninvoiced_time_amount: float = 0.0
    uninvoiced_expenses: float = 0.0


def time_report(
    entries: Iterable[TimeEntryRow],
    projects: Mapping[str, ProjectRow],
    date_from: date,
    date_to: date,
) -> list[ReportRow]:
    totals: dict[str, _Totals] = {}
    for entry in entries:
        if not date_from <= entry.spent_date <= date_to:
            continue
        sums = totals.setdefault(entry.project_id, _Totals())
        sums.total_hours += entry.hours
        if entry.billable:
            sums.billable_hours += entry.hours
            sums.billable_amount += entry.hours * entry.billable_rate
        if entry.approval_status == "approved":
            sums.approved_hours += entry.hours
    return _ordered(
        (
            projects[project_id],
            {
                **_project_fields(projects[project_id]),
                "total_hours": round(sums.total_hours, 2),
                "billable_hours": round(sums.billable_hours, 2),
                "billable_amount": round(sums.billable_amount, 2),
                "approved_hours": round(sums.approved_hours, 2),  # sandbox extension
            },
        )
        for project_id, sums in totals.items()
    )


def uninvoiced_report(
    entries: Iterable[TimeEntryRow],
    expenses: Iterable[ExpenseRow],
    projects: Mapping[str, ProjectRow],
    date_from: date,
    date_to: date,
) -> list[ReportRow]:
    totals: dict[str, _Totals] = {}
    for entry in entries:
        if not date_from <= entry.spent_date <= date_to:
            continue
        sums = totals.setdefault(entry.project_id, _Totals())
        sums.total_hours += entry.hours
        if entry.billable and not entry.is_billed:
            sums.uninvoiced_hours += entry.hours
            sums.uninvoiced_time_amount += entry.hours * entry.billable_rate
    for expense in expenses:
        if not date_from <= expense.spent_date <= date_to:
            continue
        if expense.billable and not expense.is_billed:
            totals.setdefault(
                expense.project_id, _Totals()
            ).uninvoiced_expenses += expense.total_cost
    return _ordered(
        (
            projects[project_id],
            {
                **_project_fields(projects[project_id]),
                "total_hours": round(sums.total_hours, 2),
                "uninvoiced_hours": round(sums.uninvoiced_hours, 2),
                "uninvoiced_expenses": round(sums.uninvoiced_expenses, 2),
                "uninvoiced_amount": round(
                    sums.uninvoiced_time_amount + sums.uninvoiced_expenses, 2
                ),
            },
        )
        for project_id, sums in totals.items()
        if sums.uninvoiced_hours or sums.uninvoiced_expenses
    )


def _rate(source: str, target: str) -> float:
    """The world's fixed exchange rate; Harvest would hold the expense in `target`."""
    return float(USD_PER_UNIT[source] / USD_PER_UNIT[target])


def _project_fields(project: ProjectRow) -> dict[str, Any]:
    return {
        "client_id": wire_id(project.client.id),
        "client_name": project.client.name,
        "project_id": wire_id(project.id),
        "project_name": project.name,
        "currency": project.client.currency,
    }


def _ordered(rows: Iterable[ReportRow]) -> list[ReportRow]:
    return sorted(rows, key=lambda row: row[0].seq)

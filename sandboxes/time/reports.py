"""Harvest's time reports, computed from the sandbox's rows.

- time report by project (`/reports/time/projects`): per project, the hours spent in the
  range, the billable hours and their amount; plus, as a sandbox extension,
  `approved_hours`.
- uninvoiced report (`/reports/uninvoiced`): per project with billable time or expenses
  not yet invoiced, the hours and amounts still to invoice, in the project's currency
  (expenses recorded in another currency are converted at the world's fixed rates).
- time report by team member (`/reports/time/team`): per user and currency, the hours
  spent in the range, the billable hours and their amount; plus, as a sandbox extension,
  `approved_billable_hours` (billable hours approved or already billed).

The project reports read per-project sums from a `ProjectLedger`, which keeps them
between writes; the team report sums the range's entries. `KeptReports` keeps each
answer, rendered, until a row it sums or quotes changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from cachetools import LRUCache

from sandboxes.time.ledger import ProjectLedger
from sandboxes.time.paging import SortKey
from sandboxes.time.rows import ExpenseRow, ProjectRow, TimeEntryRow, UserRow, wire_id

ReportRow = tuple[SortKey, dict[str, Any]]  # the result's place in the report, and it
KeptRow = tuple[SortKey, orjson.Fragment]  # the same, its result rendered


@dataclass
class EntryTotals:
    """One project's time entries summed for both reports."""

    total_hours: float = 0.0
    billable_hours: float = 0.0
    billable_amount: float = 0.0
    approved_hours: float = 0.0
    uninvoiced_hours: float = 0.0
    uninvoiced_time_amount: float = 0.0


def entry_totals(entries: Iterable[TimeEntryRow]) -> EntryTotals:
    sums = EntryTotals()
    for entry in entries:
        sums.total_hours += entry.hours
        if entry.billable:
            sums.billable_hours += entry.hours
            sums.billable_amount += entry.hours * entry.billable_rate
            if not entry.is_billed:
                sums.uninvoiced_hours += entry.hours
                sums.uninvoiced_time_amount += entry.hours * entry.billable_rate
        if entry.approval_status == "approved":
            sums.approved_hours += entry.hours
    return sums


def uninvoiced_expenses(expenses: Iterable[ExpenseRow]) -> float:
    """The cost of a project's billable expenses not yet invoiced."""
    total = 0.0
    for expense in expenses:
        if expense.billable and not expense.is_billed:
            total += expense.total_cost
    return total


EntryLedger = ProjectLedger[TimeEntryRow, EntryTotals]
ExpenseLedger = ProjectLedger[ExpenseRow, float]


def time_report(
    entries: EntryLedger,
    projects: Mapping[str, ProjectRow],
    date_from: date,
    date_to: date,
) -> list[ReportRow]:
    return _ordered(
        (
            (projects[project_id].seq,),
            {
                **_project_fields(projects[project_id]),
                "total_hours": round(sums.total_hours, 2),
                "billable_hours": round(sums.billable_hours, 2),
                "billable_amount": round(sums.billable_amount, 2),
                "approved_hours": round(sums.approved_hours, 2),  # sandbox extension
            },
        )
        for project_id, sums in entries.totals(date_from, date_to)
    )


def uninvoiced_report(
    entries: EntryLedger,
    expenses: ExpenseLedger,
    projects: Mapping[str, ProjectRow],
    date_from: date,
    date_to: date,
) -> list[ReportRow]:
    spent_time = dict(entries.totals(date_from, date_to))
    cost = dict(expenses.totals(date_from, date_to))
    rows = []
    for project_id in spent_time.keys() | cost.keys():
        sums = spent_time.get(project_id) or EntryTotals()
        spent = cost.get(project_id, 0.0)
        if not (sums.uninvoiced_hours or spent):
            continue
        rows.append(
            (
                (projects[project_id].seq,),
                {
                    **_project_fields(projects[project_id]),
                    "total_hours": round(sums.total_hours, 2),
                    "uninvoiced_hours": round(sums.uninvoiced_hours, 2),
                    "uninvoiced_expenses": round(spent, 2),
                    "uninvoiced_amount": round(sums.uninvoiced_time_amount + spent, 2),
                },
            )
        )
    return _ordered(rows)


def _project_fields(project: ProjectRow) -> dict[str, Any]:
    return {
        "client_id": wire_id(project.client.id),
        "client_name": project.client.name,
        "project_id": wire_id(project.id),
        "project_name": project.name,
        "currency": project.client.currency,
    }


def _ordered(rows: Iterable[ReportRow]) -> list[ReportRow]:
    return sorted(rows, key=lambda row: row[0])


@dataclass
class MemberTotals:
    """One user's time entries in one currency, summed for the team report."""

    total_hours: float = 0.0
    billable_hours: float = 0.0
    billable_amount: float = 0.0
    approved_billable_hours: float = 0.0


def team_report(
    entries: Iterable[TimeEntryRow],
    users: Mapping[str, UserRow],
    projects: Mapping[str, ProjectRow],
) -> list[ReportRow]:
    """`entries` (those of the range) summed per user and per currency, as Harvest's
    team report gives a row for each currency a user's billable amounts are in."""
    sums: dict[tuple[str, str], MemberTotals] = {}
    for entry in entries:
        key = (entry.user_id, projects[entry.project_id].client.currency)
        totals = sums.get(key)
        if totals is None:
            totals = sums[key] = MemberTotals()
        totals.total_hours += entry.hours
        if entry.billable:
            totals.billable_hours += entry.hours
            totals.billable_amount += entry.hours * entry.billable_rate
            if entry.is_locked:  # approved, or already billed
                totals.approved_billable_hours += entry.hours
    rows: list[ReportRow] = []
    for (user_id, currency), totals in sorted(sums.items()):
        user = users[user_id]
        rows.append(
            (
                (user.seq, len(rows)),  # a user's currencies apart, in the order sorted
                {
                    "user_id": wire_id(user.id),
                    "user_name": user.name,
                    "is_contractor": False,
                    "total_hours": round(totals.total_hours, 2),
                    "billable_hours": round(totals.billable_hours, 2),
                    "currency": currency,
                    "billable_amount": round(totals.billable_amount, 2),
                    # sandbox extension
                    "approved_billable_hours": round(totals.approved_billable_hours, 2),
                },
            )
        )
    return _ordered(rows)


class KeptReports:
    """Whole report answers, rendered, kept until any time entry, expense, project or
    user changes (it watches all four tables, and forgets every answer on any change).

    A dashboard's refresh asks both reports for the same range every time; building and
    encoding ~1,400 result rows cost ~10 ms per report, which would be timed as Harvest's
    latency. Sums alone are already kept per project by the ledgers."""

    def __init__(self, kept: int = 16) -> None:
        self._kept: LRUCache[tuple[str, date, date], list[KeptRow]] = LRUCache(kept)

    def answer(
        self, report: str, date_from: date, date_to: date, build: Callable[[], list[ReportRow]]
    ) -> list[KeptRow]:
        key = (report, date_from, date_to)
        rows = self._kept.get(key)
        if rows is None:
            rows = [(key, orjson.Fragment(orjson.dumps(result))) for key, result in build()]
            self._kept[key] = rows
        return rows

    def forget(self, row: object) -> None:
        if self._kept:  # a table's seeding adds every row while nothing is kept yet
            self._kept.clear()

    add = remove = forget  # a new, changed or removed row alike changes the sums

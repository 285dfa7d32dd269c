"""Rows grouped by project, with each project's sums kept until one of its rows changes.

Harvest's project reports sum every time entry and expense in a date range, per project.
Summing the whole table per request costs about a second at scale; the reports the
gateway asks for span all time, so a project's sums over all its rows answer them, and
those are recomputed only after a row of that project is written.

Sums are taken over a project's rows in table order (by `seq`), as a scan of the whole
table would take them, so floating-point results are the same to the last bit.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Generic, Protocol, TypeVar


class LedgerRow(Protocol):
    seq: int
    project_id: str
    spent_date: date


RowT = TypeVar("RowT", bound=LedgerRow)
SumT = TypeVar("SumT")


def _seq(row: LedgerRow) -> int:
    return row.seq


class _Project(Generic[RowT, SumT]):
    """One project's rows in table order, and what is known about them until they change."""

    __slots__ = ("first", "last", "rows", "total")

    def __init__(self) -> None:
        self.rows: list[RowT] = []
        self.first: date | None = None  # earliest spent_date, None when not yet known
        self.last: date | None = None
        self.total: SumT | None = None  # the sums over every row, None when not yet known

    def forget(self) -> None:
        self.first = self.last = None
        self.total = None

    def span(self) -> tuple[date, date]:
        if self.first is None or self.last is None:
            dates = [row.spent_date for row in self.rows]
            self.first, self.last = min(dates), max(dates)
        return self.first, self.last


class ProjectLedger(Generic[RowT, SumT]):
    """Per project, `summarize` over its rows in a date range.

    Watches a `Table`: `add(row)` when a row is stored or after it changed, `remove(row)`
    before it changes (while it still carries its old project and date).
    """

    def __init__(self, summarize: Callable[[Sequence[RowT]], SumT]) -> None:
        self._summarize = summarize
        self._projects: dict[str, _Project[RowT, SumT]] = {}

    def add(self, row: RowT) -> None:
        project = self._projects.get(row.project_id)
        if project is None:
            project = self._projects[row.project_id] = _Project()
        rows = project.rows
        if not rows or rows[-1].seq < row.seq:
            rows.append(row)  # seeding and new rows arrive in table order
        else:
            insort(rows, row, key=_seq)
        project.forget()

    def remove(self, row: RowT) -> None:
        project = self._projects[row.project_id]
        rows = project.rows
        del rows[bisect_left(rows, row.seq, key=_seq)]
        if rows:
            project.forget()
        else:
            del self._projects[row.project_id]

    def totals(self, date_from: date, date_to: date) -> Iterator[tuple[str, SumT]]:
        """Each project with rows spent from `date_from` to `date_to` (inclusive), and
        the summary of those rows, in no particular order."""
        for project_id, project in self._projects.items():
            first, last = project.span()
            if last < date_from or first > date_to:
                continue
            if date_from <= first and last <= date_to:
                if project.total is None:
                    project.total = self._summarize(project.rows)
                yield project_id, project.total
            else:
                inside = [row for row in project.rows if date_from <= row.spent_date <= date_to]
                if inside:
                    yield project_id, self._summarize(inside)

"""Hours and money per project from Harvest's two project reports, merged.

The time report gives total, billable and (a sandbox extension) approved hours; the
uninvoiced report gives what is still to invoice. A project missing from one report had
nothing to report there, so its figures from that report are zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sources.errors import SourceDataError
from sources.records import SourceSystem

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


class ProjectSummaries(Mapping[str, ProjectTimeSummary]):
    """Summaries by TIME project id, each worked out from its two report rows when first
    asked. The reports cover every project, and a board of ten projects needs ten: the
    rest are never converted.

    A row without a `project_id`, or not an object, fails the whole answer at once (the
    connector reports it); a row whose figures are malformed fails only its own
    project, with a SourceDataError when it is asked for."""

    def __init__(
        self,
        time_results: Iterable[Mapping[str, Any]],
        uninvoiced_results: Iterable[Mapping[str, Any]],
    ) -> None:
        self._spent = {str(row["project_id"]): row for row in time_results}
        self._open = {str(row["project_id"]): row for row in uninvoiced_results}
        self._reports_approval = any("approved_hours" in row for row in self._spent.values())
        self._made: dict[str, ProjectTimeSummary] = {}

    def __getitem__(self, project_id: str) -> ProjectTimeSummary:
        made = self._made.get(project_id)
        if made is None:
            if project_id not in self._spent and project_id not in self._open:
                raise KeyError(project_id)
            try:
                made = self._summary(project_id)
            except (KeyError, TypeError, ValueError, ArithmeticError) as error:
                raise SourceDataError(
                    SourceSystem.TIME, f"malformed project report row {project_id}: {error!r}"
                ) from error
            self._made[project_id] = made
        return made

    def __iter__(self) -> Iterator[str]:
        return iter({**self._spent, **self._open})

    def __len__(self) -> int:
        return len(self._spent.keys() | self._open.keys())

    def _summary(self, project_id: str) -> ProjectTimeSummary:
        spent = self._spent.get(project_id, {})
        open_ = self._open.get(project_id, {})
        return ProjectTimeSummary(
            project_id=project_id,
            total_hours=float(spent.get("total_hours", open_.get("total_hours", 0.0))),
            billable_hours=float(spent.get("billable_hours", 0.0)),
            approved_hours=(
                float(spent.get("approved_hours", 0.0)) if self._reports_approval else None
            ),
            uninvoiced_hours=float(open_.get("uninvoiced_hours", 0.0)),
            uninvoiced_amount=_money(open_.get("uninvoiced_amount")),
            billable_amount=_money(spent.get("billable_amount")),
            currency=str(spent.get("currency") or open_.get("currency") or "USD"),
        )


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(str(value))

"""Hours and money per project from Harvest's two project reports, merged.

The time report gives total, billable and (a sandbox extension) approved hours; the
uninvoiced report gives what is still to invoice. A project missing from one report had
nothing to report there, so its figures from that report are zero.

Each report covers every project with time in the range (~1,400 rows of ~200 bytes for
a firm of 1,400 projects), and every health board reads both. Their pages are decoded
with msgspec into `ReportRow`s of the figures read, the rest (names of the client and
project) skipped unparsed: in the gateway, under the 100-row health board, ~0.7 ms a
report instead of ~1.0 ms into dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
from msgspec import UNSET

from sources.errors import SourceDataError
from sources.records import SourceSystem
from sources.time.paging import page_decoder

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


class ReportRow(msgspec.Struct, frozen=True):
    """A row of either report: its project and the figures the summaries read, each
    UNSET where the row does not carry it. The figures are checked when the project is
    looked up, so a malformed one fails only its own project."""

    project_id: Any
    total_hours: Any = UNSET
    billable_hours: Any = UNSET
    approved_hours: Any = UNSET
    uninvoiced_hours: Any = UNSET
    uninvoiced_amount: Any = UNSET
    billable_amount: Any = UNSET
    currency: Any = UNSET


_NOTHING = ReportRow(project_id=None)  # a project the report has no row for
# A report page's rows, `links` and `total_entries`: what is not JSON, or has a row not
# naming its project, fails the page as it is decoded.
decode_report_page = page_decoder("results", ReportRow)


def _given(value: Any, default: Any) -> Any:
    return default if value is UNSET else value


class ProjectSummaries(Mapping[str, ProjectTimeSummary]):
    """Summaries by TIME project id, each worked out from its two report rows when first
    asked. The reports cover every project, and a board of ten projects needs ten: the
    rest are never converted.

    A row without a `project_id`, or not an object, fails the whole page when it is
    decoded (`decode_report_page`); a row whose figures are malformed fails only its own
    project, with a SourceDataError when it is asked for."""

    def __init__(
        self, time_results: Iterable[ReportRow], uninvoiced_results: Iterable[ReportRow]
    ) -> None:
        self._spent = {str(row.project_id): row for row in time_results}
        self._open = {str(row.project_id): row for row in uninvoiced_results}
        self._reports_approval = any(
            row.approved_hours is not UNSET for row in self._spent.values()
        )
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
        spent = self._spent.get(project_id, _NOTHING)
        open_ = self._open.get(project_id, _NOTHING)
        return ProjectTimeSummary(
            project_id=project_id,
            total_hours=float(_given(spent.total_hours, _given(open_.total_hours, 0.0))),
            billable_hours=float(_given(spent.billable_hours, 0.0)),
            approved_hours=(
                float(_given(spent.approved_hours, 0.0)) if self._reports_approval else None
            ),
            uninvoiced_hours=float(_given(open_.uninvoiced_hours, 0.0)),
            uninvoiced_amount=_money(_given(open_.uninvoiced_amount, None)),
            billable_amount=_money(_given(spent.billable_amount, None)),
            currency=str(_given(spent.currency, None) or _given(open_.currency, None) or "USD"),
        )


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(str(value))

"""Approved billable hours per TIME user, from Harvest's time report by team member.

Utilization counts billable time that is approved or already billed. Harvest's team
report (`/reports/time/team`) sums a range's time per user, a row per currency, but
whatever its approval; the sandbox's adds `approved_billable_hours`. One report of
~1,000 rows of ~200 bytes answers for everyone, where reading the entries themselves
means a month's scan of ~16,000 entries (~12 MB). A report without the figure cannot
answer, and the caller reads the entries instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from msgspec import UNSET

from sources.errors import SourceDataError
from sources.records import SourceSystem
from sources.time.paging import page_decoder


class TeamRow(msgspec.Struct, frozen=True):
    """A row of the team report: its user and, UNSET where it is not carried, the
    approved billable hours; the rest (names, amounts) is skipped unparsed."""

    user_id: Any
    approved_billable_hours: Any = UNSET


# A team report page's rows, `links` and `total_entries`: what is not JSON, or has a row
# not naming its user, fails the page as it is decoded.
decode_team_page = page_decoder("results", TeamRow)


def approved_billable_hours(rows: Iterable[TeamRow]) -> dict[str, float] | None:
    """Hours by TIME user id, a user's rows (one per currency) added up; None when the
    report does not carry the figure. A user without time in the range is absent."""
    hours: dict[str, float] = {}
    for row in rows:
        if row.approved_billable_hours is UNSET:
            return None
        try:
            figure = float(row.approved_billable_hours)
        except (TypeError, ValueError) as error:
            raise SourceDataError(
                SourceSystem.TIME, f"malformed team report row {row.user_id}: {error!r}"
            ) from error
        user_id = str(row.user_id)
        hours[user_id] = hours.get(user_id, 0.0) + figure
    return hours

"""The TIME sandbox's indexes: per-project report sums and date-ordered selection stay
exactly what a scan of every row would give, through adds and changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from sandboxes.time.ledger import ProjectLedger
from sandboxes.time.table import SortKey, Table

START = date(2026, 1, 1)
STAMP = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Entry:
    id: str
    seq: int
    project_id: str
    spent_date: date
    hours: float
    updated_at: datetime = field(default=STAMP)


def newest_first(row: Entry) -> SortKey:
    return (-row.spent_date.toordinal(), -row.seq)


def hours(rows: Sequence[Entry]) -> float:
    total = 0.0
    for row in rows:
        total += row.hours
    return total


def entries(count: int) -> list[Entry]:
    return [
        Entry(
            id=str(i),
            seq=i,
            project_id=f"p{i % 3}",
            spent_date=START + timedelta(days=(i * 7) % 20),
            hours=0.1 * (i % 9 + 1),
        )
        for i in range(count)
    ]


def scanned(rows: Sequence[Entry], date_from: date, date_to: date) -> dict[str, float]:
    """What summing the whole table in order would give, per project."""
    found: dict[str, float] = {}
    for row in sorted(rows, key=lambda r: r.seq):
        if date_from <= row.spent_date <= date_to:
            found[row.project_id] = found.get(row.project_id, 0.0) + row.hours
    return found


RANGES = [
    pytest.param(date(1970, 1, 1), date(2999, 12, 31), id="all-time"),
    pytest.param(START + timedelta(days=3), START + timedelta(days=11), id="inside"),
    pytest.param(START + timedelta(days=5), START + timedelta(days=5), id="one-day"),
    pytest.param(date(2030, 1, 1), date(2030, 2, 1), id="after-all"),
    pytest.param(START + timedelta(days=9), START + timedelta(days=2), id="reversed"),
]


@pytest.mark.parametrize(("date_from", "date_to"), RANGES)
def test_the_ledger_sums_each_project_like_a_full_scan(date_from: date, date_to: date) -> None:
    rows = entries(200)
    ledger = ProjectLedger[Entry, float](hours)
    Table[Entry](rows, {}, watchers=[ledger])

    assert dict(ledger.totals(date_from, date_to)) == scanned(rows, date_from, date_to)


@pytest.mark.parametrize(("date_from", "date_to"), RANGES)
def test_the_ledger_follows_adds_and_changes(date_from: date, date_to: date) -> None:
    rows = entries(120)
    ledger = ProjectLedger[Entry, float](hours)
    table = Table[Entry](rows, {}, watchers=[ledger])
    dict(ledger.totals(date_from, date_to))  # sums are now kept

    added = Entry("new", 500, "p1", START + timedelta(days=4), 2.5)
    table.add(added)
    with table.updating(rows[7]):
        rows[7].hours = 9.75
    with table.updating(rows[8]):
        rows[8].project_id = "p9"  # a project of its own now
    with table.updating(rows[10]):
        rows[10].spent_date = START + timedelta(days=40)

    assert dict(ledger.totals(date_from, date_to)) == scanned([*rows, added], date_from, date_to)


def test_a_project_whose_rows_all_moved_away_drops_out_of_the_ledger() -> None:
    rows = [Entry("a", 0, "p1", START, 1.0), Entry("b", 1, "p2", START, 2.0)]
    ledger = ProjectLedger[Entry, float](hours)
    table = Table[Entry](rows, {}, watchers=[ledger])

    with table.updating(rows[0]):
        rows[0].project_id = "p2"

    assert dict(ledger.totals(START, START)) == {"p2": 3.0}


def test_select_without_conditions_lists_every_row_in_the_tables_order() -> None:
    rows = entries(50)
    table = Table[Entry](rows, {}, order=newest_first)

    assert table.select({}) == sorted(rows, key=newest_first)


@pytest.mark.parametrize(
    ("project", "since_days", "window"),
    [
        pytest.param(None, None, (3, 12), id="range-only"),
        pytest.param("p1", None, (3, 12), id="range-and-index"),
        pytest.param("p2", 2, None, id="index-and-updated-since"),
        pytest.param(None, 1, (0, 19), id="updated-since-and-range"),
        pytest.param("p0", 0, (6, 6), id="everything"),
        pytest.param("nope", None, (0, 19), id="no-such-index-value"),
    ],
)
def test_select_matches_a_filtered_sorted_scan(
    project: str | None, since_days: int | None, window: tuple[int, int] | None
) -> None:
    rows = entries(300)
    for i, row in enumerate(rows):
        row.updated_at = STAMP + timedelta(days=i % 4)
    table = Table[Entry](rows, {"project_id": lambda e: e.project_id}, order=newest_first)
    with table.updating(rows[5]):
        rows[5].spent_date = START + timedelta(days=6)
        rows[5].updated_at = STAMP + timedelta(days=9)
    since = None if since_days is None else STAMP + timedelta(days=since_days)
    within = None
    if window is not None:
        newest, oldest = (START + timedelta(days=d) for d in reversed(window))
        within = ((-newest.toordinal(),), (1 - oldest.toordinal(),))

    selected = table.select({} if project is None else {"project_id": project}, since, within)

    expected = sorted(
        (
            row
            for row in rows
            if (project is None or row.project_id == project)
            and (since is None or row.updated_at >= since)
            and (
                window is None
                or START + timedelta(days=window[0])
                <= row.spent_date
                <= START + timedelta(days=window[1])
            )
        ),
        key=newest_first,
    )
    assert selected == expected


def test_asking_again_after_an_add_or_a_change_sees_it() -> None:
    rows = entries(30)
    table = Table[Entry](rows, {"project_id": lambda e: e.project_id}, order=newest_first)
    first = table.select({"project_id": "p1"})
    assert table.select({"project_id": "p1"}) == first  # the pages of one listing

    table.add(Entry("new", 99, "p1", START, 1.0))
    added = table.select({"project_id": "p1"})
    with table.updating(rows[1]):  # entries(30)[1] is p1's
        rows[1].project_id = "p2"
    moved = table.select({"project_id": "p1"})

    assert [row.id for row in added] == sorted(
        [r.id for r in first] + ["new"], key=lambda i: newest_first(table[i])
    )
    assert "1" not in {row.id for row in moved}
    assert "1" in {row.id for row in table.select({"project_id": "p2"})}

"""The SuiteQL subset: what parses, what it means, and what it refuses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from sandboxes.erp.suiteql import SuiteQLError, parse
from sandboxes.erp.suiteql_engine import DictRow, Row, Table, compare, execute

COLUMNS = ("id", "name", "terms", "amount", "modified", "due", "inactive")


def customer(
    id: int,
    name: str | None,
    terms: int | None = 2,
    amount: str | None = "10.00",
    modified: datetime | None = None,
    due: date | None = None,
) -> DictRow:
    values = {
        "id": id,
        "name": name,
        "terms": terms,
        "amount": None if amount is None else Decimal(amount),
        "modified": modified,
        "due": due,
        "inactive": "F",
    }
    return DictRow(values, {"terms": {2: "Net 30", 3: "Net 45"}.get(terms or 0, "")})


ROWS = [
    customer(3, "Cedar Bank", terms=3, amount="30.50", modified=datetime(2024, 5, 1, tzinfo=UTC)),
    customer(1, "Apex Foods", amount="10.00", modified=datetime(2024, 4, 1, tzinfo=UTC)),
    customer(2, "Blue Ridge O'Neil", terms=None, amount=None, due=date(2024, 6, 30)),
    customer(10, "Zenith", terms=3, amount="5.25", modified=datetime(2024, 5, 1, tzinfo=UTC)),
]


def tables(rows: Sequence[Row] = ROWS, **extra: Table) -> Any:
    known = {"customer": Table("customer", COLUMNS, list(rows)), **extra}
    return known.__getitem__


def run(text: str, **kwargs: Any) -> list[dict[str, Any]]:
    return execute(parse(text), tables(), **kwargs).rows


def ids(text: str) -> list[Any]:
    return [row["id"] for row in run(text)]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        pytest.param("id IN (1, 3)", [1, 3], id="in-numbers"),
        pytest.param("id IN ('1', '10')", [1, 10], id="text-meets-number-as-number"),
        pytest.param("id NOT IN (1, 3)", [2, 10], id="not-in"),
        pytest.param("id NOT IN (1, NULL)", [], id="not-in-with-null-is-never-true"),
        pytest.param("terms IS NULL", [2], id="is-null"),
        pytest.param("terms IS NOT NULL", [1, 3, 10], id="is-not-null"),
        pytest.param("terms <> 3", [1], id="null-never-compares-true"),
        pytest.param("NOT terms = 3", [1], id="not-of-unknown-stays-unknown"),
        pytest.param("amount > 10", [3], id="decimal-comparison"),
        pytest.param("amount >= 10.00", [1, 3], id="decimal-equality-ignores-scale"),
        pytest.param("name LIKE 'B%'", [2], id="like-prefix"),
        pytest.param("name LIKE '%O''Neil'", [2], id="quote-escape-in-literal"),
        pytest.param("name NOT LIKE '_pex%'", [2, 3, 10], id="not-like-single-char"),
        pytest.param("id BETWEEN 2 AND 3", [2, 3], id="between-inclusive"),
        pytest.param("id = 1 OR id = 2 AND terms = 3", [1], id="and-binds-tighter-than-or"),
        pytest.param("(id = 1 OR id = 2) AND terms IS NULL", [2], id="parentheses"),
        pytest.param(
            "modified > TO_TIMESTAMP('2024-04-30 23:59:59.999', 'YYYY-MM-DD HH24:MI:SS.FF')",
            [3, 10],
            id="to-timestamp",
        ),
        pytest.param("modified >= '2024-05-01T00:00:00Z'", [3, 10], id="iso-text-as-timestamp"),
        pytest.param("due = TO_DATE('2024-06-30', 'YYYY-MM-DD')", [2], id="to-date"),
        pytest.param("inactive = 'F' AND id < 3", [1, 2], id="checkbox-text"),
    ],
)
def test_where_clauses_select_the_right_rows(where: str, expected: list[int]) -> None:
    assert ids(f"SELECT id FROM customer WHERE {where} ORDER BY id") == expected


def test_order_by_mixes_directions_and_puts_nulls_last_ascending() -> None:
    rows = run("SELECT id, terms FROM customer ORDER BY terms DESC, id")
    assert [r["id"] for r in rows] == [2, 3, 10, 1]  # NULL first when descending
    rows = run("SELECT id FROM customer ORDER BY terms, id DESC")
    assert [r["id"] for r in rows] == [1, 10, 3, 2]


def test_builtin_df_shows_the_referenced_name_and_aliases_name_columns() -> None:
    rows = run("SELECT id, BUILTIN.DF(terms) AS terms, name n FROM customer WHERE id = 3")
    assert rows == [{"id": 3, "terms": "Net 45", "n": "Cedar Bank"}]


def test_select_star_returns_every_column_in_table_order() -> None:
    (row,) = run("SELECT * FROM customer WHERE id = 1")
    assert list(row) == list(COLUMNS)


def test_group_by_sums_per_group_and_ignores_nulls() -> None:
    rows = run(
        "SELECT terms, SUM(amount) AS total, COUNT(*) AS n, COUNT(amount) "
        "FROM customer GROUP BY terms ORDER BY terms"
    )
    assert rows == [
        {"terms": 2, "total": Decimal("10.00"), "n": 1, "expr1": 1},
        {"terms": 3, "total": Decimal("35.75"), "n": 2, "expr1": 2},
        {"terms": None, "total": None, "n": 1, "expr1": 0},
    ]


def test_an_aggregate_over_no_rows_is_one_row() -> None:
    assert run("SELECT COUNT(*) AS n, MAX(modified) AS latest FROM customer WHERE id > 99") == [
        {"n": 0, "latest": None}
    ]


def test_max_of_timestamps() -> None:
    assert run("SELECT MAX(modified) FROM customer") == [
        {"expr1": datetime(2024, 5, 1, tzinfo=UTC)}
    ]


def test_in_accepts_a_subquery() -> None:
    lines = Table(
        "customerapply",
        ("customer", "doc"),
        [DictRow({"customer": 3, "doc": 7}), DictRow({"customer": 10, "doc": 8})],
    )
    result = execute(
        parse(
            "SELECT id FROM customer WHERE id IN "
            "(SELECT customer FROM customerapply WHERE doc IN (7, 8)) ORDER BY id"
        ),
        tables(customerapply=lines),
    )
    assert [r["id"] for r in result.rows] == [3, 10]


def test_paging_returns_the_page_and_the_total() -> None:
    result = execute(parse("SELECT id FROM customer ORDER BY id"), tables(), offset=1, limit=2)
    assert [r["id"] for r in result.rows] == [2, 3]
    assert result.total == 4


def test_distinct_collapses_equal_rows() -> None:
    assert run("SELECT DISTINCT terms FROM customer WHERE terms = 3") == [{"terms": 3}]


def indexed_customers(asked: list[tuple[str, tuple[Any, ...]]]) -> Table:
    """The customers in id order, with a lookup that notes what it is asked."""
    ordered = sorted(ROWS, key=lambda r: r.get("id"))

    def lookup(column: str, values: Sequence[Any]) -> Sequence[Row] | None:
        asked.append((column, tuple(values)))
        return [r for r in ordered if r.get(column) in values]

    return Table("customer", COLUMNS, ordered, ordered_by=("id",), lookup=lookup)


def test_an_index_answers_in_lists_and_presorted_tables_skip_sorting() -> None:
    asked: list[tuple[str, tuple[Any, ...]]] = []
    table = indexed_customers(asked)
    result = execute(
        parse("SELECT id FROM customer WHERE terms = 3 AND id IN (10, 3, 99) ORDER BY id"),
        {"customer": table}.__getitem__,
    )
    assert [r["id"] for r in result.rows] == [3, 10]
    assert asked == [("terms", (Decimal(3),))]


def test_a_subquerys_answer_finds_the_outer_rows_through_the_index() -> None:
    asked: list[tuple[str, tuple[Any, ...]]] = []
    customers = indexed_customers(asked)
    lines = Table("customerapply", ("customer", "doc"), [
        DictRow({"customer": 10, "doc": 7}), DictRow({"customer": 3, "doc": 8}),
        DictRow({"customer": 1, "doc": 9}),
    ])  # fmt: skip
    result = execute(
        parse(
            "SELECT id FROM customer WHERE id IN "
            "(SELECT customer FROM customerapply WHERE doc IN (7, 8)) ORDER BY id"
        ),
        {"customer": customers, "customerapply": lines}.__getitem__,
    )
    assert [r["id"] for r in result.rows] == [3, 10]
    assert asked == [("id", (10, 3))]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("DELETE FROM customer", id="not-a-select"),
        pytest.param("SELECT id FROM", id="no-table"),
        pytest.param("SELECT id FROM customer WHERE", id="empty-where"),
        pytest.param("SELECT id FROM customer WHERE id =", id="missing-operand"),
        pytest.param("SELECT id FROM customer WHERE id IN ()", id="empty-in-list"),
        pytest.param("SELECT id FROM customer WHERE id NOT = 1", id="not-before-comparison"),
        pytest.param("SELECT id FROM customer WHERE name = 'open", id="unterminated-string"),
        pytest.param("SELECT id FROM customer ORDER id", id="order-without-by"),
        pytest.param("SELECT id FROM customer; DROP TABLE customer", id="two-statements"),
        pytest.param(
            "SELECT id FROM customer WHERE modified > TO_TIMESTAMP('2024-05-01', 'DD/MM/YYYY')",
            id="unsupported-timestamp-format",
        ),
        pytest.param(
            "SELECT id FROM customer WHERE id IN (" + ", ".join(["1"] * 1001) + ")",
            id="in-list-over-1000",
        ),
        pytest.param(
            "SELECT id FROM customer WHERE id IN (SELECT id, name FROM customer)",
            id="subquery-with-two-columns",
        ),
    ],
)
def test_text_outside_the_subset_is_refused(text: str) -> None:
    with pytest.raises(SuiteQLError):
        parse(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("SELECT bogus FROM customer", "Field 'bogus'", id="unknown-column"),
        pytest.param("SELECT id FROM nowhere", "Record 'nowhere'", id="unknown-table"),
        pytest.param(
            "SELECT id, SUM(amount) FROM customer GROUP BY terms",
            "not a GROUP BY expression",
            id="ungrouped-column",
        ),
        pytest.param(
            "SELECT id FROM customer WHERE amount > 'lots'", "invalid", id="text-not-a-number"
        ),
    ],
)
def test_queries_that_cannot_run_say_why(text: str, message: str) -> None:
    with pytest.raises(SuiteQLError, match=message):
        run(text)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        pytest.param(1, Decimal("1.0"), 0, id="int-and-decimal"),
        pytest.param("2", 10, -1, id="text-as-number"),
        pytest.param("b", "a", 1, id="text"),
        pytest.param(date(2024, 1, 1), datetime(2024, 1, 1, 1, tzinfo=UTC), -1, id="date-as-ts"),
        pytest.param(datetime(2024, 1, 1), datetime(2024, 1, 1, tzinfo=UTC), 0, id="naive-is-utc"),
        pytest.param(None, 1, None, id="null"),
    ],
)
def test_compare_follows_oracle_conversions(left: Any, right: Any, expected: int | None) -> None:
    assert compare(left, right) == expected

"""The SuiteQL the connector writes: safe literals, filters, cursors — and that the sandbox's
parser reads every statement the connector can produce."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from sandboxes.erp.suiteql import parse
from sources.erp import queries
from sources.erp.cursors import ChangePosition, decode_offset
from sources.erp.queries import ENTITY_QUERIES, NoMatchError, entity_query, filter_clauses


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("O'Neil", "'O''Neil'", id="quote-doubled"),
        pytest.param("x' OR '1'='1", "'x'' OR ''1''=''1'", id="injection-stays-text"),
        pytest.param(42, "42", id="int"),
        pytest.param(Decimal("1.50"), "1.50", id="decimal"),
        pytest.param(True, "'T'", id="checkbox"),
        pytest.param(dt.date(2024, 5, 1), "TO_DATE('2024-05-01', 'YYYY-MM-DD')", id="date"),
        pytest.param(
            dt.datetime(2024, 5, 1, 13, 45, 0, 250000, tzinfo=dt.UTC),
            "TO_TIMESTAMP('2024-05-01 13:45:00.250000', 'YYYY-MM-DD HH24:MI:SS.FF')",
            id="timestamp",
        ),
    ],
)
def test_literals(value: Any, expected: str) -> None:
    assert queries.literal(value) == expected


def test_only_digit_ids_are_sent_as_internal_ids() -> None:
    assert queries.internal_ids(["12", "12", "7; DROP", "", 5]) == ["12", "5"]


@pytest.mark.parametrize(
    ("entity", "filters", "expected"),
    [
        pytest.param(
            "customer",
            {"crm_account_id": ["001A", "001'B"]},
            ["externalid IN ('001A', '001''B')"],
            id="external-ids-are-text",
        ),
        pytest.param(
            "job",
            {"customer_id": ["101", "x"], "psa_project_id": "1000001"},
            ["parent IN (101)", "externalid IN ('1000001')"],
            id="several-filters-and",
        ),
        pytest.param(
            "invoice",
            {"status": ["BLOCKED", "POSTED"]},
            ["((status = 'D' AND custbody_blocked_reason IS NOT NULL) OR status = 'A')"],
            id="invoice-statuses",
        ),
        pytest.param(
            "payment",
            {"invoice_id": ["600002"]},
            ["id IN (SELECT customerpayment FROM customerpaymentapply WHERE doc IN (600002))"],
            id="through-the-sublist",
        ),
    ],
)
def test_filters_become_where_clauses(
    entity: str, filters: dict[str, Any], expected: list[str]
) -> None:
    assert filter_clauses(entity, entity_query(entity), filters) == expected


@pytest.mark.parametrize(
    ("entity", "filters", "error"),
    [
        pytest.param("job", {"customer_id": []}, NoMatchError, id="empty-list"),
        pytest.param("job", {"customer_id": ["abc"]}, NoMatchError, id="ids-that-cannot-exist"),
        pytest.param("job", {"owner": ["x"]}, ValueError, id="unknown-filter"),
        pytest.param("invoice", {"status": ["LOST"]}, ValueError, id="unknown-status"),
    ],
)
def test_filters_that_cannot_be_answered(
    entity: str, filters: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        filter_clauses(entity, entity_query(entity), filters)


@pytest.mark.parametrize("entity", sorted(ENTITY_QUERIES))
def test_every_statement_the_connector_writes_parses(entity: str) -> None:
    query = entity_query(entity)
    moment = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    statements = [
        queries.by_ids(query, ["1", "2"]),
        queries.select(query, ["externalid = 'x'"]),
        queries.changed_since(query, moment, "42"),
        queries.changed_since(query, moment, None),
        queries.latest_change(query),
        queries.sums("invoice", "entity", "amountremaining", ["1"], queries.OPEN_RECEIVABLE),
    ]
    if query.lines is not None:
        statements.append(queries.lines_of(query.lines, ["1"]))
    for statement in statements:
        parse(statement)


def test_change_positions_round_trip() -> None:
    position = ChangePosition(dt.datetime(2024, 5, 1, 13, 45, 0, 250000, tzinfo=dt.UTC), "1042")
    assert position.encode() == "2024-05-01T13:45:00.250000Z|1042"
    assert ChangePosition.decode(position.encode()) == position
    assert ChangePosition.decode("2024-05-01T00:00:00.000000Z|").after_id is None


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("", id="empty"),
        pytest.param("2024-05-01", id="no-separator"),
        pytest.param("yesterday|1", id="not-a-time"),
        pytest.param("2024-05-01T00:00:00Z|1 OR 1=1", id="id-not-digits"),
    ],
)
def test_foreign_change_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match="cursor"):
        ChangePosition.decode(cursor)


def test_page_cursors_are_offsets() -> None:
    assert decode_offset(None) == 0
    assert decode_offset("300") == 300
    with pytest.raises(ValueError, match="cursor"):
        decode_offset("-1")

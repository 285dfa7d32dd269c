"""The SOQL subset: what parses, what is malformed, and how conditions match."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from sandboxes.crm.soql_engine import (
    Condition,
    Ordering,
    Query,
    SoqlError,
    matches,
    parse,
)
from sources.crm.soql import contains_pattern, quote


def test_a_full_query_parses_into_its_parts() -> None:
    query = parse(
        "select Id, Name from Opportunity "
        "where AccountId IN ('001A', '001B') and Amount >= 100.5 and IsWon = TRUE "
        "and SystemModstamp > 2024-01-01T00:00:00Z and CloseDate < 2024-06-30 "
        "and Name LIKE '%deal%' and PSA_Project_Id__c = null "
        "order by Name desc, Id limit 10 offset 20"
    )

    assert query == Query(
        sobject="Opportunity",
        fields=("Id", "Name"),
        where=(
            Condition("AccountId", "IN", ("001A", "001B")),
            Condition("Amount", ">=", Decimal("100.5")),
            Condition("IsWon", "=", True),
            Condition("SystemModstamp", ">", datetime(2024, 1, 1, tzinfo=UTC)),
            Condition("CloseDate", "<", date(2024, 6, 30)),
            Condition("Name", "LIKE", "%deal%"),
            Condition("PSA_Project_Id__c", "=", None),
        ),
        order_by=(Ordering("Name", descending=True), Ordering("Id")),
        limit=10,
        offset=20,
    )


def test_count_queries_select_no_fields() -> None:
    query = parse("SELECT COUNT() FROM Account WHERE Industry != 'Banking'")

    assert query.count
    assert query.fields == ()
    assert query.where == (Condition("Industry", "!=", "Banking"),)


def test_not_in_and_the_other_inequality_spelling() -> None:
    query = parse("SELECT Id FROM Account WHERE Id NOT IN ('a') AND Name <> 'x'")

    assert query.where == (Condition("Id", "NOT IN", ("a",)), Condition("Name", "!=", "x"))


@pytest.mark.parametrize(
    "soql",
    [
        pytest.param("", id="empty"),
        pytest.param("SELECT FROM Account", id="no-fields"),
        pytest.param("SELECT Id Account", id="no-from"),
        pytest.param("SELECT Id, FROM Account", id="dangling-comma"),
        pytest.param("SELECT Id FROM Account WHERE", id="empty-where"),
        pytest.param("SELECT Id FROM Account WHERE Name = 'x' OR Name = 'y'", id="or"),
        pytest.param("SELECT Id FROM Account WHERE (Name = 'x')", id="parentheses"),
        pytest.param("SELECT Id FROM Account WHERE Name = 'unterminated", id="open-quote"),
        pytest.param("SELECT Id FROM Account WHERE Name LIKE 5", id="like-number"),
        pytest.param("SELECT Id FROM Account WHERE Amount > null", id="null-ordering"),
        pytest.param("SELECT Id FROM Account WHERE Name NOT 'x'", id="not-without-in"),
        pytest.param("SELECT Id FROM Account WHERE Id IN ()", id="empty-in"),
        pytest.param("SELECT Id FROM Account LIMIT ten", id="limit-word"),
        pytest.param("SELECT Id FROM Account LIMIT 1.5", id="limit-fraction"),
        pytest.param("SELECT Id FROM Account ORDER Id", id="order-without-by"),
        pytest.param("SELECT Id FROM Account; DELETE", id="trailing-junk"),
        pytest.param("SELECT COUNT( FROM Account", id="count-unclosed"),
        pytest.param("SELECT Id FROM Account WHERE CloseDate = 2024-13-01", id="bad-date"),
    ],
)
def test_anything_outside_the_subset_is_malformed(soql: str) -> None:
    with pytest.raises(SoqlError) as raised:
        parse(soql)
    assert raised.value.code == "MALFORMED_QUERY"


def test_offsets_beyond_salesforces_ceiling_are_refused() -> None:
    with pytest.raises(SoqlError) as raised:
        parse("SELECT Id FROM Account OFFSET 2001")
    assert raised.value.code == "NUMBER_OUTSIDE_VALID_RANGE"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("O'Brien & Sons", id="quote"),
        pytest.param("back\\slash", id="backslash"),
        pytest.param("line\nbreak\ttab", id="control"),
        pytest.param("100% _real_", id="wildcards"),
    ],
)
def test_quoted_literals_mean_exactly_their_text(text: str) -> None:
    query = parse(f"SELECT Id FROM Account WHERE Name = {quote(text)}")
    assert query.where[0].value == text


@pytest.mark.parametrize(
    ("text", "value", "found"),
    [
        pytest.param("acme", "The ACME Corp", True, id="ignores-case"),
        pytest.param("100%", "Growth 100% guaranteed", True, id="literal-percent"),
        pytest.param("100%", "Growth 1000 guaranteed", False, id="percent-not-wildcard"),
        pytest.param("a_b", "xa_by", True, id="literal-underscore"),
        pytest.param("a_b", "xacby", False, id="underscore-not-wildcard"),
        pytest.param("O'B", "Pat O'Brien", True, id="quote"),
        pytest.param("back\\", "back\\slash", True, id="backslash"),
    ],
)
def test_contains_patterns_match_their_text_literally(text: str, value: str, found: bool) -> None:
    (condition,) = parse(f"SELECT Id FROM Account WHERE Name LIKE {contains_pattern(text)}").where
    assert matches(condition, value) is found


@pytest.mark.parametrize(
    ("condition", "value", "expected"),
    [
        pytest.param(Condition("Name", "=", "acme"), "ACME", True, id="text-equality-ignores-case"),
        pytest.param(Condition("Name", "=", None), None, True, id="null-equals-null"),
        pytest.param(Condition("Name", "!=", None), "x", True, id="value-is-not-null"),
        pytest.param(Condition("Name", "=", "x"), None, False, id="null-is-not-a-value"),
        pytest.param(Condition("Amount", ">", Decimal(5)), None, False, id="null-never-ordered"),
        pytest.param(Condition("Amount", "<=", Decimal(5)), Decimal(5), True, id="less-or-equal"),
        pytest.param(Condition("Id", "IN", ("a", "b")), "B", True, id="in"),
        pytest.param(Condition("Id", "NOT IN", ("a", "b")), "c", True, id="not-in"),
        pytest.param(Condition("Name", "LIKE", "ac_e%"), "Acme Corp", True, id="like-wildcards"),
        pytest.param(Condition("Name", "LIKE", "acme"), "acme corp", False, id="like-is-whole"),
        pytest.param(
            Condition("SystemModstamp", ">", datetime(2024, 1, 1, tzinfo=UTC)),
            datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC),
            True,
            id="datetime-after",
        ),
    ],
)
def test_conditions_match_as_soql_does(condition: Condition, value: object, expected: bool) -> None:
    assert matches(condition, value) is expected  # type: ignore[arg-type]

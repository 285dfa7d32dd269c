"""The rules that need no source: priority, and telling duplicate customers apart."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gateway.visibility.detectors.duplicate_customers import duplicates
from gateway.visibility.findings import ExceptionKind
from gateway.visibility.priority import priority
from sources.records import Customer

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
BLOCKED = ExceptionKind.INVOICE_BLOCKED


def test_more_money_at_risk_comes_first() -> None:
    assert priority(BLOCKED, Decimal(100_000), NOW, NOW) > priority(
        BLOCKED, Decimal(1000), NOW, NOW
    )


def test_of_two_equal_amounts_the_older_comes_first() -> None:
    old = NOW - dt.timedelta(days=30)
    assert priority(BLOCKED, Decimal(1000), old, NOW) > priority(BLOCKED, Decimal(1000), NOW, NOW)


def test_age_counts_only_up_to_three_months() -> None:
    long_ago = NOW - dt.timedelta(days=400)
    three_months = NOW - dt.timedelta(days=90)
    assert priority(BLOCKED, None, long_ago, NOW) == priority(BLOCKED, None, three_months, NOW)


def test_a_source_down_outranks_a_small_invoice() -> None:
    assert priority(ExceptionKind.SOURCE_DEGRADED, None, NOW, NOW) > priority(
        BLOCKED, Decimal(5000), NOW, NOW
    )


def customer(id: str, name: str, account: str | None) -> Customer:
    return Customer(id=id, name=name, crm_account_id=account)


def test_a_customer_keyed_in_by_hand_under_the_same_name_is_a_duplicate() -> None:
    found = duplicates(
        [customer("1", "Apex Bank Inc.", "001A"), customer("2", "Apex Bank, Inc", None)]
    )
    assert {k: [c.id for c in v] for k, v in found.items()} == {"001A": ["1", "2"]}


def test_a_legal_suffix_added_by_hand_still_matches() -> None:
    found = duplicates([customer("1", "Apex Bank", "001A"), customer("2", "APEX BANK INC", None)])
    assert list(found) == ["001A"]


def test_two_firms_that_differ_only_by_their_suffix_are_not_duplicates() -> None:
    customers = [
        customer("1", "Summit Manufacturing AG", "001A"),
        customer("2", "Summit Manufacturing Inc.", "001B"),
    ]
    assert duplicates(customers) == {}


def test_two_customers_linked_to_one_account_are_duplicates() -> None:
    found = duplicates([customer("1", "Apex", "001A"), customer("2", "Apex Two", "001A")])
    assert list(found) == ["001A"]

"""Picklist labels and dateTimes as Salesforce writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sources.crm.formats import (
    contract_type_code,
    contract_type_label,
    format_datetime,
    parse_datetime,
    stage_code,
    stage_label,
    stage_labels,
)

STAGES = [
    ("PROSPECTING", "Prospecting"),
    ("QUALIFICATION", "Qualification"),
    ("PROPOSAL", "Proposal/Price Quote"),
    ("NEGOTIATION", "Negotiation/Review"),
    ("CLOSED_WON", "Closed Won"),
    ("CLOSED_LOST", "Closed Lost"),
]


@pytest.mark.parametrize(
    ("code", "label"), [pytest.param(code, label, id=code) for code, label in STAGES]
)
def test_each_canonical_stage_has_its_salesforce_label(code: str, label: str) -> None:
    assert stage_label(code) == label
    assert stage_code(label) == code


@pytest.mark.parametrize(
    ("label", "code"),
    [
        pytest.param("Needs Analysis", "QUALIFICATION", id="needs-analysis"),
        pytest.param("Value Proposition", "QUALIFICATION", id="value-proposition"),
        pytest.param("Id. Decision Makers", "QUALIFICATION", id="decision-makers"),
        pytest.param("Perception Analysis", "PROPOSAL", id="perception-analysis"),
    ],
)
def test_the_rest_of_the_default_picklist_reads_as_the_nearest_stage(label: str, code: str) -> None:
    assert stage_code(label) == code
    assert label in stage_labels(code)


@pytest.mark.parametrize(
    ("is_won", "code"),
    [pytest.param(True, "CLOSED_WON", id="won"), pytest.param(False, "CLOSED_LOST", id="lost")],
)
def test_an_orgs_own_closed_stage_is_read_from_its_flags(is_won: bool, code: str) -> None:
    assert stage_code("Signed by Legal", is_closed=True, is_won=is_won) == code


def test_an_orgs_own_open_stage_is_not_guessed() -> None:
    with pytest.raises(ValueError, match="Discovery Call"):
        stage_code("Discovery Call", is_closed=False, is_won=False)


def test_unknown_canonical_stages_are_refused() -> None:
    with pytest.raises(ValueError, match="WON"):
        stage_label("WON")


@pytest.mark.parametrize(
    ("code", "label"),
    [
        pytest.param("FIXED_FEE", "Fixed Fee", id="fixed-fee"),
        pytest.param("TIME_AND_MATERIALS", "Time and Materials", id="t-and-m"),
        pytest.param("MILESTONE", "Milestone", id="milestone"),
    ],
)
def test_contract_types_round_trip(code: str, label: str) -> None:
    assert contract_type_label(code) == label
    assert contract_type_code(label) == code


def test_an_orgs_own_contract_type_keeps_its_words() -> None:
    assert contract_type_code("Retainer & Support") == "RETAINER_AND_SUPPORT"


def test_datetimes_are_written_in_utc_with_milliseconds() -> None:
    moment = datetime(2024, 5, 1, 12, 0, 0, 123_456, tzinfo=timezone(timedelta(hours=2)))

    assert format_datetime(moment) == "2024-05-01T10:00:00.123+0000"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2024-05-01T10:00:00.000+0000", id="salesforce"),
        pytest.param("2024-05-01T10:00:00Z", id="zulu"),
        pytest.param("2024-05-01T12:00:00+02:00", id="offset"),
        pytest.param("2024-05-01T10:00:00", id="naive-is-utc"),
    ],
)
def test_datetimes_are_read_in_any_iso_form(text: str) -> None:
    assert parse_datetime(text) == datetime(2024, 5, 1, 10, tzinfo=UTC)

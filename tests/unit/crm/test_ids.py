"""Salesforce ids: both forms name one record, and only consistent ids are accepted."""

from __future__ import annotations

import pytest

from sources.crm.ids import is_valid, make_id, to_18

ACCOUNT_15 = "001Dn00000AbCdE"


def test_the_18_char_form_adds_a_case_checksum() -> None:
    long = to_18(ACCOUNT_15)

    assert long[:15] == ACCOUNT_15
    assert len(long) == 18
    assert to_18(long) == long


def test_an_18_char_id_in_any_case_means_the_same_record() -> None:
    long = to_18(ACCOUNT_15)

    assert to_18(long.upper()) == long
    assert to_18(long.lower()) == long


def test_15_char_ids_differing_only_in_case_are_different_records() -> None:
    assert to_18(ACCOUNT_15) != to_18(ACCOUNT_15.swapcase())


def test_made_ids_are_canonical_and_carry_their_prefix() -> None:
    made = make_id("006", 123_456)

    assert made.startswith("006")
    assert to_18(made) == made
    assert make_id("006", 123_456) == made
    assert make_id("006", 123_457) != made


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("001Dn00000AbCd", id="14-chars"),
        pytest.param("001Dn00000AbCdEFG1", id="18-chars-bad-checksum"),
        pytest.param("001Dn00000AbCd!", id="punctuation"),
        pytest.param("001Dn00000AbCdEAAAA", id="19-chars"),
    ],
)
def test_malformed_ids_are_refused(value: str) -> None:
    assert not is_valid(value)

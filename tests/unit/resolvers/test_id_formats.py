"""Global ids are checked against their owning system's id format when decoded, so a key
that could escape its URL segment never reaches a connector."""

from __future__ import annotations

import pytest

from resolvers import ids
from resolvers.errors import InvalidIdError, InvalidInputError

GOOD = [
    ("Client", "0015g00000ABCDEAAA"),
    ("Client", "erp:101"),
    ("Opportunity", "0065g00000ABCDE"),
    ("Project", "1000001"),
    ("Milestone", "5000001"),
    ("Assignment", "7000001"),
    ("StaffingRequest", "8000001"),
    ("Resource", "0123456789abcdef0123456789abcdef"),
    ("Resource", "psa:3000001"),
    ("TimeEntry", "900000001"),
    ("Invoice", "600001"),
    ("Workflow", "6f1c1a4e-2b5d-4c3a-9e8f-0a1b2c3d4e5f"),
    ("BusinessException", "INVOICE_BLOCKED:600001"),
    ("BusinessException", "DUPLICATE_CUSTOMER:0015g00000ABCDEAAA"),
    ("BusinessException", "WORKFLOW_NEEDS_ATTENTION:6f1c1a4e-2b5d-4c3a-9e8f-0a1b2c3d4e5f"),
    ("BusinessException", "SOURCE_DEGRADED:ERP"),
]
BAD_KEYS = [".", "..", "a/b", "%2F", "1/../2", "x" * 10_000]


@pytest.mark.parametrize(("type_name", "key"), GOOD, ids=lambda v: str(v))
def test_vendor_shaped_keys_decode_unchanged(type_name: str, key: str) -> None:
    assert ids.decode(ids.encode(type_name, key)) == ids.GlobalId(type_name, key)


@pytest.mark.parametrize("type_name", sorted(ids.NODE_TYPES))
@pytest.mark.parametrize("key", BAD_KEYS, ids=lambda k: repr(k[:12]))
def test_keys_that_could_escape_a_url_segment_are_refused(type_name: str, key: str) -> None:
    with pytest.raises(InvalidIdError, match=f"not a valid {type_name} id|not a valid id"):
        ids.decode(ids.encode(type_name, key))


@pytest.mark.parametrize(
    ("type_name", "key"),
    [
        ("Client", "erp:0015g00000ABCDEAAA"),  # a CRM id behind the ERP prefix
        ("Resource", "psa:0123456789abcdef0123456789abcdef"),
        ("Project", "0015g00000ABCDEAAA"),  # another system's id
        ("TimeEntry", "0900000001 "),
        ("Workflow", "6f1c1a4e_2b5d"),
        ("BusinessException", "INVOICE_BLOCKED:60/01"),
        ("BusinessException", "invoice_blocked:600001"),
        ("BusinessException", "600001"),
    ],
)
def test_a_key_of_another_system_s_shape_is_refused(type_name: str, key: str) -> None:
    with pytest.raises(InvalidIdError):
        ids.decode(ids.encode(type_name, key))


def test_an_overlong_id_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(InvalidInputError, match="not a valid id"):
        ids.decode("A" * 10_000)


def test_the_error_names_the_argument_and_the_type() -> None:
    with pytest.raises(InvalidIdError, match=r"projectId: .* is not a valid Project id"):
        ids.decode(ids.encode("Project", ".."), "Project", argument="projectId")

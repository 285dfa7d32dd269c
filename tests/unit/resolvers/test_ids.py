from __future__ import annotations

import pytest

from resolvers import ids
from resolvers.errors import InvalidInputError


def test_an_id_is_opaque_and_decodes_back_to_its_type_and_key():
    global_id = ids.encode("Client", "001A00000000000001")

    assert "Client" not in global_id
    assert ids.decode(global_id) == ids.GlobalId("Client", "001A00000000000001")


def test_keys_may_contain_colons():
    assert ids.decode(ids.encode("Resource", "psa:42")).key == "psa:42"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("not base64 at all!", id="not-base64"),
        pytest.param("", id="empty"),
        pytest.param(ids.encode("Client", "x")[:-3] + "@@@", id="garbled"),
        pytest.param("QmFuYW5hOjE", id="unknown-type"),  # "Banana:1"
        pytest.param("Q2xpZW50", id="no-key"),  # "Client"
        pytest.param("Q2xpZW50Og", id="empty-key"),  # "Client:"
    ],
)
def test_a_value_that_is_not_one_of_our_ids_is_bad_input(value):
    with pytest.raises(InvalidInputError, match="not a valid id"):
        ids.decode(value)


def test_an_id_of_another_type_is_refused_with_both_types_named():
    with pytest.raises(InvalidInputError, match="clientId: expected a Client id, got a Project id"):
        ids.decode(ids.encode("Project", "P1"), "Client", argument="clientId")

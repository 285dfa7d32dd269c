"""node(id:) with a key that could escape its URL segment answers a clear error over HTTP,
and no source is called: ids are checked against their system's format when decoded."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from gql.transport.exceptions import TransportQueryError

from resolvers import ids
from sandboxes.runner import SandboxCluster
from sources.registry import SYSTEMS
from tests.e2e.conftest import GraphQL

NODE = "query($id: ID!) { node(id: $id) { id } }"
# The last is as long as the edge lets a string through once encoded (4,096 characters).
BAD_KEYS = [".", "..", "a/b", "%2F", "x" * 3_000]


def _upstream_requests(sandboxes: SandboxCluster) -> Counter[str]:
    seen: Counter[str] = Counter()
    for name in SYSTEMS:
        stats = httpx.get(f"{sandboxes[name].url}/_sandbox/stats", timeout=30).json()
        seen.update({f"{name} {route}": n for route, n in stats["routes"].items()})
    return seen


@pytest.mark.parametrize("type_name", ["TimeEntry", "Project", "Milestone", "Resource", "Client"])
@pytest.mark.parametrize("key", BAD_KEYS, ids=lambda key: repr(key[:8]))
async def test_a_malformed_key_is_a_clear_error_and_calls_no_source(
    graphql: GraphQL, sandboxes: SandboxCluster, type_name: str, key: str
) -> None:
    before = _upstream_requests(sandboxes)

    with pytest.raises(TransportQueryError) as raised:
        await graphql(NODE, id=ids.encode(type_name, key))

    assert raised.value.errors is not None
    error = raised.value.errors[0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "not a valid" in error["message"]
    assert len(error["message"]) < 300  # a 3 kB id is not echoed back whole
    assert _upstream_requests(sandboxes) - before == Counter()


async def test_a_well_formed_key_still_reaches_its_source(
    graphql: GraphQL, sandboxes: SandboxCluster
) -> None:
    before = _upstream_requests(sandboxes)

    found = await graphql(NODE, id=ids.encode("TimeEntry", "999999999"))

    assert found == {"node": None}
    assert _upstream_requests(sandboxes) - before != Counter()

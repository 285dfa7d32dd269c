"""Demand control over HTTP: an operation whose estimated cost passes the limit is
refused with COST_LIMIT, naming the cost and the limit, before any source is called."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from gateway.settings import DemandConfig, Settings
from sandboxes.runner import SandboxCluster
from tests.e2e.gateway_process import GatewayProcess, gateway_process
from tests.integration.gateway.conftest import request_counts

LIMIT = 2000
# 100 clients with 100 projects each, every project with its client: 30,301 reads.
NESTED = """
{ clients(first: 100) { edges { node { name
    projects(first: 100) { edges { node { name client { name } } } } } } } }
"""


def vendor_counts(sandboxes: SandboxCluster) -> dict[str, dict[str, int]]:
    """Requests the five systems served (the identity provider's are authentication's)."""
    return {name: routes for name, routes in request_counts(sandboxes).items() if name != "idp"}


@pytest.fixture(scope="module")
def gateway(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    directory = tmp_path_factory.mktemp("demand")
    demand = DemandConfig(max_cost=LIMIT)
    with gateway_process(demo_settings, sandboxes, directory, demand=demand) as gw:
        yield gw


@pytest.fixture
async def http(gateway: GatewayProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=gateway.url, headers=gateway.headers, timeout=60
    ) as client:
        yield client


async def post(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables or None})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_costly_operation_is_refused_before_any_source_is_called(http, sandboxes):
    before = vendor_counts(sandboxes)

    answer = await post(http, NESTED)

    error = answer["errors"][0]
    assert error["extensions"] == {"code": "COST_LIMIT", "cost": 30301, "limit": LIMIT}
    assert "30301" in error["message"]
    assert answer.get("data") is None
    assert vendor_counts(sandboxes) == before


async def test_the_page_size_in_a_variable_counts(http):
    query = "query($n: Int) { projects(first: $n) { edges { node { name client { name } } } } }"

    small = await post(http, query, n=10)
    large = await post(http, query, n=1000)

    assert "errors" not in small
    assert large["errors"][0]["extensions"]["cost"] == 3001


async def test_fragments_are_costed_where_they_are_spread(http):
    fragment = """
    fragment Projects on ClientConnection {
      edges { node { projects(first: 20) { edges { node { name } } } } }
    }
    """
    once = await post(http, "{ a: clients(first: 100) { ...Projects } }" + fragment)
    twice = await post(
        http,
        "{ a: clients(first: 100) { ...Projects } b: clients(first: 100) { ...Projects } }"
        + fragment,
    )

    assert once["errors"][0]["extensions"]["code"] == "COST_LIMIT"
    assert once["errors"][0]["extensions"]["cost"] == 100 * (1 + 1 + 20 * 2 + 1) + 1
    assert twice["errors"][0]["extensions"]["cost"] == 2 * once["errors"][0]["extensions"]["cost"]

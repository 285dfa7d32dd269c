"""The running gateway over real HTTP: a GraphQL client's operations show in `/metrics`
as a Prometheus scraper reads it, and `integrationHealth` answers the same client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport
from prometheus_client.parser import text_string_to_metric_families

from sandboxes.harness.identity import Identity
from sandboxes.harness.served import RunningGateway, serve
from sandboxes.runner import SandboxCluster
from tests.integration.gateway.conftest import gateway_settings


@pytest.fixture(scope="module")
def running_gateway(
    demo_settings: Any, sandboxes: SandboxCluster, tmp_path_factory: Any
) -> Iterator[RunningGateway]:
    store = tmp_path_factory.mktemp("gateway") / "store.db"
    running = serve(gateway_settings(demo_settings, sandboxes, store=store))
    yield running
    running.stop()


@pytest.fixture
async def session(running_gateway: RunningGateway, identity: Identity) -> AsyncIterator[Any]:
    transport = HTTPXAsyncTransport(
        url=running_gateway.graphql, timeout=60, headers=identity.headers_for("admin")
    )
    async with Client(transport=transport, fetch_schema_from_transport=True) as opened:
        yield opened


def operations_of(text: str, name: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "psgraph_graphql_operation_duration_seconds_count"
        and sample.labels.get("operation") == name
    )


async def test_a_clients_query_is_counted_in_the_metrics_a_scraper_reads(
    session: Any, running_gateway: RunningGateway
) -> None:
    before = httpx.get(f"{running_gateway.url}/metrics")
    await session.execute(GraphQLRequest("query Clients { clients(first: 2) { totalCount } }"))
    after = httpx.get(f"{running_gateway.url}/metrics")

    assert after.status_code == 200
    assert operations_of(after.text, "Clients") - operations_of(before.text, "Clients") == 1


async def test_integration_health_answers_the_client(session: Any) -> None:
    result = await session.execute(
        GraphQLRequest("query { integrationHealth { system status breaker errorRate } }")
    )
    assert {h["system"] for h in result["integrationHealth"]} == {
        "CRM",
        "PSA",
        "HCM",
        "ERP",
        "TIME",
    }
    assert all(h["breaker"] in ("closed", "open", "half-open") for h in result["integrationHealth"])

"""A real GraphQL client against the running gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport

from resolvers import ids
from sandboxes.harness.identity import Identity
from sandboxes.harness.served import RunningGateway, serve
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from tests.integration.gateway.conftest import QUICK, gateway_settings


@pytest.fixture(scope="module")
def running_gateway(
    demo_settings, sandboxes: SandboxCluster, tmp_path_factory
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
    # The client reads the schema first and checks every query against it.
    async with Client(transport=transport, fetch_schema_from_transport=True) as opened:
        yield opened


def request(query: str, **variables: Any) -> GraphQLRequest:
    return GraphQLRequest(query, variable_values=variables or None)


async def test_the_client_reads_the_schema_and_finds_the_contract(session):
    schema = session.client.schema

    assert {
        "node",
        "clients",
        "projects",
        "resources",
        "opportunities",
        "invoices",
        "timeEntries",
        "workflow",
        "workflows",
        "events",
    } <= set(schema.query_type.fields)


async def test_every_query_field_answers_over_http(session, world: World):
    project = world.projects[3]
    client = world.clients[project.client_key]
    person = world.people[3]

    data = await session.execute(
        request(
            """
            query($node: ID!, $client: ID!, $project: ID!, $resource: ID!) {
              node(id: $node) { id }
              clients(first: 2) { totalCount }
              projects(first: 2, clientId: $client) { totalCount }
              resources(first: 2) { totalCount }
              opportunities(first: 2, stage: CLOSED_WON) { totalCount }
              invoices(first: 2, clientId: $client) { totalCount }
              timeEntries(first: 2, projectId: $project) { totalCount }
              byPerson: timeEntries(first: 2, resourceId: $resource) { edges { cursor } }
              workflow(id: "V29ya2Zsb3c6MQ") { id }
              workflows(first: 2) { totalCount }
              events(first: 2) { cursor }
            }
            """,
            node=ids.encode("Client", client.crm_id),
            client=ids.encode("Client", client.crm_id),
            project=ids.encode("Project", project.psa_id),
            resource=ids.encode("Resource", person.hcm_id),
        )
    )

    assert data["node"] == {"id": ids.encode("Client", client.crm_id)}
    assert data["clients"]["totalCount"] == len(world.clients)
    assert data["projects"]["totalCount"] == sum(
        1 for p in world.projects if p.client_key == client.key
    )
    assert data["resources"]["totalCount"] == len(world.people)
    assert data["workflows"]["totalCount"] == 0


async def test_a_dashboard_pages_through_projects_with_cursors(session):
    query = """
    query($after: String) {
      projects(first: 40, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { node { code financeCode health { risks } } }
      }
    }
    """
    first = (await session.execute(request(query)))["projects"]
    second = (await session.execute(request(query, after=first["pageInfo"]["endCursor"])))[
        "projects"
    ]

    codes = [e["node"]["code"] for e in first["edges"] + second["edges"]]
    assert len(codes) == len(set(codes)) == 80
    assert first["pageInfo"]["hasNextPage"]


async def test_freshness_comes_back_in_the_extensions(session):
    result = await session.execute(
        request("{ projects(first: 3) { edges { node { client { name } } } } }"),
        get_execution_result=True,
    )

    assert set(result.extensions["freshness"]) == {"PSA", "CRM"}


async def test_bad_input_is_an_error_the_client_can_read(session):
    with pytest.raises(TransportQueryError) as raised:
        await session.execute(request('{ node(id: "not-an-id") { id } }'))

    assert raised.value.errors is not None
    assert raised.value.errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert raised.value.data == {"node": None}


async def test_partial_data_survives_an_outage_end_to_end(
    demo_settings, sandboxes: SandboxCluster, tmp_path, identity: Identity
):
    settings = gateway_settings(
        demo_settings, sandboxes, overrides={"erp": QUICK}, store=tmp_path / "store.db"
    )
    gateway = serve(settings)
    faults = f"{sandboxes['erp'].url}/_sandbox/faults"
    try:
        httpx.post(faults, json={"outage": True}).raise_for_status()
        transport = HTTPXAsyncTransport(
            url=gateway.graphql, timeout=30, headers=identity.headers_for("admin")
        )
        async with Client(transport=transport) as session:
            with pytest.raises(TransportQueryError) as raised:
                await session.execute(
                    request("{ projects(first: 3) { edges { node { name financeCode } } } }")
                )
    finally:
        httpx.delete(faults).raise_for_status()
        gateway.stop()

    assert raised.value.data is not None
    assert raised.value.errors is not None
    nodes = [edge["node"] for edge in raised.value.data["projects"]["edges"]]
    assert all(node["name"] and node["financeCode"] is None for node in nodes)
    assert {e["extensions"]["source"] for e in raised.value.errors} == {"ERP"}


async def test_the_wire_speaks_graphql_over_http(
    running_gateway: RunningGateway, identity: Identity
):
    async with httpx.AsyncClient(
        base_url=running_gateway.url, timeout=30, headers=identity.headers_for("admin")
    ) as http:
        strict = await http.post(
            "/graphql",
            json={"query": "{ projects { "},
            headers={"accept": "application/graphql-response+json"},
        )
        by_get = await http.get(
            "/graphql", params={"query": "{ clients(first: 1) { totalCount } }"}
        )
        mutation_by_get = await http.get("/graphql", params={"query": "mutation { x }"})
        page = await http.get("/graphql", headers={"accept": "text/html"})
        health = await http.get("/healthz")

    assert strict.status_code == 400
    assert strict.headers["content-type"].startswith("application/graphql-response+json")
    assert "data" not in strict.json()
    assert by_get.status_code == 200
    assert by_get.json()["data"]["clients"]["totalCount"] > 0
    assert mutation_by_get.status_code == 405
    assert "graphiql" in page.text.lower()
    assert health.json()["status"] == "ok"

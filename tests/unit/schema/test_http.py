"""GraphQL over HTTP at /graphql, and the health endpoints, in process."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from resolvers.limits import QueryLimits
from sources.errors import SourceUnavailable
from tests.unit.auth.fakes import LocalIssuer
from tests.unit.resolvers.fakes import CRM, ERP, firm
from tests.unit.schema.conftest import AUTHORITY

GRAPHQL_RESPONSE = "application/graphql-response+json"
QUERY = "{ projects(first: 2) { totalCount edges { node { name } } } }"


@pytest.fixture
def sources():
    return firm(4)


ISSUER = LocalIssuer()


def settings(tmp_path, **values) -> Settings:
    return Settings(
        store_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        auth=ISSUER.config(graphiql=True),
        **values,
    )


@pytest.fixture
async def client(sources, tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings(tmp_path, authority=AUTHORITY),
        connectors=sources.connectors,
        limits=QueryLimits(max_depth=6, max_aliases=3, max_tokens=200),
        verifier=ISSUER.verifier(),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", headers=ISSUER.headers()
        ) as http:
            yield http


async def test_a_query_is_posted_as_json(client):
    response = await client.post("/graphql", json={"query": QUERY})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["data"]["projects"]["totalCount"] == 4


async def test_a_query_may_be_sent_with_get(client):
    response = await client.get("/graphql", params={"query": QUERY})

    assert response.status_code == 200
    assert response.json()["data"]["projects"]["totalCount"] == 4


async def test_a_mutation_sent_with_get_is_refused(client):
    response = await client.get("/graphql", params={"query": "mutation { anything }"})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "mutations are not allowed when using GET" in response.text


async def test_graphql_response_json_is_used_when_the_client_accepts_it(client):
    response = await client.post(
        "/graphql", json={"query": QUERY}, headers={"accept": GRAPHQL_RESPONSE}
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"query": "{ projects { "}, "Syntax Error", id="parse"),
        pytest.param({"query": "{ nope }"}, "Cannot query field 'nope'", id="validation"),
        pytest.param(
            {
                "query": "query($n: Int!) { projects(first: $n) { totalCount } }",
                "variables": {"n": "many"},
            },
            "Int cannot represent non-integer value",
            id="variables",
        ),
        pytest.param(
            {"query": "{ " + "a: __typename " * 4 + "}"}, "TOO_MANY_ALIASES", id="aliases"
        ),
        pytest.param(
            {
                "query": "{ projects { edges { node { client { projects { edges { node {"
                " client { name } } } } } } } } }"
            },
            "QUERY_TOO_DEEP",
            id="depth",
        ),
        pytest.param(
            {"query": "{ " + "__typename " * 300 + "}"}, "DOCUMENT_TOO_LARGE", id="tokens"
        ),
    ],
)
async def test_a_request_that_cannot_run_is_a_400_without_data(client, body, message):
    response = await client.post("/graphql", json=body, headers={"accept": GRAPHQL_RESPONSE})

    assert response.status_code == 400
    payload = response.json()
    assert "data" not in payload
    assert message in json.dumps(payload["errors"])


async def test_older_clients_get_200_and_null_data_for_the_same(client):
    response = await client.post("/graphql", json={"query": "{ nope }"})

    assert response.status_code == 200
    assert response.json()["data"] is None


async def test_partial_data_is_200_with_errors_in_either_media_type(client, sources):
    sources.connectors[CRM].failure = SourceUnavailable(CRM, "down")
    response = await client.post(
        "/graphql",
        json={"query": "{ projects(first: 1) { edges { node { name client { name } } } } }"},
        headers={"accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 200
    payload = response.json()
    assert payload["data"]["projects"]["edges"][0]["node"] == {"name": "Project 0", "client": None}
    assert payload["errors"][0]["extensions"] == {"code": "SOURCE_UNAVAILABLE", "source": "CRM"}
    assert "freshness" in payload["extensions"]


async def test_browsers_get_graphiql(client):
    response = await client.get("/graphql", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_other_methods_are_not_allowed(client):
    assert (await client.put("/graphql", json={"query": QUERY})).status_code == 405


async def test_healthz_reports_each_source_and_that_capture_is_off(client):
    await client.post("/graphql", json={"query": QUERY})

    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["capture"] == "off"
    sources = response.json()["sources"]
    assert set(sources) == {"CRM", "PSA", "HCM", "ERP", "TIME"}
    assert sources["PSA"]["lastSuccess"] is not None
    assert sources["PSA"]["lastError"] is None


async def test_readyz_is_ready_while_a_source_answers_and_names_the_ones_failing(client, sources):
    sources.connectors[ERP].failure = SourceUnavailable(ERP, "HTTP 503")

    response = await client.get("/readyz", params={"probe": "true"})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["sources"]["ERP"]["lastErrorCode"] == "SOURCE_UNAVAILABLE"
    assert body["sources"]["CRM"]["consecutiveFailures"] == 0


async def test_readyz_is_503_when_no_source_is_configured(tmp_path):
    app = create_app(settings(tmp_path), connectors={})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        response = await http.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


async def test_shutting_down_closes_the_connectors(sources, tmp_path):
    app = create_app(settings(tmp_path, authority=AUTHORITY), connectors=sources.connectors)
    async with app.router.lifespan_context(app):
        pass

    assert all(connector.closed for connector in sources.connectors.values())

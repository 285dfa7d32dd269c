"""Admission of GraphQL documents, against the gateway in a process of its own: a
document that would cost too much is refused with a coded error, quickly, and the gateway
keeps answering everyone else meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from gateway.settings import Settings
from sandboxes.runner import SandboxCluster
from tests.e2e.gateway_process import GatewayProcess, gateway_process

# Generous: a loaded machine is slow, but a fragment bomb validated the old way took
# tens of seconds even at small sizes, and blocked the event loop all that while.
PATIENCE_S = 10.0


@pytest.fixture(scope="module")
def gateway(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    with gateway_process(demo_settings, sandboxes, tmp_path_factory.mktemp("admission")) as gw:
        yield gw


@pytest.fixture
async def http(gateway: GatewayProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=gateway.url, headers=gateway.headers, timeout=PATIENCE_S
    ) as client:
        yield client


async def post(http: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": query, "variables": variables or None})
    assert response.status_code < 500, response.text
    body: dict[str, Any] = response.json()
    return body


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def fragment_bomb(levels: int) -> str:
    """Each fragment spreads the one before it twice: 2**levels fields once expanded."""
    fragments = ["fragment F0 on Client { name }"]
    fragments += [
        f"fragment F{i} on Client {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels)
    ]
    operation = f"{{ clients(first: 1) {{ edges {{ node {{ ...F{levels - 1} }} }} }} }}"
    return "\n".join([operation, *fragments])


async def test_a_fragment_bomb_is_refused_while_health_checks_still_answer(http):
    bomb = asyncio.create_task(post(http, fragment_bomb(40)))
    health = [await http.get("/healthz") for _ in range(5)]

    answer = await bomb

    assert code(answer) == "QUERY_TOO_COMPLEX"
    assert "fragments are spread" in answer["errors"][0]["message"]
    assert all(response.status_code == 200 for response in health)


async def test_the_same_bomb_again_is_answered_from_the_cached_verdict(http):
    first = await post(http, fragment_bomb(30))
    second = await post(http, fragment_bomb(30))

    assert first == second
    assert code(second) == "QUERY_TOO_COMPLEX"


async def test_many_aliases_are_refused_with_a_coded_explained_error(http):
    query = "{ " + " ".join(f"a{i}: clients(first: 1) {{ totalCount }}" for i in range(500)) + " }"

    answer = await post(http, query)

    assert code(answer) == "TOO_MANY_ALIASES"
    assert "more than 30 aliases" in answer["errors"][0]["message"]
    assert answer["errors"][0]["extensions"]["limit"] == 30


async def test_depth_counts_through_fragments(http):
    query = """
    { projects(first: 1) { edges { node { ...P } } } }
    fragment P on Project { client { projects(first: 1) { edges { node { ...Q } } } } }
    fragment Q on Project { client { projects(first: 1) { edges { node { client { name } } } } } }
    """

    answer = await post(http, query)

    assert code(answer) == "QUERY_TOO_DEEP"
    assert answer["errors"][0]["extensions"]["limit"] == 12


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("{ " + "__typename " * 12_000 + "}", "DOCUMENT_TOO_LARGE", id="tokens"),
        pytest.param("{" * 3000 + "}" * 3000, "DOCUMENT_TOO_LARGE", id="nesting"),
        pytest.param(
            "{ clients(first: 1) { edges { node { " + "name " * 2500 + "} } } }",
            "QUERY_TOO_COMPLEX",
            id="fields",
        ),
        pytest.param(
            '{ clients(first: 1, search: "' + "x" * 100_000 + '") { totalCount } }',
            "DOCUMENT_TOO_LARGE",
            id="huge-literal",
        ),
        pytest.param(
            '{ clients(first: 1, search: "' + "x" * 5_000 + '") { totalCount } }',
            "INPUT_TOO_LONG",
            id="long-literal",
        ),
    ],
)
async def test_oversized_documents_are_refused_before_validation(http, query, expected):
    assert code(await post(http, query)) == expected


async def test_a_long_search_variable_is_refused_not_sent_upstream(http):
    query = "query($s: String) { clients(first: 1, search: $s) { totalCount } }"

    answer = await post(http, query, s="x" * 100_000)

    assert code(answer) == "INPUT_TOO_LONG"
    assert answer["errors"][0]["extensions"]["limit"] == 4096


async def test_a_search_at_the_cap_of_wide_characters_still_answers(http):
    query = "query($s: String) { clients(first: 1, search: $s) { totalCount } }"

    answer = await post(http, query, s="\U0001f600" * 4096)

    assert "errors" not in answer or code(answer) != "INTERNAL_SERVER_ERROR", answer


async def test_an_ordinary_query_is_admitted(http):
    answer = await post(http, "{ clients(first: 2) { totalCount edges { node { name } } } }")

    assert "errors" not in answer
    assert answer["data"]["clients"]["totalCount"] > 0

"""Seeded fuzzing of the gateway's edge, over real HTTP, against a gateway process.

Valid operations of the schema are mutated by a seeded RNG (bytes flipped, deleted and
duplicated, nesting deepened, huge strings and bad unicode spliced in) and sent as GraphQL
requests; valid CRM notifications are mutated the same way and pushed as webhooks, some
re-signed so that they get past the signature check. Whatever arrives, the gateway must
answer it: no 5xx, no reset connection, no request over a second, and its memory back
within 10% of where it started.

The size comes from `PSGRAPH_FUZZ_CASES` ("graphql,webhooks"): `make test` runs the
default below, `make fuzz` the full 10,000 + 2,000. `PSGRAPH_FUZZ_SEED` replays a run.
"""

from __future__ import annotations

import gc
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from gateway.settings import CacheConfig, QueryLimitsConfig, Settings
from sandboxes.runner import SandboxCluster
from tests.e2e.gateway_process import GatewayProcess, gateway_process

GRAPHQL_CASES, WEBHOOK_CASES = (
    int(n) for n in os.environ.get("PSGRAPH_FUZZ_CASES", "3000,600").split(",")
)
SEED = int(os.environ.get("PSGRAPH_FUZZ_SEED", "20261205"))
SLOWEST_S = 1.0
RSS_SLACK = 0.10
WARM_UP_CASES = 1000

# Valid operations of the schema, cheap to run, as the mutations' starting points.
OPERATIONS = [
    "{ __typename }",
    "{ clients(first: 2) { totalCount edges { cursor node { id name } } } }",
    "query($s: String) { clients(first: 3, search: $s) { edges { node { name } } } }",
    "{ projects(first: 2) { totalCount edges { node { id name status } } } }",
    "{ resources(first: 2) { edges { node { id } } pageInfo { hasNextPage endCursor } } }",
    "{ opportunities(first: 2, stage: CLOSED_WON) { totalCount } }",
    "{ workflows(first: 2) { totalCount } }",
    "{ events(first: 2) { cursor type } }",
    "query($id: ID!) { node(id: $id) { id __typename } }",
    "query Named { a: clients(first: 1) { totalCount } b: projects(first: 1) { totalCount } }",
    "{ clients(first: 1) { edges { node { ...C } } } } fragment C on Client { id name }",
    "{ __schema { queryType { name } types { name kind } } }",
]
VARIABLES: list[dict[str, object]] = [{}, {"s": "acme"}, {"id": "Q2xpZW50OjE"}, {"first": 2}]
NOTIFICATION = {
    "type": "opportunity.updated",
    "data": {"id": "006000000000001AAA", "changed_fields": ["StageName"]},
}
BAD_UNICODE = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf0\x28\x8c\xbc", b"\\ud800", b"\x00"]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits of `data`."""
    for _ in range(rng.randint(1, 4)):
        data = rng.choice(MUTATIONS)(data, rng)
    return data


def _flip(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    at = rng.randrange(len(data))
    return data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1 :]


def _delete(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    at = rng.randrange(len(data))
    return data[:at] + data[at + rng.randint(1, 16) :]


def _duplicate(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    piece = data[start : start + rng.randint(1, 64)]
    at = rng.randrange(len(data) + 1)
    return data[:at] + piece * rng.randint(1, 200) + data[at:]


def _nest(data: bytes, rng: random.Random) -> bytes:
    depth = rng.choice([10, 100, 1000, 20_000])
    opener, closer = rng.choice([(b"{a ", b"}"), (b"[", b"]"), (b"(", b")"), (b'{"a":', b"}")])
    at = rng.randrange(len(data) + 1)
    return data[:at] + opener * depth + closer * depth + data[at:]


def _huge_string(data: bytes, rng: random.Random) -> bytes:
    size = rng.choice([5_000, 100_000, 1_500_000])
    at = rng.randrange(len(data) + 1)
    return data[:at] + b'"' + b"x" * size + b'"' + data[at:]


def _bad_unicode(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(BAD_UNICODE) * rng.randint(1, 8) + data[at:]


MUTATIONS: list[Callable[[bytes, random.Random], bytes]] = [
    _flip,
    _flip,
    _delete,
    _duplicate,
    _nest,
    _huge_string,
    _bad_unicode,
]


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    content: bytes | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] | None = None


def graphql_case(rng: random.Random) -> Case:
    """A mutated document, sent in a well-formed body (to reach the parser), as a mutated
    body (to reach the edge's checks), or in a GET's query string."""
    document = mutate(rng.choice(OPERATIONS).encode(), rng)
    variables = rng.choice(VARIABLES)
    shape = rng.random()
    if shape < 0.5:
        text = document.decode("utf-8", "replace")
        body = json.dumps({"query": text, "variables": variables}).encode()
    elif shape < 0.85:
        body = mutate(
            json.dumps({"query": rng.choice(OPERATIONS), "variables": variables}).encode(), rng
        )
    else:
        query = document.decode("utf-8", "replace")[:4000]
        return Case("GET", "/graphql", params={"query": query})
    return Case("POST", "/graphql", body, headers={"content-type": "application/json"})


def webhook_case(rng: random.Random, gateway: GatewayProcess, number: int) -> Case:
    body = mutate(json.dumps(NOTIFICATION).encode(), rng)
    if rng.random() < 0.5:
        # Signed after the mutation: the body gets past the signature to the parsing.
        headers = gateway.signed(body, msg_id=f"msg_fuzz_{SEED}_{number}")
    else:
        headers = gateway.signed(json.dumps(NOTIFICATION).encode())
    return Case("POST", "/webhooks/crm", body, headers=headers)


@pytest.fixture(scope="module")
def gateway(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    # Small caches (reads, admission verdicts): bounded caches may fill as they like, and
    # small ones are full after the warm-up, so what memory does afterwards is the edge's.
    directory = tmp_path_factory.mktemp("fuzz")
    with gateway_process(
        demo_settings,
        sandboxes,
        directory,
        cache=CacheConfig(maxsize=10),
        query_limits=QueryLimitsConfig(document_cache_bytes=4096),
    ) as gw:
        yield gw


def send(http: httpx.Client, case: Case) -> tuple[int, float]:
    """The case's status and how long it took; a reset connection fails the test."""
    started = time.perf_counter()
    try:
        response = http.request(
            case.method, case.path, content=case.content, params=case.params, headers=case.headers
        )
    except httpx.TransportError as error:
        size = len(case.content or b"")
        if (size > 1_048_576 and case.path == "/graphql") or size > 262_144:
            # Refused mid-upload: the 413 may be lost with the connection it closed.
            return 413, time.perf_counter() - started
        raise AssertionError(f"{case.method} {case.path}: {error!r}") from error
    return response.status_code, time.perf_counter() - started


def run(http: httpx.Client, cases: Iterator[Case]) -> list[str]:
    failures = []
    for case in cases:
        status, elapsed = send(http, case)
        if status >= 500 or elapsed > SLOWEST_S:
            failures.append(
                f"{status} in {elapsed:.2f}s: {case.method} {case.content or case.params!r:.300}"
            )
    return failures


def test_mutated_requests_never_fail_the_gateway(gateway: GatewayProcess):
    rng = random.Random(SEED)
    with httpx.Client(base_url=gateway.url, headers=gateway.headers, timeout=30) as http:
        warm = random.Random(SEED + 1)
        run(http, (graphql_case(warm) for _ in range(WARM_UP_CASES)))
        gc.collect()
        before = gateway.rss_bytes()

        failures = run(http, (graphql_case(rng) for _ in range(GRAPHQL_CASES)))
        failures += run(
            http, (webhook_case(rng, gateway, number) for number in range(WEBHOOK_CASES))
        )
        health = http.get("/healthz")

    assert failures == [], f"{len(failures)} failures (seed {SEED}), first: {failures[:5]}"
    assert health.status_code == 200
    assert gateway.rss_bytes() <= before * (1 + RSS_SLACK)

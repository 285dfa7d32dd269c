"""Two gateway processes on one PostgreSQL store and one Redis bus: a change that reaches
either one reaches the subscribers of both."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from standardwebhooks.webhooks import Webhook

from resolvers import ids
from sandboxes.harness.processes import GatewayProcess, write_config
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from tests.support_services import require_service

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

SECRET_ENV = "PSGRAPH_TEST_CRM_WEBHOOK_SECRET"
EVENTS = """
subscription($after: String) {
  events(types: ["OpportunityClosedWon"], after: $after) { cursor type subjectId source }
}
"""


@pytest.fixture(scope="module")
def secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(scope="module")
def module_bus_prefix() -> str:
    return f"psgraph-test-{secrets.token_hex(6)}:"


@pytest.fixture(scope="module")
def gateways(
    tmp_path_factory: pytest.TempPathFactory,
    sandboxes: SandboxCluster,
    events_postgres_url: str,
    secret: str,
    module_bus_prefix: str,
) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    require_service("Redis", "127.0.0.1", 6379)
    tmp_path = tmp_path_factory.mktemp("gateways")
    started = []
    try:
        for name in ("a", "b"):
            config = tmp_path / f"gateway-{name}.yaml"
            write_config(
                config,
                sandboxes,
                store_url=events_postgres_url,
                bus_url="redis://127.0.0.1:6379/0",
                events={
                    "capture": False,
                    "bus_prefix": module_bus_prefix,
                    "webhook_secrets_env": {"crm": SECRET_ENV},
                    "log_poll_s": 30.0,  # so only Redis can bring the news in time
                },
            )
            process = GatewayProcess(config, tmp_path / f"gateway-{name}.log", {SECRET_ENV: secret})
            started.append(process.start())
        a, b = (process.ready() for process in started)
        yield a, b
    finally:
        for process in started:
            process.stop()


async def push_closed_won(gateway: GatewayProcess, secret: str, deal: str) -> dict[str, object]:
    body = json.dumps({"type": "opportunity.updated", "data": {"id": deal, "changed_fields": []}})
    sent = datetime.now(UTC)
    msg_id = f"msg_{secrets.token_hex(8)}"
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, sent, body),
    }
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{gateway.url}/webhooks/crm", content=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


async def head(gateway: GatewayProcess) -> str:
    async with httpx.AsyncClient(timeout=30, headers=gateway.headers) as http:
        response = await http.post(
            f"{gateway.url}/graphql", json={"query": "{ events(first: 1000) { cursor } }"}
        )
    cursors = [e["cursor"] for e in response.json()["data"]["events"]]
    return cursors[-1] if cursors else "0"


async def first_events(
    gateway: GatewayProcess, n: int, ready: asyncio.Event, after: str
) -> list[dict]:
    transport = WebsocketsTransport(
        url=gateway.ws, subprotocols=[transport_protocol()], init_payload=gateway.headers
    )
    got: list[dict] = []
    async with Client(transport=transport, execute_timeout=None) as session:
        stream = session.subscribe(GraphQLRequest(EVENTS, variable_values={"after": after}))
        ready.set()
        try:
            async for data in stream:
                got.append(data["events"])
                if len(got) == n:
                    break
        finally:
            await stream.aclose()  # ends the subscription before the connection closes
    return got


def transport_protocol() -> str:
    return WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL


async def test_a_change_received_by_one_gateway_reaches_a_subscriber_of_the_other(
    gateways: tuple[GatewayProcess, GatewayProcess], secret: str, world: World
):
    a, b = gateways
    won = [o.crm_id for o in world.opportunities if o.stage == "CLOSED_WON"][:2]
    on_a, on_b = asyncio.Event(), asyncio.Event()
    after = await head(a)
    subscriber_of_b = asyncio.create_task(first_events(b, 2, on_b, after))
    subscriber_of_a = asyncio.create_task(first_events(a, 2, on_a, after))
    await asyncio.wait_for(asyncio.gather(on_a.wait(), on_b.wait()), 10)

    first = await push_closed_won(a, secret, won[0])  # pushed to A...
    second = await push_closed_won(b, secret, won[1])  # ...and to B
    seen_by_b, seen_by_a = await asyncio.wait_for(
        asyncio.gather(subscriber_of_b, subscriber_of_a), 20
    )

    expected = [ids.encode("Opportunity", deal) for deal in won]
    assert [e["subjectId"] for e in seen_by_b] == expected, b.log()
    assert seen_by_a == seen_by_b
    assert [first["duplicate"], second["duplicate"]] == [False, False]


async def test_the_same_push_delivered_to_both_gateways_is_one_event(
    gateways: tuple[GatewayProcess, GatewayProcess], secret: str, world: World
):
    a, b = gateways
    deal = [o.crm_id for o in world.opportunities if o.stage == "CLOSED_WON"][5]

    answers = await asyncio.gather(
        push_closed_won(a, secret, deal), push_closed_won(b, secret, deal)
    )

    async with httpx.AsyncClient(timeout=30, headers=a.headers) as http:
        replay = await http.post(
            f"{a.url}/graphql",
            json={"query": '{ events(types: ["OpportunityClosedWon"], first: 100) { subjectId } }'},
        )
    subjects = [e["subjectId"] for e in replay.json()["data"]["events"]]
    assert subjects.count(ids.encode("Opportunity", deal)) == 1
    assert sum(len(answer["events"]) for answer in answers) == 1  # type: ignore[arg-type]

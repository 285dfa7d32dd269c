"""Two gateway processes with change capture on, on one PostgreSQL store and one Redis
bus: only one polls the sources (it says "leader" on /healthz, the other "standby"); a
change made in a sandbox reaches a subscriber either way; and when the leader is stopped
the standby takes over the polling, so later changes still arrive."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from gateway.settings import Settings
from gateway.store import Store
from resolvers import ids
from sandboxes.harness.processes import GatewayProcess, write_config
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from sources.registry import make_connector
from sources.time.connector import TimeConnector
from tests.conftest import reset, source_settings
from tests.support_services import require_service

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

LEASE_S = 3.0  # a standby tries every second
WAIT_S = 30.0  # generous: two processes and the sandboxes share a busy machine
EVENTS = """
subscription($after: String) {
  events(types: ["TimeApproved"], after: $after) { cursor subjectId }
}
"""


@pytest.fixture
def gateways(
    tmp_path_factory: pytest.TempPathFactory,
    sandboxes: SandboxCluster,
    events_postgres_url: str,
) -> Iterator[list[GatewayProcess]]:
    require_service("Redis", "127.0.0.1", 6379)
    tmp_path = tmp_path_factory.mktemp("leadership")
    prefix = f"psgraph-test-{secrets.token_hex(6)}:"
    started = []
    try:
        for name in ("a", "b"):
            config = write_config(
                tmp_path / f"gateway-{name}.yaml",
                sandboxes,
                store_url=events_postgres_url,
                bus_url="redis://127.0.0.1:6379/0",
                events={
                    "capture": True,
                    "capture_lease_s": LEASE_S,
                    "poll": {"time": {"time_entry": 0.5}},
                    "baseline": {},
                    "bus_prefix": prefix,
                },
            )
            started.append(GatewayProcess(config, tmp_path / f"gateway-{name}.log").start())
        yield [process.ready() for process in started]
    finally:
        for process in started:
            process.stop()
        reset(sandboxes, "time")


@pytest.fixture
async def store(events_postgres_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(events_postgres_url, migrate=False)
    yield opened
    await opened.close()


@pytest.fixture
async def time_source(
    demo_settings: Settings, sandboxes: SandboxCluster
) -> AsyncIterator[TimeConnector]:
    connector = make_connector("time", source_settings(demo_settings, sandboxes, "time"))
    assert isinstance(connector, TimeConnector)
    yield connector
    await connector.aclose()


async def health(gateway: GatewayProcess) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"{gateway.url}/healthz")
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


async def role(gateway: GatewayProcess) -> str:
    return str((await health(gateway))["capture"])


async def until_a_leader(gateways: list[GatewayProcess]) -> GatewayProcess:
    async with asyncio.timeout(WAIT_S):
        while True:
            for gateway in gateways:
                if await role(gateway) == "leader":
                    return gateway
            await asyncio.sleep(0.2)


async def until_watching(leader: GatewayProcess) -> None:
    """Until the leader says it has taken a cursor on all it polls (TIME's time entries)."""
    async with asyncio.timeout(WAIT_S):
        while not (await health(leader))["captureWatching"]:
            await asyncio.sleep(0.1)


async def subscribe(gateway: GatewayProcess, got: asyncio.Queue[str], ready: asyncio.Event) -> Any:
    transport = WebsocketsTransport(
        url=gateway.ws,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload=gateway.headers,
    )
    async with Client(transport=transport, execute_timeout=None) as session:
        stream = session.subscribe(GraphQLRequest(EVENTS, variable_values={"after": "0"}))
        ready.set()
        async for data in stream:
            await got.put(data["events"]["subjectId"])


async def test_one_gateway_polls_and_the_other_takes_over_when_it_stops(
    gateways: list[GatewayProcess], store: Store, time_source: TimeConnector, world: World
):
    submitted = [e.time_id for e in world.time_entries if e.status == "SUBMITTED"][:2]
    leader = await until_a_leader(gateways)
    [standby] = [gateway for gateway in gateways if gateway is not leader]
    assert await role(standby) == "standby"
    lease = await store.leases.get("capture")
    assert lease is not None
    await until_watching(leader)
    assert await store.cursors.get("TIME", "time_entry") is not None
    assert not (await health(standby))["captureWatching"]

    got: asyncio.Queue[str] = asyncio.Queue()
    ready = asyncio.Event()
    subscriber = asyncio.create_task(subscribe(standby, got, ready))
    try:
        await asyncio.wait_for(ready.wait(), WAIT_S)
        await time_source.approve([submitted[0]])  # directly in the TIME sandbox
        first = await asyncio.wait_for(got.get(), WAIT_S)

        await asyncio.to_thread(leader.stop)  # Ctrl-C: the lease is released on the way out
        assert await until_a_leader([standby]) is standby
        await time_source.approve([submitted[1]])
        second = await asyncio.wait_for(got.get(), WAIT_S)
    finally:
        subscriber.cancel()
        with pytest.raises(asyncio.CancelledError):
            await subscriber

    assert [first, second] == [ids.encode("TimeEntry", entry) for entry in submitted]
    taken = await store.leases.get("capture")
    assert taken is not None
    assert taken.holder != lease.holder

"""The running gateway, served by uvicorn on a loopback port in the test's event loop,
driven by real clients: gql over WebSocket (graphql-transport-ws and legacy graphql-ws)
and httpx-sse (GraphQL over SSE). Sources are the session's sandboxes; each gateway has
its own SQLite store and the events settings its test asks for."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from httpx_sse import aconnect_sse
from standardwebhooks.webhooks import Webhook

from gateway.app import Gateway, create_app
from gateway.settings import AutomationConfig, EventsConfig, Settings
from sandboxes.harness.identity import Identity, auth_at
from sandboxes.harness.served import Served, serving, sources_at
from sandboxes.runner import SandboxCluster
from tests.conftest import reset

GRAPHQL_TRANSPORT_WS = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL
LEGACY_GRAPHQL_WS = WebsocketsTransport.APOLLO_SUBPROTOCOL
WAIT_S = 20.0  # generous: a poll interval, a sandbox round trip and a push retry


@dataclass(frozen=True)
class EventsGateway(Served):
    headers: dict[str, str] = field(default_factory=dict)  # an admin's bearer token

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.app.state.gateway
        return gateway

    @property
    def ws(self) -> str:
        return self.graphql.replace("http://", "ws://")

    async def query(self, query: str, **variables: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                self.graphql, json={"query": query, "variables": variables}, headers=self.headers
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def ws_subscribe(
        self, query: str, variables: dict[str, Any] | None = None, **options: Any
    ) -> AsyncIterator[dict[str, Any]]:
        return ws_subscribe(self.ws, query, variables, headers=self.headers, **options)

    def sse_subscribe(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        return sse_subscribe(self.graphql, query, variables, headers=self.headers)

    async def until_polling(self, system: str, entity: str) -> None:
        """Until the poller of (system, entity) has taken its first cursor."""
        store = self.gateway.store
        assert store is not None
        async with asyncio.timeout(WAIT_S):
            while await store.cursors.get(system, entity) is None:
                await asyncio.sleep(0.05)


def automations_on(*names: str) -> list[AutomationConfig]:
    """The gateway's automations with exactly `names` switched on."""
    known = EventsConfig().automations
    unknown = set(names) - {a.name for a in known}
    assert not unknown, f"no automations {sorted(unknown)}"
    return [a.model_copy(update={"enabled": a.name in names}) for a in known]


def events_settings(
    demo: Settings, cluster: SandboxCluster, store_dir: Path, **events: Any
) -> Settings:
    """The demo settings pointed at the cluster, on a store of their own, with `events`
    (capture on, nothing polled unless asked)."""
    config = EventsConfig(
        **{"capture": True, "poll": {}, "baseline": {}, "log_poll_s": 0.2, **events}
    )
    return auth_at(demo, cluster).model_copy(
        update={
            "sources": sources_at(demo, cluster),
            "store_url": f"sqlite+aiosqlite:///{store_dir / f'gw-{secrets.token_hex(4)}.db'}",
            "events": config,
        }
    )


# --- subscribers ------------------------------------------------------------------------


async def ws_subscribe(
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    protocol: str = GRAPHQL_TRANSPORT_WS,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Each `data` of a subscription over WebSocket (gql raises on GraphQL errors); the
    bearer token in `headers` goes in the connection_init payload."""
    transport = WebsocketsTransport(url=url, subprotocols=[protocol], init_payload=headers or {})
    async with Client(transport=transport, execute_timeout=None) as session:
        request = GraphQLRequest(query, variable_values=variables)
        async for data in session.subscribe(request):
            yield data


async def sse_subscribe(
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Each result of an operation over GraphQL over SSE, until `complete`."""
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(30, read=None)) as http,
        aconnect_sse(
            http,
            "POST",
            url,
            json={"query": query, "variables": variables or {}},
            headers={**(headers or {}), "accept": "text/event-stream"},
        ) as source,
    ):
        source.response.raise_for_status()
        async for event in source.aiter_sse():
            if event.event == "complete":
                return
            if event.event == "next":
                yield event.json()


class Collector:
    """Runs a subscription in the background, keeping what arrives, so a test can act and
    then wait for what it expects."""

    def __init__(self, stream: AsyncIterator[dict[str, Any]]) -> None:
        self.items: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self.task = asyncio.create_task(self._run(stream))

    async def _run(self, stream: AsyncIterator[dict[str, Any]]) -> None:
        try:
            async for item in stream:
                self.items.append(item)
                self._arrived.set()
        finally:
            self._arrived.set()  # wake whoever waits: the stream has ended

    async def until(self, n: int, timeout: float = WAIT_S) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while len(self.items) < n:
                if self.task.done():
                    self.task.result()  # the subscription failed: say why
                    raise AssertionError(f"the subscription ended after {len(self.items)}")
                self._arrived.clear()
                await self._arrived.wait()
        return self.items[:n]

    async def until_true(
        self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = WAIT_S
    ) -> list[dict[str, Any]]:
        """Everything so far, once `done(everything)` holds."""
        async with asyncio.timeout(timeout):
            while not (self.items and done(self.items)):
                if self.task.done():
                    self.task.result()
                    raise AssertionError(f"the subscription ended after {len(self.items)}")
                self._arrived.clear()
                await self._arrived.wait()
        return list(self.items)

    async def stop(self) -> None:
        self.task.cancel()
        with suppress(asyncio.CancelledError, Exception):  # how it ended is not the point
            await self.task


class Collectors:
    """`collect(stream)` starts a `Collector`; all are stopped at the end."""

    def __init__(self) -> None:
        self._running: list[Collector] = []

    def __call__(self, stream: AsyncIterator[dict[str, Any]]) -> Collector:
        collector = Collector(stream)
        self._running.append(collector)
        return collector

    async def stop_all(self) -> None:
        for collector in self._running:
            await collector.stop()
        self._running.clear()


@pytest.fixture
async def collect() -> AsyncIterator[Collectors]:
    collectors = Collectors()
    yield collectors
    await collectors.stop_all()


@pytest.fixture
def serve_gateway(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path: Path, collect: Collectors
) -> Callable[..., Any]:
    """`async with serve_gateway(poll={...}, ...) as gw:` a gateway with those events
    settings; subscribers started with `collect` are stopped before it shuts down."""

    @asynccontextmanager
    async def open_(*, start_workflow: Any = None, **events: Any) -> AsyncIterator[EventsGateway]:
        settings = events_settings(demo_settings, sandboxes, tmp_path, **events)
        app = create_app(settings, start_workflow=start_workflow)
        admin = Identity.of(sandboxes, demo_settings).headers_for("admin")
        async with serving(app) as served:
            try:
                yield EventsGateway(served.app, served.url, admin)
            finally:
                await collect.stop_all()

    return open_


# --- sandboxes ------------------------------------------------------------------------


@pytest.fixture
def restore_sandboxes(sandboxes: SandboxCluster) -> Iterator[Callable[[str], None]]:
    """`restore("crm")`: that sandbox is reset to the seeded world, and its webhook targets
    removed, after the test (the cluster is shared by the whole run)."""
    touched: set[str] = set()
    yield touched.add
    for name in touched:
        httpx.delete(f"{sandboxes[name].url}/_sandbox/webhooks").raise_for_status()
        reset(sandboxes, name)  # patient: a reset reseeds the whole sandbox


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_push(secret: str, payload: dict[str, Any], msg_id: str) -> tuple[str, dict[str, str]]:
    body = json.dumps(payload)
    sent = datetime.now(UTC)
    return body, {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, sent, body),
    }

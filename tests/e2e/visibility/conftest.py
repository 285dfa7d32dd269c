"""The gateway served with the exceptions monitor on, scanning often, and what the
visibility tests share: waiting for the queue, following `exceptionsChanged`, and writing
to the sandboxes through each vendor's own API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from gateway.settings import Settings, VisibilityConfig
from resolvers import ids
from sandboxes.harness.identity import Identity
from sandboxes.harness.served import RunningGateway, serve, settings_for
from sandboxes.runner import SandboxCluster
from tests.conftest import WORLD_TODAY
from tests.e2e.conftest import GraphQL, graphql_client

SCAN_INTERVAL_S = 2.0
WAIT_S = 60.0  # generous: the machine is shared

EXCEPTIONS = """
query($kind: ExceptionKind, $status: ExceptionStatus, $first: Int) {
  exceptions(kind: $kind, status: $status, first: $first) {
    totalCount
    edges { node {
      id kind status ownerTeam priority summary suggestedAction source
      detectedAt acknowledgedAt resolvedAt revenueAtRisk { amount currency }
    } }
  }
}
"""

REMEDY = """
mutation($id: ID!, $key: String!) {
  remediateException(id: $id, idempotencyKey: $key) { id kind status }
}
"""

SUBJECT = """
query($id: ID!) { node(id: $id) { ... on BusinessException { subject { __typename id } } } }
"""


def exception_id(kind: str, subject: str) -> str:
    """The global id of the exception of `kind` about the native id `subject`."""
    return ids.encode("BusinessException", f"{kind}:{subject}")


@dataclass
class Visibility:
    gql: GraphQL
    url: str
    changes: list[dict[str, Any]] = field(default_factory=list)

    async def queue(self, kind: str | None = None, status: str | None = None) -> dict[str, Any]:
        """Exception global id -> the exception, of the whole queue (or of `kind`)."""
        found = await self.gql(EXCEPTIONS, kind=kind, status=status, first=1000)
        return {edge["node"]["id"]: edge["node"] for edge in found["exceptions"]["edges"]}

    async def subject(self, exception: dict[str, Any]) -> dict[str, Any] | None:
        """What the exception is about, as a node (typename and global id)."""
        found = await self.gql(SUBJECT, id=exception["id"])
        return found["node"]["subject"]  # type: ignore[no-any-return]

    async def until(
        self, kind: str, subject: str, check: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """The exception once `check` holds for it, as `Query.exceptions` shows it."""
        wanted = exception_id(kind, subject)
        last: dict[str, Any] | None = None
        async with asyncio.timeout(WAIT_S):
            while True:
                last = (await self.queue(kind)).get(wanted)
                if last is not None and check(last):
                    return last
                await asyncio.sleep(0.5)

    async def opened(self, kind: str, subject: str) -> dict[str, Any]:
        return await self.until(kind, subject, lambda x: x["status"] != "RESOLVED")

    async def resolved(self, kind: str, subject: str) -> dict[str, Any]:
        return await self.until(kind, subject, lambda x: x["status"] == "RESOLVED")

    async def pushed(self, kind: str, subject: str, status: str) -> dict[str, Any]:
        """The `exceptionsChanged` message saying the exception reached `status`."""
        wanted = exception_id(kind, subject)
        async with asyncio.timeout(WAIT_S):
            while True:
                for change in self.changes:
                    if change["id"] == wanted and change["status"] == status:
                        return change
                await asyncio.sleep(0.2)


async def _follow(
    url: str, headers: dict[str, str], into: list[dict[str, Any]], ready: asyncio.Event
) -> None:
    query = "subscription { exceptionsChanged { id kind status resolvedAt ownerTeam } }"
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None), headers=headers) as client,
        aconnect_sse(client, "POST", url, json={"query": query}) as source,
    ):
        source.response.raise_for_status()
        ready.set()
        async for event in source.aiter_sse():
            if event.event == "next":
                into.append(json.loads(event.data)["data"]["exceptionsChanged"])


def after_the_first_scan(running: RunningGateway, identity: Identity) -> RunningGateway:
    """`running` once its monitor's start-up scan is stored. That scan publishes every
    exception of the seeded world at once: a test's stream that subscribed during that
    burst could fall behind and be ended as a slow consumer, and miss what the test makes."""
    headers = identity.headers_for("admin")
    query = "query { exceptions(first: 1) { totalCount } }"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = httpx.post(running.graphql, json={"query": query}, headers=headers, timeout=60)
        if ((found.json().get("data") or {}).get("exceptions") or {}).get("totalCount"):
            return running
        time.sleep(0.5)
    raise TimeoutError("the monitor's first scan did not finish")


@pytest.fixture(scope="module")
def running_gateway(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    """One gateway for the module, scanning every SCAN_INTERVAL_S, its calendar the world's."""
    store = tmp_path_factory.mktemp("visibility") / "store.db"
    running = serve(monitored(demo_settings, sandboxes, store, unposted_after_s=0.0))
    yield after_the_first_scan(running, Identity.of(sandboxes, demo_settings))
    running.stop()


def monitored(demo: Settings, cluster: SandboxCluster, store: Path, **visibility: Any) -> Settings:
    """The test gateway's settings with the monitor on, scanning every SCAN_INTERVAL_S, its
    calendar the world's (and `visibility`'s other settings)."""
    config = VisibilityConfig(
        monitor=True, scan_interval_s=SCAN_INTERVAL_S, today=WORLD_TODAY, **visibility
    )
    return settings_for(demo, cluster, store).model_copy(update={"visibility": config})


@pytest.fixture
async def visibility(
    running_gateway: RunningGateway, identity: Identity
) -> AsyncIterator[Visibility]:
    """An admin's GraphQL client of the gateway, following `exceptionsChanged` from now on."""
    admin = identity.headers_for("admin")
    async with graphql_client(running_gateway.graphql, admin, timeout=120) as client:
        found = Visibility(client, running_gateway.url)
        ready = asyncio.Event()
        follower = asyncio.create_task(
            _follow(running_gateway.graphql, admin, found.changes, ready)
        )
        await asyncio.wait_for(ready.wait(), WAIT_S)
        await asyncio.sleep(1.0)  # the stream's headers come before its bus subscription
        try:
            yield found
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)


QUOTA_WAIT_S = 30  # TIME's quota window is 15 s


class Vendor:
    """Plain HTTP to one sandbox's vendor API, with its token: how someone working in
    that system changes it, behind the gateway's back."""

    def __init__(self, base_url: str, token: str) -> None:
        self._client = httpx.Client(
            base_url=base_url, headers={"authorization": f"Bearer {token}"}, timeout=60
        )

    def close(self) -> None:
        self._client.close()

    def call(self, method: str, path: str, **options: Any) -> httpx.Response:
        """The vendor's answer; a 429 is waited out as its Retry-After asks, as any client
        of the vendor would: the gateway's reads spend the same token's quota (TIME's)."""
        deadline = time.monotonic() + QUOTA_WAIT_S
        response = self._client.request(method, path, **options)
        while response.status_code == 429 and time.monotonic() < deadline:
            time.sleep(float(response.headers.get("retry-after", "1")))
            response = self._client.request(method, path, **options)
        if response.is_error:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text}")
        return response


@pytest.fixture(scope="module")
def vendors(sandboxes: SandboxCluster, demo_settings: Settings) -> Iterator[dict[str, Vendor]]:
    opened = {
        name: Vendor(sandboxes[name].url, token)
        for name, token in demo_settings.sandbox.tokens.items()
    }
    yield opened
    for vendor in opened.values():
        vendor.close()

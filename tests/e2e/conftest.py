"""What the end-to-end workflow tests share: the gateway served with a GraphQL client to
drive it, and connectors of their own, to look in the sandboxes behind the gateway's back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport

from gateway.app import create_app
from gateway.settings import Settings
from gateway.workflows.systems import Systems
from sandboxes.harness.identity import Identity
from sandboxes.harness.served import serving, settings_for
from sandboxes.runner import SandboxCluster
from tests.conftest import connected


@pytest.fixture
async def systems(sandboxes: SandboxCluster, demo_settings: Settings) -> AsyncIterator[Systems]:
    async with connected(demo_settings, sandboxes) as systems:
        yield systems


WORKFLOW = """
query($id: ID!) {
  workflow(id: $id) {
    id kind status idempotencyKey startedAt finishedAt
    steps { name system status attempts error }
    result { __typename id ... on Project { name financeCode status } }
  }
}
"""
SETTLED = {"SUCCEEDED", "FAILED", "COMPENSATED", "NEEDS_ATTENTION", "CANCELLED"}


class GraphQL:
    def __init__(self, session: Any) -> None:
        self._session = session

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self._session.execute(
            GraphQLRequest(query, variable_values=variables)
        )
        return result

    async def settled(self, workflow_id: str, timeout: float = 60.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                found: dict[str, Any] = (await self(WORKFLOW, id=workflow_id))["workflow"]
                if found["status"] in SETTLED:
                    return found
                await asyncio.sleep(0.1)

    async def finished_event(self, workflow_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The WorkflowFinished domain event of the workflow, once its progress is published."""
        async with asyncio.timeout(timeout):
            while True:
                found = await self(
                    'query { events(types: ["WorkflowFinished"], first: 100) { subjectId data } }'
                )
                for event in found["events"]:
                    if event["subjectId"] == workflow_id:
                        return event  # type: ignore[no-any-return]
                await asyncio.sleep(0.1)


@asynccontextmanager
async def graphql_client(
    url: str, headers: dict[str, str], *, timeout: float = 60
) -> AsyncIterator[GraphQL]:
    """A GraphQL client of the gateway at `url`, sending `headers` (a bearer token)."""
    transport = HTTPXAsyncTransport(url=url, timeout=timeout, headers=headers)
    async with Client(transport=transport, execute_timeout=timeout) as session:
        yield GraphQL(session)


@pytest.fixture
def identity(demo_settings: Settings, sandboxes: SandboxCluster) -> Identity:
    """Tokens from the sandboxes' identity provider, which the served gateways trust."""
    return Identity.of(sandboxes, demo_settings)


@pytest.fixture
async def graphql(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path: Path, identity: Identity
) -> AsyncIterator[GraphQL]:
    """A served gateway's client, as an admin."""
    settings = settings_for(demo_settings, sandboxes, tmp_path / "store.db")
    async with (
        serving(create_app(settings)) as running,
        graphql_client(running.graphql, identity.headers_for("admin")) as client,
    ):
        yield client

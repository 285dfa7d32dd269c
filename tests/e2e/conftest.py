"""What the end-to-end workflow tests share: the gateway served with a GraphQL client to
drive it, and connectors of their own, to look in the sandboxes behind the gateway's back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport

from gateway.app import create_app
from gateway.settings import Settings
from gateway.workflows.systems import Systems
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


@pytest.fixture
async def graphql(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path: Path
) -> AsyncIterator[GraphQL]:
    settings = settings_for(demo_settings, sandboxes, tmp_path / "store.db")
    async with serving(create_app(settings)) as running:
        transport = HTTPXAsyncTransport(url=running.graphql, timeout=60)
        async with Client(transport=transport, execute_timeout=60) as session:
            yield GraphQL(session)

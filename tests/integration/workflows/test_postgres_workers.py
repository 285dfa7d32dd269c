"""Two gateway processes on one PostgreSQL store share fifty workflows: each runs once,
no step runs twice, and every deal gets exactly one project."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from gateway.settings import Settings
from gateway.store import Store, WorkflowStatus
from gateway.store.tables import outbox
from gateway.workflows.systems import Systems
from resolvers import ids
from sandboxes.harness.processes import GatewayProcess, write_config
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from sources.config import BreakerPolicy, RetryPolicy, Timeouts
from tests.conftest import connected
from tests.integration.workflows.support import footprint, won_deal

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORKFLOWS = 50
START = """
mutation($input: StartProjectInput!) { startProjectFromOpportunity(input: $input) { id } }
"""


async def _admin(url: str, statement: str) -> None:
    server = make_url(url)
    connection = await asyncpg.connect(
        host=server.host, port=server.port, user=server.username, database="test"
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[str]:
    """A database of this test's own, dropped after it."""
    name = f"psgraph_workers_{secrets.token_hex(4)}"
    await _admin(postgres_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def systems(sandboxes: SandboxCluster, demo_settings: Settings) -> AsyncIterator[Systems]:
    """This test's own look into the sandboxes: two busy gateways make the sandboxes answer
    429 now and then, and counting what they made must wait that out, not fail on it."""
    patient = RetryPolicy(attempts=12, backoff_max=2.0, max_retry_after=10.0)
    breaker = BreakerPolicy(failure_threshold=50, reset_after=0.5)
    async with connected(
        demo_settings, sandboxes, retry=patient, breaker=breaker, timeouts=Timeouts(total=60.0)
    ) as systems:
        yield systems


@pytest.fixture
def two_gateways(
    database: str, sandboxes: SandboxCluster, tmp_path: Path
) -> Iterator[list[GatewayProcess]]:
    gateways = [
        GatewayProcess(
            write_config(
                tmp_path / f"gateway-{n}.yaml",
                sandboxes,
                store_url=database,
                events={"capture": False},  # these tests are about writes
            ),
            tmp_path / f"gateway-{n}.log",
        )
        for n in range(2)
    ]
    try:
        for gateway in gateways:
            gateway.start().ready()
        yield gateways
    finally:
        for gateway in gateways:
            gateway.stop()


async def _step_journal(store: Store) -> dict[str, Counter[tuple[str, str]]]:
    """How often each (workflow, step) entered each status, from the engine's outbox."""
    async with store.reading() as conn:
        rows = list(await conn.execute(select(outbox.c.payload)))
    journal: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for (payload,) in rows:
        if payload.get("step") is not None:
            journal[payload["step_status"]][(payload["workflow_id"], payload["step"])] += 1
    return journal


async def test_two_gateways_run_fifty_workflows_with_no_step_run_twice(
    two_gateways: list[GatewayProcess], database: str, systems: Systems, world: World
) -> None:
    deals = [await won_deal(systems, world) for _ in range(WORKFLOWS)]

    async with httpx.AsyncClient(timeout=30, headers=two_gateways[0].headers) as http:

        async def start(n: int, deal: str) -> str:
            gateway = two_gateways[n % 2]
            key = {"opportunityId": ids.encode("Opportunity", deal), "idempotencyKey": f"pg-{n}"}
            response = await http.post(
                gateway.graphql, json={"query": START, "variables": {"input": key}}
            )
            body = response.json()
            assert "errors" not in body, body
            workflow_id: str = body["data"]["startProjectFromOpportunity"]["id"]
            return ids.decode(workflow_id, "Workflow").key

        started = await asyncio.gather(*(start(n, deal) for n, deal in enumerate(deals)))

    store = await Store.open(database, migrate=False)
    try:
        async with asyncio.timeout(90):
            while await store.workflows.count(status=WorkflowStatus.SUCCEEDED) < WORKFLOWS:
                stuck = await store.workflows.find(status=WorkflowStatus.NEEDS_ATTENTION)
                assert not stuck, [w.error for w in stuck]
                await asyncio.sleep(0.2)
        runs = await store.workflows.get_many(started)
        journal = await _step_journal(store)
        steps = await store.steps.for_workflows(started)
    finally:
        await store.close()

    assert {w.status for w in runs.values()} == {WorkflowStatus.SUCCEEDED}
    assert {w.attempts for w in runs.values()} == {1}  # each claimed by one worker, once
    every_step = [(w, s.name) for w, found in steps.items() for s in found]
    assert len(every_step) == WORKFLOWS * 8
    # A step starts again only after a failure worth retrying (a rate limit, say), never
    # because a second worker ran it too; and it succeeds once.
    assert {journal["SUCCEEDED"][step] for step in every_step} == {1}
    assert all(journal["RUNNING"][step] == 1 + journal["PENDING"][step] for step in every_step), [
        step for step in every_step if journal["RUNNING"][step] > 1 + journal["PENDING"][step]
    ]
    for deal in deals:
        made = await footprint(systems, deal)
        assert made.complete(), (deal, made)

"""What only a real multi-connection PostgreSQL shows: workers on separate pools never
run a step twice, concurrent appends to the event log never let a reader skip one, and
racing starts with one idempotency key make one workflow."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from gateway.store import Store, WorkflowStatus
from gateway.workflows import Engine, Step, StepContext, WorkflowDefinition
from tests.unit.store.fixtures import empty

pytestmark = pytest.mark.postgres

WORKFLOWS = 50


@pytest.fixture
async def stores(postgres_url: str) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores with their own connection pools: two gateway replicas."""
    first = await Store.open(postgres_url)
    second = await Store.open(postgres_url)
    await empty(first)
    async with first.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE step_runs (workflow_id text, step text)"))
    yield first, second
    async with first.engine.begin() as connection:
        await connection.execute(text("DROP TABLE step_runs"))
    await first.close()
    await second.close()


def _recording(name: str) -> Step:
    async def run(ctx: StepContext) -> dict[str, str]:
        await asyncio.sleep(random.uniform(0, 0.005))
        # Recorded in the database, outside the engine: a second run would show twice.
        async with ctx.store.engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO step_runs VALUES (:workflow, :step)"),
                {"workflow": ctx.workflow_id, "step": name},
            )
        return {"step": name}

    after = {"b": ["a"], "c": ["a"]}.get(name, [])
    return Step(name, run, after=after)


async def test_two_workers_on_separate_pools_run_every_step_exactly_once(
    stores: tuple[Store, Store],
):
    definition = WorkflowDefinition("fanout", [_recording(n) for n in "abc"])
    first, second = (
        Engine(store, [definition], concurrency=4, lease_seconds=10, poll_interval=0.02)
        for store in stores
    )
    for n in range(WORKFLOWS):
        await first.start("fanout", {"n": n})

    claims = await asyncio.wait_for(
        asyncio.gather(first.run_until_idle(), second.run_until_idle()), timeout=30
    )

    store = stores[0]
    assert await store.workflows.count(status=WorkflowStatus.SUCCEEDED) == WORKFLOWS
    assert sum(claims) == WORKFLOWS
    assert min(claims) > 0, f"one worker did all the work: {claims}"
    async with store.engine.connect() as connection:
        total = (await connection.execute(text("SELECT count(*) FROM step_runs"))).scalar_one()
        repeated = (
            await connection.execute(
                text(
                    "SELECT workflow_id, step, count(*) FROM step_runs "
                    "GROUP BY workflow_id, step HAVING count(*) > 1"
                )
            )
        ).all()
    assert repeated == []
    assert total == WORKFLOWS * 3


async def test_event_cursors_grow_in_commit_order_under_concurrent_appends(
    stores: tuple[Store, Store],
):
    writers, per_writer = 6, 25
    expected = writers * per_writer
    seen: list[int] = []
    payloads: list[tuple[int, int]] = []

    async def write(store: Store, writer: int) -> None:
        for n in range(per_writer):
            async with store.transaction() as tx:
                await tx.events.append("Appended", {"writer": writer, "n": n})
                await asyncio.sleep(random.uniform(0, 0.002))  # more work before commit

    async def tail(store: Store) -> None:
        cursor = 0
        while len(seen) < expected:
            batch = await store.events.read_after(cursor, limit=50)
            for event in batch:
                # A reader past cursor N never later finds an event below N.
                assert event.cursor > cursor
                cursor = event.cursor
                seen.append(event.cursor)
                payloads.append((event.data["writer"], event.data["n"]))
            await asyncio.sleep(0.001)

    reader = asyncio.create_task(tail(stores[1]))
    await asyncio.gather(*(write(stores[w % 2], w) for w in range(writers)))
    await asyncio.wait_for(reader, timeout=20)

    everything = await stores[0].events.read_after(None, limit=expected + 1)
    assert seen == [e.cursor for e in everything]
    assert len(seen) == expected
    assert sorted(payloads) == [(w, n) for w in range(writers) for n in range(per_writer)]


async def test_racing_starts_with_one_key_make_one_workflow(stores: tuple[Store, Store]):
    async def noop(ctx: StepContext) -> None:
        return None

    definition = WorkflowDefinition("one", [Step("a", noop)])
    engines = [Engine(store, [definition]) for store in stores for _ in range(3)]

    started = await asyncio.gather(
        *(engine.start("one", {"n": 1}, idempotency_key="same") for engine in engines)
    )

    assert len({workflow.id for workflow in started}) == 1
    assert await stores[0].workflows.count() == 1

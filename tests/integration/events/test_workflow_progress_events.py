"""A workflow's progress reaches subscribers as WorkflowStepChanged events, in order,
ending with WorkflowFinished: the engine's outbox relayed into the event log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.events.live import EventFilter
from gateway.events.service import EventsService
from gateway.settings import Settings
from gateway.store import EventRecord, Store
from gateway.workflows import Engine, Step, StepContext, WorkflowDefinition


async def reserve(ctx: StepContext) -> dict[str, str]:
    return {"reserved": ctx.input["what"]}


async def confirm(ctx: StepContext) -> dict[str, bool]:
    return {"confirmed": True}


TWO_STEPS = WorkflowDefinition(
    "two_steps",
    steps=[Step("reserve", reserve), Step("confirm", confirm, after=["reserve"])],
)


def label(global_id: str, key: str) -> str:
    return f"{global_id}:{key}"


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[EventsService]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    events = EventsService(Settings(), store, {}, subject_id=label)
    await events.start()
    yield events
    await events.stop()
    await store.close()


async def take(stream: AsyncIterator[EventRecord], n: int) -> list[EventRecord]:
    got = []
    async with asyncio.timeout(10):
        async for record in stream:
            got.append(record)
            if len(got) == n:
                return got
    return got


async def test_a_subscriber_sees_each_step_then_the_finish_in_order(service: EventsService):
    engine = Engine(service.store, [TWO_STEPS], publish=service.publish_outbox, poll_interval=0.02)
    workflow = await engine.start("two_steps", {"what": "a room"}, idempotency_key="k1")
    subject = label("Workflow", workflow.id)
    stream = await service.feed.stream(after=0, wants=EventFilter(subject_id=subject))

    await engine.run_until_idle()
    events = await take(stream, 5)

    assert [(e.type, e.data.get("step"), e.data.get("stepStatus")) for e in events] == [
        ("WorkflowStepChanged", "reserve", "RUNNING"),
        ("WorkflowStepChanged", "reserve", "SUCCEEDED"),
        ("WorkflowStepChanged", "confirm", "RUNNING"),
        ("WorkflowStepChanged", "confirm", "SUCCEEDED"),
        ("WorkflowFinished", None, None),
    ]
    assert events[-1].data["status"] == "SUCCEEDED"
    assert {e.subject_id for e in events} == {subject}

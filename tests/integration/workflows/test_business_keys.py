"""One quote-to-project per opportunity, whoever starts it with whatever key, on both
store backends: the opportunity is the business key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.store import Store, WorkflowStatus
from gateway.workflows.bootstrap import Workflows
from gateway.workflows.systems import Systems
from sandboxes.world.model import World
from tests.integration.workflows.support import footprint, won_deal


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    opened = await Store.open(url)
    yield opened
    await opened.close()


async def test_two_starts_of_one_deal_with_different_keys_make_one_project(
    workflows: Workflows, systems: Systems, world: World, store: Store
) -> None:
    opportunity = await won_deal(systems, world)

    portal, automation = await asyncio.gather(
        workflows.start_project(opportunity, "portal-click", principal="ana"),
        workflows.start_project(opportunity, "auto-quote-to-project", principal="automation"),
    )
    done = await workflows.engine.wait(portal.id, timeout=60)

    assert automation.id == portal.id
    assert done.status is WorkflowStatus.SUCCEEDED, done.error
    made = await footprint(systems, opportunity)
    assert made.staffing_requests == 3
    assert made.complete(), made
    mine = [
        w
        for w in await store.workflows.find(kind="quote_to_project", limit=1000)
        if w.input["opportunity_id"] == opportunity
    ]
    assert [w.id for w in mine] == [portal.id]
    assert all(w.status is not WorkflowStatus.NEEDS_ATTENTION for w in mine)


async def test_a_start_after_success_returns_the_finished_workflow(
    workflows: Workflows, systems: Systems, world: World, store: Store
) -> None:
    opportunity = await won_deal(systems, world, contract_type="MILESTONE")
    first = await workflows.engine.wait(
        (await workflows.start_project(opportunity, "first")).id, timeout=60
    )
    assert first.status is WorkflowStatus.SUCCEEDED, first.error

    later = await workflows.start_project(opportunity, "someone-else-later")
    await workflows.engine.run_until_idle()

    assert later.id == first.id
    assert later.status is WorkflowStatus.SUCCEEDED
    assert (await footprint(systems, opportunity)).complete()
    starts = [
        entry.workflow_id
        for entry in await store.audit.find(limit=1000)
        if entry.action.startswith("workflow.start")
        and isinstance(entry.after, dict)
        and entry.after["input"]["opportunity_id"] == opportunity
    ]
    assert starts == [first.id]


async def test_a_cancelled_start_frees_the_deal_for_a_new_one(
    workflows: Workflows, systems: Systems, world: World, store: Store
) -> None:
    opportunity = await won_deal(systems, world)
    workflows.engine.stop()  # keep it PENDING so it can be cancelled before it runs
    await asyncio.sleep(0.2)
    parked = await workflows.engine.start(
        "quote_to_project", {"opportunity_id": opportunity, "start_date": None,
                             "manager_id": None}, idempotency_key="a"
    )  # fmt: skip
    cancelled = await workflows.cancel(parked.id)
    assert cancelled.status is WorkflowStatus.CANCELLED

    again = await workflows.start_project(opportunity, "b")
    await workflows.engine.run_until_idle()

    assert again.id != parked.id
    assert (await workflows.engine.wait(again.id)).status is WorkflowStatus.SUCCEEDED
    assert (await footprint(systems, opportunity)).complete()


async def test_the_automation_joins_a_persons_approval_of_the_entry(
    workflows: Workflows, world: World, store: Store
) -> None:
    a, b, c = _submitted_on_billed_projects(world, 3, skip=20)
    by_person = await workflows.engine.wait(
        (await workflows.approve_time([a, b], principal="ana")).id, timeout=60
    )
    assert by_person.status is WorkflowStatus.SUCCEEDED, by_person.error

    by_automation = await workflows.approve_time([a], principal="automation:time")
    overlapping = await workflows.engine.wait(
        (await workflows.approve_time([b, c], principal="ben")).id, timeout=60
    )

    assert by_automation.id == by_person.id
    assert overlapping.id != by_person.id
    assert overlapping.status is WorkflowStatus.SUCCEEDED, overlapping.error
    post = next(s for s in await store.steps.for_workflow(overlapping.id) if s.name == "post")
    assert [p["time_entry_id"] for p in post.output["posted"]] == [c]
    assert post.output["left_to_others"] == [b]


def _submitted_on_billed_projects(world: World, count: int, skip: int = 0) -> list[str]:
    billed = {
        p.key
        for p in world.projects
        if p.status == "ACTIVE" and p.erp_job_id and p.contract_type == "TIME_AND_MATERIALS"
    }
    found = [
        t.time_id for t in world.time_entries if t.status == "SUBMITTED" and t.project_key in billed
    ]
    return found[skip : skip + count]

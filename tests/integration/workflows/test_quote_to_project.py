"""Quote-to-project over the real sandboxes: one of everything, once, whatever happens."""

from __future__ import annotations

import asyncio

import pytest

from gateway.store import IdempotencyConflictError, Store, WorkflowStatus
from gateway.workflows import RetryPolicy
from gateway.workflows.bootstrap import Workflows, bootstrap, running
from gateway.workflows.systems import Systems
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from tests.integration.workflows.support import (
    clear_faults,
    footprint,
    set_faults,
    won_deal,
    write_counts,
)


async def test_a_won_deal_becomes_one_project_in_every_system(
    workflows: Workflows, systems: Systems, world: World, store: Store
) -> None:
    opportunity = await won_deal(systems, world, contract_type="FIXED_FEE")

    started = await workflows.start_project(opportunity, "deal-1")
    done = await workflows.engine.wait(started.id)

    assert done.status is WorkflowStatus.SUCCEEDED, done.error
    made = await footprint(systems, opportunity)
    assert made.complete(), made
    workspace = made.workspaces[0]
    assert done.result == {"type": "Project", "key": workspace.id}
    assert workspace.practice == "Cloud"
    assert workspace.status == "PLANNED"
    assert await store.crosswalk.refs("Project", workspace.id) == {
        "PSA": workspace.id,
        "ERP": made.jobs[0].id,
    }
    audited = {entry.action for entry in await store.audit.find(workflow_id=done.id)}
    assert {
        "workflow.start.quote_to_project",
        "psa.workspace.create",
        "erp.job.upsert",
        "erp.billing_schedule.upsert",
        "psa.staffing_request.create",
        "psa.workspace.finance_code",
        "crm.opportunity.project",
    } <= audited


async def test_the_same_key_returns_the_same_workflow_and_writes_nothing_again(
    workflows: Workflows, systems: Systems, world: World, sandboxes: SandboxCluster, store: Store
) -> None:
    opportunity = await won_deal(systems, world, contract_type="MILESTONE")
    first = await workflows.engine.wait((await workflows.start_project(opportunity, "k")).id)
    writes, audit = write_counts(sandboxes), await store.audit.find(limit=1000)

    again = await workflows.start_project(opportunity, "k")
    await workflows.engine.run_until_idle()

    assert again.id == first.id
    assert again.status is WorkflowStatus.SUCCEEDED
    assert write_counts(sandboxes) == writes
    assert await store.audit.find(limit=1000) == audit
    assert (await footprint(systems, opportunity)).complete()


async def test_the_same_key_with_another_deal_is_refused(
    workflows: Workflows, systems: Systems, world: World
) -> None:
    first, second = await won_deal(systems, world), await won_deal(systems, world)
    await workflows.start_project(first, "shared-key")

    with pytest.raises(IdempotencyConflictError, match="shared-key"):
        await workflows.start_project(second, "shared-key")


async def test_a_deal_that_is_not_won_parks_with_the_reason_and_makes_nothing(
    workflows: Workflows, systems: Systems, world: World
) -> None:
    open_deal = next(o for o in world.opportunities if o.stage == "PROPOSAL")

    done = await workflows.engine.wait(
        (await workflows.start_project(open_deal.crm_id, "not-won")).id
    )

    assert done.status is WorkflowStatus.NEEDS_ATTENTION
    assert done.error is not None
    assert "NOT_CLOSED_WON" in done.error
    assert (await footprint(systems, open_deal.crm_id)).workspaces == []


# As in service, a transient failure is retried until the workflow's deadline, not for
# a count of tries: with half the ERP's answers failing, its breaker opens now and then,
# and ten quick tries could all meet it open.
PATIENT = RetryPolicy(
    max_attempts=None, initial_delay=0.05, multiplier=2.0, max_delay=1.0, deadline=60.0
)


@pytest.mark.slow
async def test_twenty_deals_at_once_through_a_flaky_erp_each_make_one_project(
    store: Store, systems: Systems, world: World, sandboxes: SandboxCluster
) -> None:
    deals = [await won_deal(systems, world) for _ in range(20)]
    patient = bootstrap(
        store, systems.connectors, retry=PATIENT, poll_interval=0.05, concurrency=32
    )
    set_faults(sandboxes, "erp", error_rate=0.5, status=503)
    try:
        async with running(patient) as workflows:
            started = await asyncio.gather(
                *(workflows.start_project(deal, f"flaky-{deal}") for deal in deals)
            )
            done = await asyncio.gather(*(workflows.engine.wait(s.id, timeout=90) for s in started))
    finally:
        clear_faults(sandboxes, "erp")

    assert [d.status for d in done] == [WorkflowStatus.SUCCEEDED] * 20, [d.error for d in done]
    for deal in deals:
        made = await footprint(systems, deal)
        assert made.complete(), (deal, made)


async def test_an_erp_outage_parks_the_workflow_and_a_retry_finishes_it(
    store: Store, systems: Systems, world: World, sandboxes: SandboxCluster
) -> None:
    impatient = RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.02)
    deal = await won_deal(systems, world)
    set_faults(sandboxes, "erp", outage=True)
    try:
        async with running(bootstrap(store, systems.connectors, retry=impatient)) as workflows:
            parked = await workflows.engine.wait((await workflows.start_project(deal, "outage")).id)
            assert parked.status is WorkflowStatus.NEEDS_ATTENTION
            assert parked.error is not None
            assert "ERP" in parked.error
            clear_faults(sandboxes, "erp")

            await workflows.retry(parked.id, principal="ops@example.com")
            done = await workflows.engine.wait(parked.id)
    finally:
        clear_faults(sandboxes, "erp")

    assert done.status is WorkflowStatus.SUCCEEDED, done.error
    assert (await footprint(systems, deal)).complete()
    retried = await store.audit.find(workflow_id=parked.id, principal="ops@example.com")
    assert [entry.action for entry in retried] == ["workflow.retry"]


async def test_cancelling_a_parked_project_undoes_what_it_made(
    store: Store, systems: Systems, world: World, sandboxes: SandboxCluster
) -> None:
    impatient = RetryPolicy(max_attempts=1)
    deal = await won_deal(systems, world)
    async with running(bootstrap(store, systems.connectors, retry=impatient)) as workflows:
        set_faults(sandboxes, "erp", outage=True)
        try:
            parked = await workflows.engine.wait((await workflows.start_project(deal, "c")).id)
        finally:
            clear_faults(sandboxes, "erp")
        assert parked.status is WorkflowStatus.NEEDS_ATTENTION
        workspace_id = (await footprint(systems, deal)).workspaces[0].id

        await workflows.cancel(parked.id)
        cancelled = await workflows.engine.wait(parked.id)

    assert cancelled.status is WorkflowStatus.CANCELLED
    workspace = (await systems.psa.get_many("project", [workspace_id]))[0]
    assert workspace is not None
    assert workspace.status == "CANCELLED"  # type: ignore[attr-defined]
    left = await footprint(systems, deal)
    assert left.workspaces == []  # the deal is free to start again
    assert left.crm_project is None

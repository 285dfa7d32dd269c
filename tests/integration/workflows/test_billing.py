"""Time to billing, milestone billing and invoicing over the real sandboxes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gateway.store import IdempotencyConflictError, Store, WorkflowStatus
from gateway.workflows.bootstrap import Workflows
from gateway.workflows.systems import Systems
from gateway.workflows.time_to_billing import SubmitTime
from sandboxes.world.model import Milestone, World
from sandboxes.world.model import Project as WorldProject
from sandboxes.world.model import TimeEntry as WorldTimeEntry
from sources.records import Invoice, TimeEntry, TimePosting


def _billed_by(world: World, kind: str) -> list[WorldProject]:
    scheduled = {s.project_key for s in world.billing_schedules}
    return [
        p
        for p in world.projects
        if p.status == "ACTIVE" and p.erp_job_id and p.key in scheduled and p.contract_type == kind
    ]


def _submitted(world: World, project: WorldProject, count: int) -> list[WorldTimeEntry]:
    """The project's first `count` submitted billable entries: only billable time is invoiced."""
    found = [t for t in world.time_entries if t.project_key == project.key]
    return [t for t in found if t.status == "SUBMITTED" and t.billable][:count]


async def _posting(systems: Systems, time_entry_id: str) -> TimePosting | None:
    page = await systems.erp.list("time_posting", {"time_entry_id": time_entry_id})
    found = [p for p in page.items if isinstance(p, TimePosting)]
    return found[0] if found else None


async def test_approved_time_is_posted_to_the_erp_with_its_dimensions(
    workflows: Workflows, systems: Systems, world: World, store: Store
) -> None:
    project = _billed_by(world, "TIME_AND_MATERIALS")[1]
    entries = _submitted(world, project, 3)

    done = await workflows.engine.wait(
        (await workflows.approve_time([e.time_id for e in entries])).id
    )

    assert done.status is WorkflowStatus.SUCCEEDED, done.error
    client = world.clients[project.client_key]
    for entry in entries:
        approved = (await systems.time.get_many("time_entry", [entry.time_id]))[0]
        assert isinstance(approved, TimeEntry)
        assert approved.status == "APPROVED"
        posting = await _posting(systems, entry.time_id)
        assert posting is not None
        assert (posting.job_id, posting.customer_id) == (project.erp_job_id, client.erp_id)
        assert (posting.practice, posting.region) == (project.practice, project.region)
        assert posting.hours == entry.hours
        assert posting.amount > 0
    posted = await store.audit.find(workflow_id=done.id, object_type="TimePosting")
    assert len(posted) == 3


async def test_time_on_a_project_without_a_finance_code_parks_until_the_project_is_fixed(
    workflows: Workflows, systems: Systems, world: World, store: Store
) -> None:
    billable = _billed_by(world, "TIME_AND_MATERIALS")[2]
    jobless = next(p for p in world.projects if p.erp_job_id is None and p.status == "ACTIVE")
    good, held = _submitted(world, billable, 1)[0], _submitted(world, jobless, 1)[0]

    parked = await workflows.engine.wait(
        (await workflows.approve_time([good.time_id, held.time_id])).id
    )

    assert parked.status is WorkflowStatus.NEEDS_ATTENTION
    assert parked.error is not None
    assert "MISSING_FINANCE_CODE" in parked.error
    assert held.time_id in parked.error
    assert await _posting(systems, good.time_id) is not None
    assert await _posting(systems, held.time_id) is None
    records = await store.audit.find(workflow_id=parked.id, object_id=held.time_id)
    flagged = [r.action for r in records if r.action.startswith("data_quality.")]
    assert flagged == ["data_quality.missing_finance_code"]

    customer = world.clients[jobless.client_key].erp_id
    job = await systems.erp.upsert_job(jobless.psa_id, customer, {"name": jobless.name})
    await systems.psa.set_workspace_finance_code(jobless.psa_id, job.id)
    await workflows.retry(parked.id)
    done = await workflows.engine.wait(parked.id)

    assert done.status is WorkflowStatus.SUCCEEDED, done.error
    posting = await _posting(systems, held.time_id)
    assert posting is not None
    assert posting.job_id == job.id


async def test_submitted_time_is_one_entry_per_key(
    workflows: Workflows, systems: Systems, world: World
) -> None:
    project = _billed_by(world, "TIME_AND_MATERIALS")[3]
    person = world.people[
        next(a.person_key for a in world.assignments if a.project_key == project.key)
    ]
    command = SubmitTime(
        project.psa_id, person.hcm_id, dt.date(2026, 11, 2), 6.5, True, "Design review", "ts-1"
    )

    first = await workflows.submit_time(command)
    again = await workflows.submit_time(command)

    assert again.id == first.id
    assert (first.project_code, first.hours, first.billable) == (project.code, 6.5, True)
    assert first.user_id == person.time_user_id
    with pytest.raises(IdempotencyConflictError):
        await workflows.submit_time(
            SubmitTime(project.psa_id, person.hcm_id, dt.date(2026, 11, 2), 7.0, True, None, "ts-1")
        )


async def test_a_completed_milestone_is_billed_once(
    workflows: Workflows, systems: Systems, world: World
) -> None:
    project = _billed_by(world, "MILESTONE")[0]
    milestone: Milestone = next(
        m for m in world.milestones if m.project_key == project.key and m.status == "OPEN"
    )

    first = await workflows.engine.wait((await workflows.complete_milestone(milestone.psa_id)).id)
    second = await workflows.engine.wait((await workflows.complete_milestone(milestone.psa_id)).id)

    assert first.status is WorkflowStatus.SUCCEEDED, first.error
    assert second.status is WorkflowStatus.SUCCEEDED, second.error
    assert first.result == second.result
    invoice = (await systems.erp.get_many("invoice", [first.result["key"]]))[0]
    assert isinstance(invoice, Invoice)
    assert invoice.amount == milestone.amount
    assert invoice.job_id == project.erp_job_id
    done = (await systems.psa.get_many("milestone", [milestone.psa_id]))[0]
    assert done is not None
    assert done.status == "COMPLETED"  # type: ignore[attr-defined]


async def test_an_invoice_bills_approved_time_once_and_marks_it_invoiced(
    workflows: Workflows, systems: Systems, world: World
) -> None:
    project = _billed_by(world, "TIME_AND_MATERIALS")[4]
    entries = _submitted(world, project, 2)
    approved = await workflows.engine.wait(
        (await workflows.approve_time([e.time_id for e in entries])).id
    )
    assert approved.status is WorkflowStatus.SUCCEEDED, approved.error

    through = dt.date(2030, 1, 1)
    done = await workflows.engine.wait(
        (await workflows.generate_invoice(project.psa_id, through, "inv-1")).id
    )
    again = await workflows.generate_invoice(project.psa_id, through, "inv-1")

    assert done.status is WorkflowStatus.SUCCEEDED, done.error
    assert again.id == done.id
    invoice = (await systems.erp.get_many("invoice", [done.result["key"]]))[0]
    assert isinstance(invoice, Invoice)
    assert invoice.job_id == project.erp_job_id
    assert invoice.amount > Decimal(0)
    for entry in entries:
        billed = (await systems.time.get_many("time_entry", [entry.time_id]))[0]
        assert isinstance(billed, TimeEntry)
        assert billed.status == "INVOICED"
        posting = await _posting(systems, entry.time_id)
        assert posting is not None
        assert posting.invoice_id == invoice.id

    # The period is the business key: another key for it finds the period's invoice.
    same_period = await workflows.generate_invoice(project.psa_id, through, "inv-2")
    assert same_period.id == done.id
    nothing_left = await workflows.engine.wait(
        (await workflows.generate_invoice(project.psa_id, through.replace(day=2), "inv-3")).id
    )
    assert nothing_left.status is WorkflowStatus.SUCCEEDED, nothing_left.error
    assert nothing_left.result is None


async def test_an_invoice_for_a_project_without_a_finance_code_parks(
    workflows: Workflows, world: World, store: Store
) -> None:
    jobless = next(p for p in world.projects if p.erp_job_id is None)

    done = await workflows.engine.wait(
        (await workflows.generate_invoice(jobless.psa_id, dt.date(2030, 1, 1), "inv-x")).id
    )

    assert done.status is WorkflowStatus.NEEDS_ATTENTION
    assert done.error is not None
    assert "MISSING_FINANCE_CODE" in done.error
    flagged = await store.audit.find(object_type="Project", object_id=jobless.psa_id)
    assert [f.action for f in flagged] == ["data_quality.missing_finance_code"]

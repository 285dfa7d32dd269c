"""Automations over real HTTP: a change made directly in a vendor's sandbox moves the next
system by itself within a poll interval and a few seconds, once, however often the event
is seen; an automation switched off starts nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from gateway.events.deliveries import OFFSETS
from gateway.events.domain import DomainEvent, Subject
from gateway.events.triggers import consumer_name
from resolvers import ids
from sandboxes.world.model import World
from sources.erp.connector import InvoiceLine
from sources.erp.mapping import milestone_invoice_external_id
from sources.records import Invoice, Job, SourceSystem, TimePosting
from tests.conftest import connected
from tests.e2e.events.conftest import WAIT_S, EventsGateway, automations_on, ws_subscribe
from tests.integration.workflows.support import footprint

pytestmark = pytest.mark.slow

T = TypeVar("T")
POLL_S = 0.5
AUTOMATIONS = "{ automations { name on workflow enabled runs lastRunAt } }"
TIME_ENTRY = """
query($id: ID!) { node(id: $id) { ... on TimeEntry {
  status postedToErpAt systemRefs { system id } } } }
"""
APPROVE = "mutation($ids: [ID!]!) { approveTimeEntries(ids: $ids) { id } }"
PROJECT_UPDATED = "subscription($id: ID!) { projectUpdated(id: $id) { id code } }"
MILESTONE = """
query($id: ID!) { node(id: $id) { ... on Milestone { status invoice { id } } } }
"""


@pytest.fixture
async def systems(demo_settings, sandboxes) -> AsyncIterator[Any]:
    async with connected(demo_settings, sandboxes) as found:
        yield found


async def eventually(read: Callable[[], Awaitable[T | None]], timeout: float = WAIT_S) -> T:
    """The first truthy answer of `read`, asked until `timeout` runs out."""
    async with asyncio.timeout(timeout):
        while not (found := await read()):
            await asyncio.sleep(0.2)
    return found


async def runs(gw: EventsGateway, name: str) -> dict[str, Any]:
    found = (await gw.query(AUTOMATIONS))["automations"]
    return next(a for a in found if a["name"] == name)


async def see_again(gw: EventsGateway, name: str, event_type: str, native_id: str) -> None:
    """Append the automation's last event again under a new dedup key (a re-poll, a second
    replica, a replayed letter all look like this), and wait until it was delivered."""
    store = gw.gateway.store
    live = gw.gateway.live
    assert store is not None
    assert live is not None
    last = (await store.events.read_after(None, limit=10_000, types=[event_type]))[-1]
    again = DomainEvent(
        type=event_type,
        source=SourceSystem(last.source) if last.source else None,
        subject=Subject(ids.decode(last.subject_id or "").type, native_id),
        data=dict(last.data) if isinstance(last.data, dict) else {},
        dedup_key=f"{last.dedup_key}:seen-again",
    )
    [appended] = await live.log.append([again])

    async def delivered() -> bool:
        offset = await store.cursors.get(OFFSETS, consumer_name(name))
        return offset is not None and int(offset) >= appended.cursor

    await eventually(delivered)


async def test_time_approved_in_time_is_posted_to_the_erp_once(
    serve_gateway, systems, world: World, restore_sandboxes
) -> None:
    for name in ("time", "erp"):
        restore_sandboxes(name)
    entries = _submitted_on_billed_projects(world, 2)
    name = "time-approved-to-erp"
    async with serve_gateway(
        poll={"time": {"time_entry": POLL_S}}, automations=automations_on(name)
    ) as gw:
        await gw.until_polling("TIME", "time_entry")

        for entry in entries:  # approved directly in TIME, not through the gateway
            await systems.time.approve([entry])

        postings = [
            await eventually(lambda e=entry: _posting(systems, e), timeout=POLL_S + WAIT_S)
            for entry in entries
        ]
        node = await eventually(lambda: _posted_node(gw, entries[0]))
        before = await runs(gw, name)
        await see_again(gw, name, "TimeApproved", entries[0])
        automation = await runs(gw, name)

    assert [p.time_entry_id for p in postings] == entries
    assert {"system": "ERP", "id": postings[0].id} in node["systemRefs"]
    assert {"system": "TIME", "id": entries[0]} in node["systemRefs"]
    assert automation["enabled"] is True
    assert automation["on"] == ["TimeApproved"]
    assert 1 <= before["runs"] <= 2  # approvals one scan sees together share a workflow
    assert automation["runs"] == before["runs"]  # the event seen again started nothing
    assert automation["lastRunAt"] is not None
    for entry in entries:
        page = await systems.erp.list("time_posting", {"time_entry_id": entry})
        assert len(page.items) == 1


async def test_a_persons_approval_through_the_gateway_is_not_repeated_by_the_automation(
    serve_gateway, systems, world: World, restore_sandboxes
) -> None:
    for name in ("time", "erp"):
        restore_sandboxes(name)
    entries = _submitted_on_billed_projects(world, 2, skip=10)
    name = "time-approved-to-erp"
    async with serve_gateway(
        poll={"time": {"time_entry": POLL_S}}, automations=automations_on(name)
    ) as gw:
        await gw.until_polling("TIME", "time_entry")
        store = gw.gateway.store
        assert store is not None

        await gw.query(APPROVE, ids=[ids.encode("TimeEntry", e) for e in entries])

        for entry in entries:
            await eventually(lambda e=entry: _posting(systems, e), timeout=POLL_S + WAIT_S)

        async def automation_saw_them() -> bool:
            offset = await store.cursors.get(OFFSETS, consumer_name(name))
            seen = await store.events.read_after(None, limit=10_000, types=["TimeApproved"])
            return len(seen) >= 2 and offset is not None and int(offset) >= seen[-1].cursor

        await eventually(automation_saw_them)
        automation = await runs(gw, name)
        approvals = await store.workflows.count(kind="approve_time")

    assert automation["runs"] == 0  # it joined the person's workflow
    assert approvals == 1
    for entry in entries:
        page = await systems.erp.list("time_posting", {"time_entry_id": entry})
        assert len(page.items) == 1


async def test_a_milestone_completed_in_psa_is_billed_in_the_erp_once(
    serve_gateway, systems, world: World, restore_sandboxes
) -> None:
    for name in ("psa", "erp"):
        restore_sandboxes(name)
    milestone = _open_milestone_on_a_milestone_contract(world)
    name = "milestone-completed-to-erp"
    async with serve_gateway(
        poll={"psa": {"milestone": POLL_S}}, automations=automations_on(name)
    ) as gw:
        await gw.until_polling("PSA", "milestone")

        await systems.psa.complete_milestone(milestone)

        invoice = await eventually(
            lambda: systems.erp.find_by_external_id(
                "invoice", milestone_invoice_external_id(milestone)
            ),
            timeout=POLL_S + WAIT_S,
        )
        node = await gw.query(MILESTONE, id=ids.encode("Milestone", milestone))
        await see_again(gw, name, "MilestoneCompleted", milestone)
        automation = await runs(gw, name)

    assert isinstance(invoice, Invoice)
    assert node["node"]["invoice"] == {"id": ids.encode("Invoice", invoice.id)}
    assert automation["runs"] == 1
    billed = await systems.erp.list("invoice", {"job_id": invoice.job_id}, page_size=500)
    assert [i.id for i in billed.items if i.id == invoice.id] == [invoice.id]


async def test_a_project_closed_in_psa_closes_its_erp_job(
    serve_gateway, systems, world: World, restore_sandboxes
) -> None:
    for name in ("psa", "erp"):
        restore_sandboxes(name)
    project = next(p for p in world.projects if p.status == "ACTIVE" and p.erp_job_id)
    name = "project-status-to-erp"
    async with serve_gateway(
        poll={"psa": {"project": POLL_S}},
        baseline={"psa": ["project"]},
        automations=automations_on(name),
    ) as gw:
        await gw.until_polling("PSA", "project")
        await asyncio.sleep(POLL_S * 3)  # the first scan learns every project's status

        await systems.psa.update_workspace(project.psa_id, {"status": "COMPLETED"})

        async def job_completed() -> Job | None:
            [job] = await systems.erp.get_many("job", [project.erp_job_id])
            return job if isinstance(job, Job) and job.status == "COMPLETED" else None

        await eventually(job_completed, timeout=POLL_S + WAIT_S)
        automation = await runs(gw, name)

    assert automation["runs"] == 1


async def test_a_deal_won_in_the_crm_becomes_one_project(
    serve_gateway, systems, world: World, restore_sandboxes
) -> None:
    for name in ("crm", "psa", "erp"):
        restore_sandboxes(name)
    client = world.clients[3]
    deal = await systems.crm.create_opportunity(
        {
            "account_id": client.crm_id,
            "name": f"{client.name} - automation deal",
            "stage": "NEGOTIATION",
            "close_date": dt.date(2026, 1, 15),
            "amount": Decimal(60_000),
            "practice": "Cloud",
            "region": client.region,
            "contract_type": "FIXED_FEE",
        }
    )
    name = "opportunity-won-to-project"
    async with serve_gateway(
        poll={"crm": {"opportunity": POLL_S}}, automations=automations_on(name)
    ) as gw:
        await gw.until_polling("CRM", "opportunity")

        await systems.crm.close_opportunity_won(deal)

        async def made() -> bool:
            return (await footprint(systems, deal)).complete()

        await eventually(made, timeout=POLL_S + 2 * WAIT_S)
        await see_again(gw, name, "OpportunityClosedWon", deal)
        automation = await runs(gw, name)

    assert automation["runs"] == 1
    assert (await footprint(systems, deal)).staffing_requests == 3


async def test_an_invoice_posted_in_the_erp_refreshes_its_project_for_subscribers(
    serve_gateway, systems, world: World, restore_sandboxes, collect
) -> None:
    restore_sandboxes("erp")
    project = next(p for p in world.projects if p.status == "ACTIVE" and p.erp_job_id)
    [job] = await systems.erp.get_many("job", [project.erp_job_id])
    assert isinstance(job, Job)
    project_id = ids.encode("Project", project.psa_id)
    name = "invoice-to-receivables"
    async with serve_gateway(
        poll={"erp": {"invoice": POLL_S}}, automations=automations_on(name)
    ) as gw:
        await gw.until_polling("ERP", "invoice")
        updates = collect(ws_subscribe(gw.ws, PROJECT_UPDATED, {"id": project_id}))
        await updates.until(1)

        await systems.erp.create_invoice(
            job.id,
            job.customer_id,
            [InvoiceLine(amount=Decimal(1200), description="Automation test")],
            idempotency_key="automation-test-invoice",
        )

        _, refreshed = await updates.until(2, timeout=POLL_S + WAIT_S)
        automation = await runs(gw, name)

    assert refreshed["projectUpdated"]["id"] == project_id
    assert automation["runs"] == 1


async def test_an_automation_switched_off_starts_nothing(
    serve_gateway, systems, world: World, restore_sandboxes
) -> None:
    restore_sandboxes("time")
    [entry] = _submitted_on_billed_projects(world, 1, skip=5)
    async with serve_gateway(
        poll={"time": {"time_entry": POLL_S}}, automations=automations_on()
    ) as gw:
        await gw.until_polling("TIME", "time_entry")
        store = gw.gateway.store
        assert store is not None

        await systems.time.approve([entry])

        async def seen() -> bool:
            events = await store.events.read_after(0, limit=10_000)
            return any(e.type == "TimeApproved" for e in events)

        await eventually(seen, timeout=POLL_S + WAIT_S)
        await asyncio.sleep(2 * POLL_S)
        automation = await runs(gw, "time-approved-to-erp")
        started = await store.workflows.count()

    assert automation["enabled"] is False
    assert automation["runs"] == 0
    assert started == 0
    assert await _posting(systems, entry) is None


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


def _open_milestone_on_a_milestone_contract(world: World) -> str:
    scheduled = {s.project_key for s in world.billing_schedules}
    projects = {
        p.key
        for p in world.projects
        if p.status == "ACTIVE"
        and p.erp_job_id
        and p.key in scheduled
        and p.contract_type == "MILESTONE"
    }
    return next(
        m.psa_id for m in world.milestones if m.project_key in projects and m.status == "OPEN"
    )


async def _posting(systems: Any, entry: str) -> TimePosting | None:
    page = await systems.erp.list("time_posting", {"time_entry_id": entry})
    found = [p for p in page.items if isinstance(p, TimePosting)]
    return found[0] if found else None


async def _posted_node(gw: EventsGateway, entry: str) -> dict[str, Any] | None:
    node = (await gw.query(TIME_ENTRY, id=ids.encode("TimeEntry", entry)))["node"]
    return node if node and node["postedToErpAt"] else None

"""The exceptions queue over real HTTP: what the seeded world holds is found at start-up,
and each kind of defect made in the system that owns it (through that vendor's own API,
not the gateway) appears in `Query.exceptions` and in `exceptionsChanged`, then resolves
when it is fixed, by a remedy workflow or by a change made directly in the vendor."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.workflows.systems import Systems
from resolvers import ids
from sandboxes.world.defects import expected_exception_ids
from sandboxes.world.model import World
from sources.records import BillingScheduleLine
from tests.conftest import WORLD_TODAY, reset
from tests.e2e.visibility.conftest import REMEDY, Vendor, Visibility, exception_id

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.usefixtures("seeded_world_after"),
]

ERP_RECORD = "/services/rest/record/v1"
REMEDIES_AUDITED = """
query { auditLog(objectType: "BusinessException", first: 1000) { subject roles action objectId } }
"""


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _new_workspace(systems: Systems, world: World, **fields: object) -> str:
    """A PSA workspace made in the PSA for a client of the world, with no finance code."""
    client = world.clients[0]
    project = await systems.psa.create_workspace(
        {
            "name": _unique("Visibility check"),
            "code": _unique("VIS"),
            "status": "ACTIVE",
            "crm_account_id": client.crm_id,
            "start_date": WORLD_TODAY - dt.timedelta(days=30),
            "end_date": WORLD_TODAY + dt.timedelta(days=90),
            "budget": Decimal("120000"),
            "currency": client.currency,
            **fields,
        },
        crm_opportunity_id=_unique("006VIS"),
    )
    return project.id


async def test_the_seeded_worlds_defects_are_all_found_and_nothing_else(
    visibility: Visibility, world: World, sandboxes
):
    reset(sandboxes)  # whatever ran before, the world as seeded
    expected = {ids.encode("BusinessException", key) for key in expected_exception_ids(world)}
    async with asyncio.timeout(120):
        while True:
            open_ = {
                key
                for key, found in (await visibility.queue()).items()
                if found["status"] != "RESOLVED"
            }
            if open_ == expected:
                break
            await asyncio.sleep(1.0)
    assert open_ == expected


async def test_a_project_without_finance_code_appears_and_its_remedy_resolves_it(
    visibility: Visibility, systems: Systems, world: World
):
    project_id = await _new_workspace(systems, world)

    found = await visibility.opened("PROJECT_MISSING_FINANCE_CODE", project_id)
    await visibility.pushed("PROJECT_MISSING_FINANCE_CODE", project_id, "OPEN")
    assert found["ownerTeam"] == "FINANCE"
    assert found["source"] == "PSA"
    assert await visibility.subject(found) == {
        "__typename": "Project",
        "id": ids.encode("Project", project_id),
    }
    assert Decimal(found["revenueAtRisk"]["amount"]) == Decimal("120000")

    started = (await visibility.gql(REMEDY, id=found["id"], key=_unique("fix")))[
        "remediateException"
    ]
    assert started["kind"] == "remedy_finance_code"
    assert (await visibility.gql.settled(started["id"]))["status"] == "SUCCEEDED"
    audit = (await visibility.gql(REMEDIES_AUDITED))["auditLog"]
    assert {
        "subject": "admin@harness",
        "roles": ["admin"],
        "action": "exception.remediate",
        "objectId": f"PROJECT_MISSING_FINANCE_CODE:{project_id}",
    } in audit

    done = await visibility.resolved("PROJECT_MISSING_FINANCE_CODE", project_id)
    assert done["resolvedAt"] is not None
    await visibility.pushed("PROJECT_MISSING_FINANCE_CODE", project_id, "RESOLVED")
    linked = (await systems.psa.get_many("project", [project_id]))[0]
    assert linked is not None
    assert getattr(linked, "erp_job_id", None)
    # The remedy made the job's billing schedule too: no exception follows from the fix.
    later = await visibility.queue("CONTRACT_WITHOUT_BILLING_SCHEDULE")
    assert exception_id("CONTRACT_WITHOUT_BILLING_SCHEDULE", project_id) not in later


async def test_a_contract_without_billing_schedule_resolves_when_the_erp_gets_one(
    visibility: Visibility, systems: Systems, world: World
):
    project_id = await _new_workspace(systems, world)
    customer = world.clients[0].erp_id
    job = await systems.erp.upsert_job(project_id, customer, {"name": "Visibility job"})
    await systems.psa.set_workspace_finance_code(project_id, job.id)

    found = await visibility.opened("CONTRACT_WITHOUT_BILLING_SCHEDULE", project_id)
    await visibility.pushed("CONTRACT_WITHOUT_BILLING_SCHEDULE", project_id, "OPEN")
    assert found["source"] == "ERP"

    await systems.erp.upsert_billing_schedule(
        job.id, "FIXED_FEE", [BillingScheduleLine(date=WORLD_TODAY, amount=Decimal("1000"))]
    )
    await visibility.resolved("CONTRACT_WITHOUT_BILLING_SCHEDULE", project_id)
    await visibility.pushed("CONTRACT_WITHOUT_BILLING_SCHEDULE", project_id, "RESOLVED")


async def test_a_contract_without_billing_schedule_is_remedied_from_the_contract(
    visibility: Visibility, systems: Systems, world: World
):
    project_id = await _new_workspace(systems, world)
    job = await systems.erp.upsert_job(project_id, world.clients[0].erp_id, {"name": "Job"})
    await systems.psa.set_workspace_finance_code(project_id, job.id)
    found = await visibility.opened("CONTRACT_WITHOUT_BILLING_SCHEDULE", project_id)

    started = (await visibility.gql(REMEDY, id=found["id"], key=_unique("fix")))[
        "remediateException"
    ]
    assert started["kind"] == "remedy_billing_schedule"
    assert (await visibility.gql.settled(started["id"]))["status"] == "SUCCEEDED"
    await visibility.resolved("CONTRACT_WITHOUT_BILLING_SCHEDULE", project_id)


async def test_a_blocked_invoice_appears_and_resolves_when_released_in_the_erp(
    visibility: Visibility, vendors: dict[str, Vendor], world: World
):
    invoice = next(i for i in world.invoices if i.status == "POSTED")
    path = f"{ERP_RECORD}/invoice/{invoice.erp_id}"
    # Held in approval by a finance clerk, saying why.
    vendors["erp"].call("PATCH", path, json={"custbody_blocked_reason": "PO_MISSING"})

    found = await visibility.opened("INVOICE_BLOCKED", invoice.erp_id)
    await visibility.pushed("INVOICE_BLOCKED", invoice.erp_id, "OPEN")
    assert "PO_MISSING" in found["summary"]
    assert Decimal(found["revenueAtRisk"]["amount"]) == invoice.amount

    vendors["erp"].call("PATCH", path, json={"custbody_blocked_reason": ""})
    await visibility.resolved("INVOICE_BLOCKED", invoice.erp_id)
    await visibility.pushed("INVOICE_BLOCKED", invoice.erp_id, "RESOLVED")


async def test_a_duplicate_customer_keyed_in_the_erp_appears_and_resolves_when_removed(
    visibility: Visibility, vendors: dict[str, Vendor], world: World
):
    client = next(c for c in world.clients if c.duplicate_erp_id is None)
    typed = client.name.replace(" ", "  ").upper()  # the same name, keyed in differently
    created = vendors["erp"].call(
        "POST", f"{ERP_RECORD}/customer", json={"companyName": typed, "subsidiary": {"id": "1"}}
    )
    customer_id = created.headers["location"].rstrip("/").rsplit("/", 1)[-1]

    found = await visibility.opened("DUPLICATE_CUSTOMER", client.crm_id)
    await visibility.pushed("DUPLICATE_CUSTOMER", client.crm_id, "OPEN")
    assert customer_id in found["summary"]
    assert (await visibility.subject(found) or {}).get("__typename") == "Client"

    vendors["erp"].call("DELETE", f"{ERP_RECORD}/customer/{customer_id}")
    await visibility.resolved("DUPLICATE_CUSTOMER", client.crm_id)


async def test_an_unassigned_staffing_request_appears_and_resolves_when_filled_in_the_psa(
    visibility: Visibility, systems: Systems, world: World
):
    project = next(p for p in world.projects if p.status == "ACTIVE")
    request = await systems.psa.create_staffing_request(
        project.psa_id,
        "Consultant",
        ["Python"],
        20.0,
        WORLD_TODAY - dt.timedelta(days=3),
        external_ref=_unique("vis"),
    )
    found = await visibility.opened("STAFFING_REQUEST_UNASSIGNED", request.id)
    await visibility.pushed("STAFFING_REQUEST_UNASSIGNED", request.id, "OPEN")
    assert found["ownerTeam"] == "PMO"

    person = world.people[project.manager_key]
    await systems.psa.fill_staffing_request(request.id, person.psa_user_id)
    await visibility.resolved("STAFFING_REQUEST_UNASSIGNED", request.id)
    await visibility.pushed("STAFFING_REQUEST_UNASSIGNED", request.id, "RESOLVED")


def _active_coded_project(world: World):
    return next(p for p in world.projects if p.status == "ACTIVE" and p.erp_job_id)


async def test_approved_time_not_posted_appears_and_posting_it_resolves_it(
    visibility: Visibility, systems: Systems, world: World
):
    project = _active_coded_project(world)
    person = world.people[project.manager_key]
    entry = await systems.time.create_time_entry(
        person.time_user_id,
        project.time_project_id,
        WORLD_TODAY - dt.timedelta(days=1),
        3.0,
        True,
        "visibility check",
        external_reference=_unique("vis"),
    )
    await systems.time.approve([entry.id])

    found = await visibility.opened("APPROVED_TIME_NOT_POSTED", entry.id)
    await visibility.pushed("APPROVED_TIME_NOT_POSTED", entry.id, "OPEN")
    assert await visibility.subject(found) == {
        "__typename": "TimeEntry",
        "id": ids.encode("TimeEntry", entry.id),
    }
    assert Decimal(found["revenueAtRisk"]["amount"]) == person.bill_rate * 3

    started = (await visibility.gql(REMEDY, id=found["id"], key=_unique("fix")))[
        "remediateException"
    ]
    assert started["kind"] == "approve_time"
    assert (await visibility.gql.settled(started["id"]))["status"] == "SUCCEEDED"
    await visibility.resolved("APPROVED_TIME_NOT_POSTED", entry.id)
    await visibility.pushed("APPROVED_TIME_NOT_POSTED", entry.id, "RESOLVED")


async def test_approved_time_on_a_project_closed_in_the_psa_appears_and_resolves_when_unapproved(
    visibility: Visibility, systems: Systems, vendors: dict[str, Vendor], world: World
):
    project = _active_coded_project(world)
    entry = next(
        t
        for t in reversed(world.time_entries)
        if t.project_key == project.key and t.status == "APPROVED"
    )
    closed_on = entry.date - dt.timedelta(days=1)
    await systems.psa.update_workspace(
        project.psa_id, {"status": "COMPLETED", "end_date": closed_on}
    )

    found = await visibility.opened("APPROVED_TIME_ON_CLOSED_PROJECT", entry.time_id)
    await visibility.pushed("APPROVED_TIME_ON_CLOSED_PROJECT", entry.time_id, "OPEN")
    assert found["ownerTeam"] == "PMO"

    # Whoever approved it takes the approval back in TIME to recode it.
    vendors["time"].call(
        "PATCH",
        f"/v2/time_entries/{entry.time_id}",
        json={"approval_status": "unsubmitted"},
        headers={"Harvest-Account-Id": "100200"},
    )
    await visibility.resolved("APPROVED_TIME_ON_CLOSED_PROJECT", entry.time_id)
    await visibility.pushed("APPROVED_TIME_ON_CLOSED_PROJECT", entry.time_id, "RESOLVED")


async def test_a_person_booked_over_capacity_in_the_psa_appears_and_resolves_when_unbooked(
    visibility: Visibility, systems: Systems, vendors: dict[str, Vendor], world: World
):
    overbooked = world.defects.overbooked_people
    person = next(p for p in world.people if p.key not in overbooked)
    project = next(
        p
        for p in world.projects
        if p.status == "ACTIVE"
        and not any(
            a.project_key == p.key and a.person_key == person.key for a in world.assignments
        )
    )
    booking = await systems.psa.book(
        project.psa_id,
        person.psa_user_id,
        role="Consultant",
        hours_per_week=person.weekly_capacity_hours + 10,
        start_date=WORLD_TODAY,
        end_date=WORLD_TODAY + dt.timedelta(days=60),
    )
    found = await visibility.opened("RESOURCE_CONFLICT", person.hcm_id)
    await visibility.pushed("RESOURCE_CONFLICT", person.hcm_id, "OPEN")
    assert await visibility.subject(found) == {
        "__typename": "Resource",
        "id": ids.encode("Resource", person.hcm_id),
    }

    # The booking ended in the PSA.
    ended = (WORLD_TODAY - dt.timedelta(days=1)).isoformat()
    vendors["psa"].call(
        "PUT",
        f"/api/v1/participations/{booking.id}.json",
        json={"participation": {"end_date": ended}},
    )
    await visibility.resolved("RESOURCE_CONFLICT", person.hcm_id)


async def test_a_failing_source_appears_and_resolves_once_it_answers_again(
    visibility: Visibility, sandboxes
):
    # A vendor's outage has no API of its own: the sandbox's fault switch stands in for it.
    url = f"{sandboxes['hcm'].url}/_sandbox/faults"
    before = _scrape(visibility)
    httpx.post(url, json={"error_rate": 1.0}, timeout=30).raise_for_status()
    try:
        found = await visibility.opened("SOURCE_DEGRADED", "HCM")
        await visibility.pushed("SOURCE_DEGRADED", "HCM", "OPEN")
        assert found["ownerTeam"] == "INTEGRATION"
        during = _scrape(visibility)
    finally:
        httpx.delete(url, timeout=30).raise_for_status()
    await visibility.resolved("SOURCE_DEGRADED", "HCM")
    await visibility.pushed("SOURCE_DEGRADED", "HCM", "RESOLVED")
    after = _scrape(visibility)

    failed = {"name": "psgraph_upstream_request_duration_seconds_count", "source": "HCM"}
    assert _total(during, **failed, status="503") > _total(before, **failed, status="503")
    degraded = [
        _total(m, "psgraph_open_exceptions", kind="SOURCE_DEGRADED")
        for m in (before, during, after)
    ]
    assert degraded[1] >= degraded[0] + 1  # another source may be slow too: HCM added one
    assert degraded[2] <= degraded[1] - 1


def _scrape(visibility: Visibility) -> str:
    """The gateway's /metrics, as a Prometheus scraper reads it."""
    response = httpx.get(f"{visibility.url}/metrics", timeout=30)
    response.raise_for_status()
    return response.text


def _total(metrics: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def test_acknowledging_records_who_and_when(visibility: Visibility, world: World):
    invoice = world.invoices[min(world.defects.blocked_invoices)]
    found = await visibility.opened("INVOICE_BLOCKED", invoice.erp_id)
    acknowledge = """
    mutation($id: ID!) { acknowledgeException(id: $id, note: "calling the client") {
      id status acknowledgedAt } }
    """
    done = (await visibility.gql(acknowledge, id=found["id"]))["acknowledgeException"]
    assert done["status"] == "ACKNOWLEDGED"
    assert done["acknowledgedAt"] is not None
    await visibility.pushed("INVOICE_BLOCKED", invoice.erp_id, "ACKNOWLEDGED")
    still = await visibility.queue("INVOICE_BLOCKED", "ACKNOWLEDGED")
    assert found["id"] in still


async def test_kpis_are_computed_from_the_sources_and_the_log(
    visibility: Visibility, systems: Systems, world: World
):
    await visibility.opened(
        "INVOICE_BLOCKED", world.invoices[min(world.defects.blocked_invoices)].erp_id
    )
    kpis = (
        await visibility.gql(
            """query { kpis(from: "2026-10-26", to: "2026-11-25") {
              from to invoicesBlockedShare unbilledApprovedHours projectsMissingFinanceCode
              openExceptions approvedTimeToInvoiceLatency { count p50Seconds } } }"""
        )
    )["kpis"]
    open_invoices = [i for i in world.invoices if i.status in ("DRAFT", "POSTED", "BLOCKED")]
    blocked = [i for i in open_invoices if i.status == "BLOCKED"]
    assert kpis["from"] == "2026-10-26"
    assert kpis["invoicesBlockedShare"] == pytest.approx(len(blocked) / len(open_invoices))
    # What TIME itself says now (earlier tests here approved and unapproved some).
    unbilled = 0.0
    cursor = None
    while True:
        page = await systems.time.list(
            "time_entry",
            {"status": "APPROVED", "from": dt.date(2026, 10, 26), "to": WORLD_TODAY},
            page_size=2000,
            cursor=cursor,
        )
        unbilled += sum(getattr(entry, "hours", 0.0) for entry in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert kpis["unbilledApprovedHours"] == pytest.approx(unbilled)
    assert kpis["projectsMissingFinanceCode"] >= 1
    assert kpis["openExceptions"] >= kpis["projectsMissingFinanceCode"]
    assert kpis["approvedTimeToInvoiceLatency"]["count"] > 0

"""Every reference in the generated world resolves, and the only flaws are the recorded defects.

Each test walks one kind of reference over a whole world at scale 1 and at a small scale.
The defect tests check both that each recorded defect is really there at about its rate,
and that no object outside the recorded sets shows the same flaw.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest

from sandboxes.world.generate import DEFECT_RATES, generate
from sandboxes.world.model import World
from sandboxes.world.names import (
    PROJECT_MANAGEMENT,
    PROJECT_MANAGER_ROLE,
    ROLE_SKILLS,
    USD_PER_UNIT,
)

TODAY = date(2026, 3, 16)
CLOSED = {"COMPLETED", "CANCELLED"}


@pytest.fixture(scope="module")
def worlds() -> dict[float, World]:
    """Worlds by scale, each generated once for the module."""
    return {}


def world_at(worlds: dict[float, World], scale: float) -> World:
    if scale not in worlds:
        worlds[scale] = generate(seed=42, scale=scale, today=TODAY)
    return worlds[scale]


@pytest.fixture(params=[pytest.param(1.0, id="scale-1"), pytest.param(0.1, id="scale-0.1")])
def world(request: pytest.FixtureRequest, worlds: dict[float, World]) -> World:
    return world_at(worlds, request.param)


@pytest.fixture
def full_world(worlds: dict[float, World]) -> World:
    return world_at(worlds, 1.0)


def on_dates(day: date, start: date, end: date) -> bool:
    return start <= day <= end


# --- CRM -----------------------------------------------------------------------------------


def test_contacts_belong_to_clients(world: World) -> None:
    assert all(0 <= c.client_key < len(world.clients) for c in world.contacts)


def test_opportunities_belong_to_clients_and_carry_their_currency_and_region(
    world: World,
) -> None:
    for opportunity in world.opportunities:
        client = world.clients[opportunity.client_key]
        assert (opportunity.currency, opportunity.region) == (client.currency, client.region)


def test_won_opportunities_and_projects_point_at_each_other(world: World) -> None:
    for opportunity in world.opportunities:
        if opportunity.stage == "CLOSED_WON":
            assert opportunity.project_key is not None
            assert world.projects[opportunity.project_key].opportunity_key == opportunity.key
            assert opportunity.close_date < TODAY
        else:
            assert opportunity.project_key is None
    for project in world.projects:
        opportunity = world.opportunities[project.opportunity_key]
        assert opportunity.stage == "CLOSED_WON"
        assert opportunity.project_key == project.key
        assert project.client_key == opportunity.client_key
        assert (project.budget, project.currency) == (opportunity.amount, opportunity.currency)
        assert project.contract_type == opportunity.contract_type
        assert project.practice == opportunity.practice


# --- people ----------------------------------------------------------------------------------


def test_managers_form_one_tree(world: World) -> None:
    roots = [p.key for p in world.people if p.manager_key is None]
    assert roots == [0]
    for person in world.people:
        seen = {person.key}
        boss = person.manager_key
        while boss is not None:
            assert 0 <= boss < len(world.people)
            assert boss not in seen, f"cycle through {person.key}"
            seen.add(boss)
            boss = world.people[boss].manager_key


def test_client_owners_are_senior_people(world: World) -> None:
    senior = {p.name for p in world.people if PROJECT_MANAGEMENT in p.skills}
    assert all(c.owner in senior for c in world.clients)


# --- PSA ---------------------------------------------------------------------------------


def test_projects_are_run_by_a_project_manager_of_their_practice(world: World) -> None:
    for project in world.projects:
        manager = world.people[project.manager_key]
        assert manager.practice == project.practice
        assert PROJECT_MANAGEMENT in manager.skills


def test_project_status_agrees_with_its_dates(world: World) -> None:
    for project in world.projects:
        assert project.start_date < project.end_date
        if project.status == "PLANNED":
            assert project.start_date >= TODAY
        elif project.status in CLOSED:
            assert project.end_date < TODAY
        else:
            assert project.start_date < TODAY <= project.end_date


def test_milestones_fall_in_their_project_and_share_its_budget(world: World) -> None:
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for milestone in world.milestones:
        project = world.projects[milestone.project_key]
        assert on_dates(milestone.due_date, project.start_date, project.end_date)
        assert (milestone.status == "OPEN") == (milestone.due_date >= TODAY)
        assert (milestone.completed_at is None) == (milestone.status == "OPEN")
        totals[project.key] += milestone.amount
    assert all(totals[p.key] == p.budget for p in world.projects)


def test_assignments_put_fitting_people_on_projects_within_its_dates(world: World) -> None:
    for assignment in world.assignments:
        project = world.projects[assignment.project_key]
        person = world.people[assignment.person_key]
        assert person.practice == project.practice
        assert set(ROLE_SKILLS[assignment.role]) & set(person.skills), assignment
        assert project.start_date <= assignment.start_date <= assignment.end_date
        assert assignment.end_date <= project.end_date
        if assignment.role == PROJECT_MANAGER_ROLE:
            assert assignment.person_key == project.manager_key


def test_each_project_has_its_manager_and_one_to_five_others_assigned(world: World) -> None:
    team: dict[int, list[int]] = defaultdict(list)
    for assignment in world.assignments:
        team[assignment.project_key].append(assignment.person_key)
    for project in world.projects:
        members = team[project.key]
        assert project.manager_key in members
        assert len(members) == len(set(members))
        assert 2 <= len(members) <= 6


def test_filled_staffing_requests_name_someone_assigned_to_the_project(world: World) -> None:
    assigned = {(a.project_key, a.person_key, a.role) for a in world.assignments}
    for staffing in world.staffing_requests:
        project = world.projects[staffing.project_key]
        assert set(staffing.skills) <= set(ROLE_SKILLS[staffing.role])
        assert on_dates(staffing.start_date, project.start_date, project.end_date)
        if staffing.status == "FILLED":
            assert staffing.assigned_person_key is not None
            assert (project.key, staffing.assigned_person_key, staffing.role) in assigned
            person = world.people[staffing.assigned_person_key]
            assert set(staffing.skills) <= set(person.skills)
        else:
            assert staffing.assigned_person_key is None
        if staffing.status == "OPEN":
            assert project.status not in CLOSED


# --- ERP -----------------------------------------------------------------------------------


def test_billing_schedules_match_their_contract_and_budget(world: World) -> None:
    milestones_of: dict[int, list[int]] = defaultdict(list)
    for milestone in world.milestones:
        milestones_of[milestone.project_key].append(milestone.key)
    per_project = [s.project_key for s in world.billing_schedules]
    assert len(per_project) == len(set(per_project))
    for schedule in world.billing_schedules:
        project = world.projects[schedule.project_key]
        assert project.erp_job_id is not None
        assert schedule.kind == project.contract_type
        assert sum(line.amount for line in schedule.lines) == project.budget
        dates = [line.date for line in schedule.lines]
        assert dates == sorted(dates)
        assert dates[-1] == project.end_date
        if schedule.kind == "MILESTONE":
            assert [line.milestone_key for line in schedule.lines] == milestones_of[project.key]
            for line in schedule.lines:
                assert line.milestone_key is not None
                assert line.amount == world.milestones[line.milestone_key].amount
        else:
            assert all(line.milestone_key is None for line in schedule.lines)


def test_billed_milestones_are_on_milestone_contracts_with_a_schedule(world: World) -> None:
    scheduled = {s.project_key for s in world.billing_schedules}
    for milestone in world.milestones:
        if milestone.status == "BILLED":
            project = world.projects[milestone.project_key]
            assert project.contract_type == "MILESTONE"
            assert project.key in scheduled


def test_invoices_bill_a_scheduled_project_of_their_client(world: World) -> None:
    scheduled = {s.project_key for s in world.billing_schedules}
    for invoice in world.invoices:
        assert invoice.project_key is not None
        project = world.projects[invoice.project_key]
        assert invoice.client_key == project.client_key
        assert invoice.currency == project.currency
        assert project.key in scheduled
        assert invoice.amount > 0
        assert invoice.issue_date < invoice.due_date
        assert invoice.issue_date < TODAY
        assert (invoice.blocked_reason is not None) == (invoice.status == "BLOCKED")
        assert (invoice.paid_at is not None) == (invoice.status == "PAID")


def test_only_clients_on_credit_hold_have_invoices_blocked_for_it(world: World) -> None:
    for invoice in world.invoices:
        on_hold = world.clients[invoice.client_key].credit_status == "HOLD"
        if invoice.status == "BLOCKED":
            assert (invoice.blocked_reason == "CREDIT_HOLD") == on_hold


def test_payments_settle_no_more_than_their_invoice(world: World) -> None:
    paid: dict[int, Decimal] = defaultdict(Decimal)
    last_received: dict[int, date] = {}
    for payment in world.payments:
        invoice = world.invoices[payment.invoice_key]
        assert invoice.status in {"PAID", "POSTED"}
        assert payment.currency == invoice.currency
        assert invoice.issue_date < payment.received_on < TODAY
        assert payment.amount > 0
        paid[invoice.key] += payment.amount
        last_received[invoice.key] = max(
            payment.received_on, last_received.get(invoice.key, date.min)
        )
    for invoice in world.invoices:
        assert paid[invoice.key] <= invoice.amount
        if invoice.status == "PAID":
            assert paid[invoice.key] == invoice.amount
            assert invoice.paid_at is not None
            assert invoice.paid_at.date() == last_received[invoice.key]


def test_some_posted_invoices_are_partly_paid(full_world: World) -> None:
    partly_paid = {
        p.invoice_key
        for p in full_world.payments
        if full_world.invoices[p.invoice_key].status == "POSTED"
    }
    assert partly_paid


def test_clients_with_a_duplicate_customer_have_a_distinct_second_id(world: World) -> None:
    customer_ids = {c.erp_id for c in world.clients}
    for client in world.clients:
        if client.duplicate_erp_id is not None:
            assert client.duplicate_erp_id not in customer_ids


# --- TIME ----------------------------------------------------------------------------------


def test_time_is_logged_by_people_assigned_on_those_dates(world: World) -> None:
    stints = defaultdict(list)
    for assignment in world.assignments:
        stints[assignment.person_key, assignment.project_key].append(assignment)
    late = world.defects.approved_time_on_closed_project
    for entry in world.time_entries:
        assert stints[entry.person_key, entry.project_key], entry
        if entry.key not in late:
            assert any(
                on_dates(entry.date, a.start_date, a.end_date)
                for a in stints[entry.person_key, entry.project_key]
            )


def test_invoiced_time_points_at_a_live_invoice_of_its_client_and_project(
    world: World,
) -> None:
    for entry in world.time_entries:
        if entry.status != "INVOICED":
            assert entry.invoice_key is None
            continue
        assert entry.invoice_key is not None
        invoice = world.invoices[entry.invoice_key]
        project = world.projects[entry.project_key]
        assert (invoice.client_key, invoice.project_key) == (project.client_key, project.key)
        assert invoice.status != "VOID"
        assert entry.billable
        assert entry.date < invoice.issue_date


def test_time_and_materials_invoices_bill_exactly_their_hours(world: World) -> None:
    billed: dict[int, Decimal] = defaultdict(Decimal)
    for entry in world.time_entries:
        if entry.invoice_key is not None:
            person = world.people[entry.person_key]
            project = world.projects[entry.project_key]
            rate = person.bill_rate * USD_PER_UNIT[person.currency] / USD_PER_UNIT[project.currency]
            billed[entry.invoice_key] += Decimal(entry.hours) * rate
    checked = 0
    for invoice_key, amount in billed.items():
        invoice = world.invoices[invoice_key]
        if world.projects[invoice.project_key or 0].contract_type == "TIME_AND_MATERIALS":
            assert invoice.amount == amount.quantize(Decimal("0.01"))
            checked += 1
    assert checked


def test_approvals_and_erp_postings_follow_status(world: World) -> None:
    for entry in world.time_entries:
        approved = entry.status in {"APPROVED", "INVOICED"}
        project = world.projects[entry.project_key]
        assert (entry.approved_at is not None) == approved
        assert (entry.erp_posting_id is not None) == (approved and project.erp_job_id is not None)
        if entry.approved_at is not None:
            assert entry.approved_at.date() > entry.date
            assert entry.approved_at <= entry.modified_at


def test_expenses_are_spent_by_people_on_their_projects(world: World) -> None:
    assigned = {(a.person_key, a.project_key) for a in world.assignments}
    for expense in world.expenses:
        assert (expense.person_key, expense.project_key) in assigned
        assert expense.currency == world.people[expense.person_key].currency
        assert expense.amount > 0
        project = world.projects[expense.project_key]
        assert on_dates(expense.date, project.start_date, project.end_date)
        assert expense.date < TODAY
        if expense.status == "INVOICED":
            assert expense.billable


# --- defects -------------------------------------------------------------------------------

# (defect, rate, absolute tolerance on the rate at scale 1)
DEFECTS = [
    pytest.param(
        "projects_without_finance_code",
        DEFECT_RATES.projects_without_finance_code,
        0.005,
        id="no-finance-code",
    ),
    pytest.param(
        "projects_without_billing_schedule",
        DEFECT_RATES.projects_without_billing_schedule,
        0.005,
        id="no-billing-schedule",
    ),
    pytest.param(
        "approved_time_on_closed_project",
        DEFECT_RATES.approved_time_on_closed_project,
        0.002,
        id="time-on-closed-project",
    ),
    pytest.param(
        "duplicate_customers", DEFECT_RATES.duplicate_customers, 0.005, id="duplicate-customer"
    ),
    pytest.param("blocked_invoices", DEFECT_RATES.blocked_invoices, 0.005, id="blocked-invoice"),
]


def defect_population(world: World, defect: str) -> int:
    """How many objects each defect's rate is a share of."""
    return {
        "projects_without_finance_code": len(world.projects),
        "projects_without_billing_schedule": sum(p.erp_job_id is not None for p in world.projects),
        "approved_time_on_closed_project": sum(t.status == "APPROVED" for t in world.time_entries),
        "duplicate_customers": len(world.clients),
        "blocked_invoices": len(world.invoices),
    }[defect]


def observed_defects(world: World) -> dict[str, set[int]]:
    """Each defect, found by looking at the data rather than at the record of it."""
    scheduled = {s.project_key for s in world.billing_schedules}
    return {
        "projects_without_finance_code": {p.key for p in world.projects if p.erp_job_id is None},
        "projects_without_billing_schedule": {
            p.key for p in world.projects if p.erp_job_id is not None and p.key not in scheduled
        },
        "approved_time_on_closed_project": {
            t.key
            for t in world.time_entries
            if not on_dates(
                t.date,
                world.projects[t.project_key].start_date,
                world.projects[t.project_key].end_date,
            )
        },
        "duplicate_customers": {c.key for c in world.clients if c.duplicate_erp_id is not None},
        "blocked_invoices": {i.key for i in world.invoices if i.status == "BLOCKED"},
    }


@pytest.mark.parametrize(("defect", "rate", "tolerance"), DEFECTS)
def test_defects_occur_at_their_rate(
    full_world: World, defect: str, rate: float, tolerance: float
) -> None:
    found = len(getattr(full_world.defects, defect))
    assert abs(found / defect_population(full_world, defect) - rate) <= tolerance


@pytest.mark.parametrize(("defect", "rate", "tolerance"), DEFECTS)
def test_defects_are_exactly_the_recorded_ones(
    world: World, defect: str, rate: float, tolerance: float
) -> None:
    recorded = getattr(world.defects, defect)
    assert recorded, "every world shows every defect"
    assert observed_defects(world)[defect] == recorded


def test_time_on_a_closed_project_is_approved_and_after_its_end(world: World) -> None:
    for key in world.defects.approved_time_on_closed_project:
        entry = world.time_entries[key]
        project = world.projects[entry.project_key]
        assert entry.status == "APPROVED"
        assert project.status in CLOSED
        assert entry.date > project.end_date
        assert entry.date < TODAY - timedelta(days=7)


def test_approved_time_without_a_finance_code_is_not_posted(world: World) -> None:
    jobless = world.defects.projects_without_finance_code
    entries = [t for t in world.time_entries if t.project_key in jobless]
    assert entries
    assert all(t.erp_posting_id is None for t in entries)
    assert all(t.invoice_key is None for t in entries)

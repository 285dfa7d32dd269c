"""A small hand-made firm and the PSA sandbox serving it in-process (no sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest

from sandboxes.psa.server import PsaSandbox
from sandboxes.world.model import (
    Assignment,
    Client,
    Defects,
    Milestone,
    Opportunity,
    Person,
    Project,
    StaffingRequest,
    World,
)
from sources.config import Credentials, RetryPolicy, SourceSettings
from sources.psa.connector import PsaConnector

TOKEN = "unit-psa-token"
BASE_URL = "http://psa.test"
MODIFIED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PROJECT_STATUSES = ("ACTIVE", "PLANNED", "ON_HOLD", "COMPLETED", "CANCELLED")


def _person(key: int) -> Person:
    return Person(
        key=key,
        name=f"Person {key}",
        email=f"person{key}@example.com",
        title="Consultant",
        practice="Data",
        location="London",
        cost_center="CC-1",
        skills=("python",),
        cost_rate=Decimal("80"),
        bill_rate=Decimal("200"),
        currency="USD",
        manager_key=None,
        hcm_id=f"W{key:04d}",
        psa_user_id=str(500 + key),
        time_user_id=str(900 + key),
        weekly_capacity_hours=40.0,
        modified_at=MODIFIED,
    )


def small_world(projects: int = 5, milestones_per_project: int = 3) -> World:
    clients = tuple(
        Client(
            key=k,
            name=f"Client {k}",
            industry="Retail",
            region="EMEA",
            owner="Owner",
            crm_id=f"001{k:015d}",
            erp_id=str(300 + k),
            payment_terms="Net 30",
            credit_status="GOOD",
            currency="EUR" if k == 0 else "USD",
            modified_at=MODIFIED,
        )
        for k in range(2)
    )
    opportunities = tuple(
        Opportunity(
            key=k,
            client_key=k % 2,
            name=f"Deal {k}",
            stage="CLOSED_WON",
            amount=Decimal("100000"),
            currency="USD",
            close_date=date(2024, 1, 1),
            practice="Data",
            region="EMEA",
            contract_type="MILESTONE",
            crm_id=f"006{k:015d}",
            modified_at=MODIFIED,
            project_key=k,
        )
        for k in range(projects)
    )
    people = tuple(_person(k) for k in range(4))
    project_rows = tuple(
        Project(
            key=k,
            client_key=k % 2,
            opportunity_key=k,
            code=f"PRJ-{k:05d}",
            name=f"Project {k}",
            status=PROJECT_STATUSES[k % len(PROJECT_STATUSES)],
            practice="Data" if k % 2 == 0 else "Cloud",
            region="EMEA",
            start_date=date(2024, 2, 1),
            end_date=date(2024, 12, 31),
            budget=Decimal("120000.50"),
            currency="EUR" if k % 2 == 0 else "USD",
            contract_type="MILESTONE",
            manager_key=k % 4,
            psa_id=str(1000 + k),
            time_project_id=str(7000 + k),
            erp_job_id=None if k == 1 else f"JOB-{k}",
            modified_at=MODIFIED,
        )
        for k in range(projects)
    )
    milestone_statuses = ("OPEN", "COMPLETED", "BILLED")
    milestone_rows = tuple(
        Milestone(
            key=k,
            project_key=k // milestones_per_project,
            name=f"Milestone {k}",
            due_date=date(2024, 6, 1),
            status=milestone_statuses[k % 3],
            amount=Decimal("25000"),
            completed_at=None if k % 3 == 0 else datetime(2024, 6, 2, tzinfo=UTC),
            psa_id=str(20000 + k),
            modified_at=MODIFIED,
        )
        for k in range(projects * milestones_per_project)
    )
    assignments = tuple(
        Assignment(
            key=k,
            project_key=k % projects,
            person_key=k % 4,
            role="Consultant",
            hours_per_week=20.0,
            start_date=date(2024, 2, 1),
            end_date=date(2024, 12, 31),
            psa_id=str(40000 + k),
        )
        for k in range(projects * 2)
    )
    staffing = tuple(
        StaffingRequest(
            key=k,
            project_key=k % projects,
            role="Architect",
            skills=("aws", "terraform"),
            hours_per_week=16.0,
            start_date=date(2024, 3, 1),
            status=("OPEN", "FILLED", "CANCELLED")[k % 3],
            assigned_person_key=1 if k % 3 == 1 else None,
            psa_id=str(60000 + k),
        )
        for k in range(projects)
    )
    return World(
        seed=1,
        scale=0.01,
        today=date(2024, 6, 15),
        subsidiary_ids=("1",),
        currencies=("USD", "EUR"),
        clients=clients,
        contacts=(),
        opportunities=opportunities,
        people=people,
        projects=project_rows,
        billing_schedules=(),
        milestones=milestone_rows,
        assignments=assignments,
        staffing_requests=staffing,
        time_entries=(),
        expenses=(),
        invoices=(),
        payments=(),
        defects=Defects(
            projects_without_finance_code=frozenset({1}),
            projects_without_billing_schedule=frozenset(),
            approved_time_on_closed_project=frozenset(),
            duplicate_customers=frozenset(),
            blocked_invoices=frozenset(),
        ),
    )


@pytest.fixture
def firm() -> World:
    return small_world()


@pytest.fixture
def sandbox(firm: World) -> PsaSandbox:
    return PsaSandbox(firm, token=TOKEN)


@pytest.fixture
async def http(sandbox: PsaSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A raw client on the sandbox app, authenticated."""
    transport = httpx.ASGITransport(app=sandbox.app())
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as client:
        yield client


def settings(token: str = TOKEN, **overrides: object) -> SourceSettings:
    return SourceSettings(
        base_url=BASE_URL,
        credentials=Credentials(token=token),
        retry=RetryPolicy(attempts=1),
        **overrides,
    )


@pytest.fixture
async def connector(sandbox: PsaSandbox) -> AsyncIterator[PsaConnector]:
    transport = httpx.ASGITransport(app=sandbox.app())
    psa = PsaConnector(settings(), transport=transport)
    yield psa
    await psa.aclose()

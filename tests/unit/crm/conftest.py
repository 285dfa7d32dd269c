"""A small hand-made firm for the CRM's in-process tests, and a sandbox serving it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from sandboxes.crm.server import CrmSandbox
from sandboxes.world.model import Client, Contact, Defects, Opportunity, Project, World
from sources.config import Credentials, RetryPolicy, SourceSettings
from sources.crm.connector import CrmConnector
from sources.crm.ids import make_id

SECRET = "crm-test-secret"
BASE_URL = "http://crm.test"
STAGES = ["PROSPECTING", "QUALIFICATION", "PROPOSAL", "NEGOTIATION", "CLOSED_WON", "CLOSED_LOST"]


def small_world(clients: int = 3, opportunities_per_client: int = 4) -> World:
    modified = datetime.now(UTC) - timedelta(days=2)
    firm = [
        Client(
            key=k,
            name=f"Client {k} Holdings",
            industry="Banking",
            region="EMEA" if k % 2 else "AMER",
            owner=f"Owner {k}",
            crm_id=make_id("001", k + 1),
            erp_id=str(1000 + k),
            payment_terms="Net 30",
            credit_status="GOOD",
            currency="USD",
            modified_at=modified,
        )
        for k in range(clients)
    ]
    contacts = [
        Contact(
            key=k,
            client_key=k % clients,
            name=f"Pat Contact{k}",
            email=f"pat{k}@example.com",
            crm_id=make_id("003", k + 1),
        )
        for k in range(clients * 2)
    ]
    deals = [
        Opportunity(
            key=k,
            client_key=k % clients,
            name=f"Deal {k}",
            stage=STAGES[k % len(STAGES)],
            amount=Decimal("1000.50") * (k + 1),
            currency="USD",
            close_date=date(2024, 6, 1) + timedelta(days=k),
            practice="Data",
            region="EMEA",
            contract_type="FIXED_FEE" if k % 2 else "TIME_AND_MATERIALS",
            crm_id=make_id("006", k + 1),
            modified_at=modified,
            project_key=0 if k == 4 else None,
        )
        for k in range(clients * opportunities_per_client)
    ]
    project = Project(
        key=0,
        client_key=deals[4].client_key,
        opportunity_key=4,
        code="PRJ-00000",
        name="Deal 4 delivery",
        status="ACTIVE",
        practice="Data",
        region="EMEA",
        start_date=date(2024, 6, 1),
        end_date=date(2024, 12, 1),
        budget=Decimal(5000),
        currency="USD",
        contract_type="FIXED_FEE",
        manager_key=0,
        psa_id="7001",
        time_project_id="9001",
        erp_job_id="J-1",
        modified_at=modified,
    )
    nothing: frozenset[int] = frozenset()
    return World(
        seed=1,
        scale=0.01,
        today=date.today(),
        subsidiary_ids=("1",),
        currencies=("USD",),
        clients=tuple(firm),
        contacts=tuple(contacts),
        opportunities=tuple(deals),
        people=(),
        projects=(project,),
        billing_schedules=(),
        milestones=(),
        assignments=(),
        staffing_requests=(),
        time_entries=(),
        expenses=(),
        invoices=(),
        payments=(),
        defects=Defects(nothing, nothing, nothing, nothing, nothing),
    )


@pytest.fixture
def world() -> World:
    return small_world()


@pytest.fixture
def sandbox(world: World) -> CrmSandbox:
    return CrmSandbox(world, token=SECRET)


@pytest.fixture
def api(sandbox: CrmSandbox) -> httpx.AsyncClient:
    """Raw HTTP to the in-process sandbox, already holding an access token."""
    transport = httpx.ASGITransport(app=sandbox.app())
    token = sandbox.sessions.issue()
    return httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, headers={"Authorization": f"Bearer {token}"}
    )


def settings(**overrides: object) -> SourceSettings:
    base: dict[str, object] = {
        "base_url": BASE_URL,
        "credentials": Credentials(client_id="psgraph-test", client_secret=SECRET),
        "retry": RetryPolicy(attempts=2, backoff_initial=0.001, backoff_max=0.01, jitter=0.001),
        **overrides,
    }
    return SourceSettings(**base)


@pytest.fixture
async def connector(sandbox: CrmSandbox) -> AsyncIterator[CrmConnector]:
    connector = CrmConnector(settings(), transport=httpx.ASGITransport(app=sandbox.app()))
    try:
        yield connector
    finally:
        await connector.aclose()

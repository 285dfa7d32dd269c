"""The ERP connector pointed at the session's ERP sandbox, plus the sandbox's admin surface.

Tests that write make their own customer (a fresh CRM id) and work under it, so the
world's customers, jobs and receivables stay as generated for everyone else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest

from gateway.settings import Settings
from sandboxes.runner import SandboxCluster
from sources.erp.connector import ErpConnector
from tests.conftest import source_settings
from tests.integration.conftest import RequestsSince, sandbox_faults


@pytest.fixture
def erp_url(sandboxes: SandboxCluster) -> str:
    return sandboxes["erp"].url


def make_erp(sandboxes: SandboxCluster, demo: Settings, **overrides: Any) -> ErpConnector:
    return ErpConnector(source_settings(demo, sandboxes, "erp", **overrides))


@pytest.fixture
async def erp(sandboxes: SandboxCluster, demo_settings: Settings) -> AsyncIterator[ErpConnector]:
    connector = make_erp(sandboxes, demo_settings)
    yield connector
    await connector.aclose()


@pytest.fixture
def requests_since(erp_url: str) -> Callable[[], Callable[[], int]]:
    """Call to start counting; the result tells how many vendor requests came since."""
    return lambda: RequestsSince(erp_url).total


@pytest.fixture
def suiteql(erp_url: str, demo_settings: Settings) -> Callable[[str], list[dict[str, Any]]]:
    """Ask the sandbox a SuiteQL question directly, as any NetSuite client could."""
    headers = {
        "Authorization": f"Bearer {demo_settings.sandbox.tokens['erp']}",
        "Prefer": "transient",
    }

    def ask(statement: str) -> list[dict[str, Any]]:
        response = httpx.post(
            f"{erp_url}/services/rest/query/v1/suiteql", json={"q": statement}, headers=headers
        )
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    return ask


@pytest.fixture
def faults(erp_url: str) -> Iterator[Callable[..., None]]:
    with sandbox_faults(erp_url) as inject:
        yield inject


@pytest.fixture
def concurrency_limit(erp_url: str) -> Iterator[Callable[[int], None]]:
    def set_limit(limit: int) -> None:
        httpx.post(f"{erp_url}/_sandbox/concurrency", json={"limit": limit}).raise_for_status()

    yield set_limit
    set_limit(5)


@dataclass(frozen=True)
class Account:
    """A customer and an active job of its own, made for one test."""

    crm_account_id: str
    customer_id: str
    psa_project_id: str
    job_id: str


@pytest.fixture
async def account(erp: ErpConnector) -> Account:
    crm_account_id = f"001TEST{uuid4().hex[:11].upper()}"
    customer = await erp.ensure_customer(
        crm_account_id, {"name": f"Test Client {crm_account_id[-6:]}", "payment_terms": "Net 30"}
    )
    psa_project_id = f"PSA-{uuid4().hex[:12]}"
    job = await erp.upsert_job(
        psa_project_id, customer.id, {"name": "Test engagement", "code": psa_project_id}
    )
    return Account(crm_account_id, customer.id, psa_project_id, job.id)

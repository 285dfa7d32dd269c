"""The CRM connector pointed at the session's CRM sandbox, and its admin knobs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from gateway.settings import Settings
from sandboxes.runner import SandboxCluster
from sources.crm.connector import CrmConnector
from tests.conftest import reset, source_settings
from tests.integration.conftest import RequestsSince

Spent = Callable[[], dict[str, int]]


@pytest.fixture
def crm_url(sandboxes: SandboxCluster) -> str:
    return sandboxes["crm"].url


def make_crm(sandboxes: SandboxCluster, demo: Settings, **overrides: Any) -> CrmConnector:
    return CrmConnector(source_settings(demo, sandboxes, "crm", **overrides))


@pytest.fixture
async def crm(sandboxes: SandboxCluster, demo_settings: Settings) -> AsyncIterator[CrmConnector]:
    """A fresh connector: it holds no token until its first call."""
    connector = make_crm(sandboxes, demo_settings)
    yield connector
    await connector.aclose()


@pytest.fixture
def requests_since(crm_url: str) -> Callable[[], Spent]:
    """Call to start counting; the result tells what each vendor route got since."""
    return lambda: RequestsSince(crm_url).by_route


@pytest.fixture
def admin(crm_url: str) -> Iterator[Callable[[str, dict[str, Any]], dict[str, Any]]]:
    """POST to a /_sandbox/ knob; quota and session lifetime go back to defaults after."""

    def post(knob: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(f"{crm_url}/_sandbox/{knob}", json=body)
        answer.raise_for_status()
        return dict(answer.json())

    yield post
    httpx.post(f"{crm_url}/_sandbox/quota", json={"limit": 1_000_000}).raise_for_status()
    httpx.post(f"{crm_url}/_sandbox/sessions", json={"lifetime_s": 7200}).raise_for_status()


@pytest.fixture(scope="module")
def restores_crm(sandboxes: SandboxCluster) -> Iterator[None]:
    """For modules that write: the CRM goes back to the seeded world afterwards."""
    yield
    reset(sandboxes, "crm")

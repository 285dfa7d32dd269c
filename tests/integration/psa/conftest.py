"""The PSA connector pointed at the session's PSA sandbox, and a request counter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from gateway.settings import Settings
from sandboxes.runner import SandboxCluster
from sources.psa.connector import PsaConnector
from tests.conftest import source_settings
from tests.integration.conftest import RequestsSince, sandbox_faults

Counter = Callable[[str], int]


@pytest.fixture
def psa_url(sandboxes: SandboxCluster) -> str:
    return sandboxes["psa"].url


def make_psa(sandboxes: SandboxCluster, demo: Settings, **overrides: Any) -> PsaConnector:
    return PsaConnector(source_settings(demo, sandboxes, "psa", **overrides))


@pytest.fixture
async def psa(sandboxes: SandboxCluster, demo_settings: Settings) -> AsyncIterator[PsaConnector]:
    connector = make_psa(sandboxes, demo_settings)
    yield connector
    await connector.aclose()


@pytest.fixture
def requests_since(psa_url: str) -> Callable[[], Counter]:
    """Call to start counting; the result tells how many requests a route got since."""
    return lambda: RequestsSince(psa_url).on


@pytest.fixture
def faults(psa_url: str) -> Iterator[Callable[..., None]]:
    with sandbox_faults(psa_url) as inject:
        yield inject


@pytest.fixture
def native_rate_limit(psa_url: str) -> Iterator[Callable[[float], None]]:
    """Lower the sandbox's own per-token limit for one test; restore it after."""
    default = httpx.get(f"{psa_url}/_sandbox/rate_limit").json()["per_s"]

    def set_limit(per_s: float) -> None:
        httpx.post(f"{psa_url}/_sandbox/rate_limit", json={"per_s": per_s}).raise_for_status()

    yield set_limit
    httpx.post(f"{psa_url}/_sandbox/rate_limit", json={"per_s": default}).raise_for_status()

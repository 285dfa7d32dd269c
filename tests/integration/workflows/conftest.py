"""Workflows against the real sandboxes: connectors per test, a SQLite store per test,
and an engine with one worker running."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.settings import Settings
from gateway.store import Store
from gateway.workflows.bootstrap import Workflows, bootstrap, running
from gateway.workflows.systems import Systems
from sources.config import BreakerPolicy
from sources.records import SourceSystem
from sources.registry import SYSTEMS, make_connector
from sources.sandbox.runner import SandboxCluster
from tests.conftest import source_settings
from tests.integration.workflows.support import QUICK_RETRY, reset

# A source that fails half its requests still gets through; its breaker opens only on a
# real outage and lets a probe through soon after.
BREAKER = BreakerPolicy(failure_threshold=8, reset_after=0.5)


@pytest.fixture
async def systems(sandboxes: SandboxCluster, demo_settings: Settings) -> AsyncIterator[Systems]:
    connectors = {
        SourceSystem(name.upper()): make_connector(
            name, source_settings(demo_settings, sandboxes, name, breaker=BREAKER)
        )
        for name in SYSTEMS
    }
    yield Systems(connectors)
    for connector in connectors.values():
        await connector.aclose()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    yield opened
    await opened.close()


@pytest.fixture
async def workflows(store: Store, systems: Systems) -> AsyncIterator[Workflows]:
    made = bootstrap(
        store, systems.connectors, retry=QUICK_RETRY, poll_interval=0.05, concurrency=32
    )
    async with running(made):
        yield made


@pytest.fixture(scope="module", autouse=True)
def seeded_world_after(sandboxes: SandboxCluster) -> Iterator[None]:
    """These tests write to the shared sandboxes; leave them as seeded for the others."""
    yield
    reset(sandboxes)

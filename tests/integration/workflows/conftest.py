"""Workflows against the real sandboxes: connectors per test, a SQLite store per test,
and an engine with one worker running."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.settings import Settings
from gateway.store import Store
from gateway.workflows.bootstrap import Workflows, bootstrap, running
from gateway.workflows.systems import Systems
from sandboxes.runner import SandboxCluster
from sources.config import BreakerPolicy
from tests.conftest import connected
from tests.integration.workflows.support import QUICK_RETRY

# A source that fails half its requests still gets through; its breaker opens only on a
# real outage and lets a probe through soon after.
BREAKER = BreakerPolicy(failure_threshold=8, reset_after=0.5)


@pytest.fixture
async def systems(sandboxes: SandboxCluster, demo_settings: Settings) -> AsyncIterator[Systems]:
    async with connected(demo_settings, sandboxes, breaker=BREAKER) as systems:
        yield systems


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
def seeded_world_after(seeded_world_after: None) -> None:
    """Every module here writes to the shared sandboxes."""

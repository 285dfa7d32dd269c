"""Fixtures every layer shares: the generated world and the sandboxes serving it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import httpx
import pytest

from gateway.settings import Settings, load_settings
from gateway.workflows.systems import Systems
from sandboxes.runner import SandboxCluster
from sandboxes.world.generate import generate
from sandboxes.world.model import World
from sources.config import SourceSettings
from sources.records import SourceSystem
from sources.registry import SYSTEMS, make_connector

DEMO_CONFIG = Path(__file__).parent.parent / "config" / "demo.yaml"
WORLD_SEED = 42
# The world is dated, so pin its day: every run, whatever the calendar, sees the same data.
WORLD_TODAY = date(2026, 11, 25)


@pytest.fixture(scope="session")
def demo_settings() -> Settings:
    return load_settings(DEMO_CONFIG)


@pytest.fixture(scope="session")
def world() -> World:
    return generate(seed=WORLD_SEED, scale=1.0, today=WORLD_TODAY)


@pytest.fixture(scope="session")
def sandboxes(world: World, demo_settings: Settings) -> Iterator[SandboxCluster]:
    with SandboxCluster(world, demo_settings.sandbox.tokens) as cluster:
        yield cluster


def source_settings(
    demo: Settings, cluster: SandboxCluster, name: str, **overrides: object
) -> SourceSettings:
    """The demo settings for `name`, pointed at the test cluster's port."""
    base = demo.source(name)
    return SourceSettings(**{**base.model_dump(), "base_url": cluster[name].url, **overrides})


@asynccontextmanager
async def connected(
    demo: Settings, cluster: SandboxCluster, **overrides: object
) -> AsyncIterator[Systems]:
    """A connector to each of the cluster's sandboxes, closed on the way out."""
    connectors = {
        SourceSystem(name.upper()): make_connector(
            name, source_settings(demo, cluster, name, **overrides)
        )
        for name in SYSTEMS
    }
    try:
        yield Systems(connectors)
    finally:
        for connector in connectors.values():
            await connector.aclose()


def reset(cluster: SandboxCluster, *names: str) -> None:
    """The named sandboxes (all by default) back to the seeded world."""
    for running in cluster.running:
        if not names or running.name in names:
            httpx.post(f"{running.url}/_sandbox/reset", timeout=120).raise_for_status()


@pytest.fixture(scope="module")
def seeded_world_after(sandboxes: SandboxCluster) -> Iterator[None]:
    """For modules that write to the shared sandboxes: leave them as seeded for the rest."""
    yield
    reset(sandboxes)


@pytest.fixture
def isolated_systems(monkeypatch: pytest.MonkeyPatch) -> None:
    """Systems a test declares from its own packages are forgotten after it."""
    from sources import registry

    monkeypatch.setattr(registry, "_BY_KEY", dict(registry._BY_KEY))
    monkeypatch.setattr(SourceSystem, "_declared", dict(SourceSystem._declared))

"""Fixtures every layer shares: the generated world and the sandboxes serving it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from gateway.settings import Settings, load_settings
from sources.config import SourceSettings
from sources.registry import SYSTEMS
from sources.sandbox.runner import SandboxCluster
from sources.world.generate import generate
from sources.world.model import World

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
    with SandboxCluster(world, demo_settings.sandbox.tokens, _built_systems()) as cluster:
        yield cluster


def _built_systems() -> list[str]:
    # While the five systems are being built, start those that exist.
    root = Path(__file__).parent.parent / "sources"
    return [name for name in SYSTEMS if (root / name / "sandbox.py").exists()]


def source_settings(
    demo: Settings, cluster: SandboxCluster, name: str, **overrides: object
) -> SourceSettings:
    """The demo settings for `name`, pointed at the test cluster's port."""
    base = demo.source(name)
    return SourceSettings(**{**base.model_dump(), "base_url": cluster[name].url, **overrides})

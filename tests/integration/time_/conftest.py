from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.settings import Settings
from sandboxes.runner import SandboxCluster
from sources.time.connector import TimeConnector
from tests.conftest import source_settings


@pytest.fixture
async def connector(
    sandboxes: SandboxCluster, demo_settings: Settings
) -> AsyncIterator[TimeConnector]:
    """The TIME connector over real HTTP to the Harvest-shaped sandbox."""
    async with TimeConnector(source_settings(demo_settings, sandboxes, "time")) as connector:
        yield connector

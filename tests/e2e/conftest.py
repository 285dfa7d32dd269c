"""What the end-to-end workflow tests share: connectors of their own, to look in the
sandboxes behind the gateway's back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.settings import Settings
from gateway.workflows.systems import Systems
from sandboxes.runner import SandboxCluster
from tests.conftest import connected


@pytest.fixture
async def systems(sandboxes: SandboxCluster, demo_settings: Settings) -> AsyncIterator[Systems]:
    async with connected(demo_settings, sandboxes) as systems:
        yield systems

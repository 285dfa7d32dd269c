"""Of two gateways on one store with the monitor on, one scans the sources (it says
"leader" on /healthz) and the other stands by, so the sources are read once."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from gateway.settings import Settings
from sandboxes.harness.served import RunningGateway, serve
from sandboxes.runner import SandboxCluster
from tests.e2e.visibility.conftest import monitored


def roles(gateways: list[RunningGateway]) -> list[str]:
    return [httpx.get(f"{g.url}/healthz", timeout=10).json()["monitor"] for g in gateways]


def test_of_two_gateways_on_one_store_one_monitors(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path: Path
) -> None:
    store = tmp_path / "store.db"
    gateways = [serve(monitored(demo_settings, sandboxes, store))]
    try:
        gateways.append(serve(monitored(demo_settings, sandboxes, store)))
        deadline = time.monotonic() + 20
        while "leader" not in roles(gateways) and time.monotonic() < deadline:
            time.sleep(0.2)

        assert roles(gateways) == ["leader", "standby"]
    finally:
        for gateway in gateways:
            gateway.stop()

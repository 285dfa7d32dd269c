"""A gateway killed mid-workflow (SIGKILL, as a crash) and started again finishes the
workflow from where it was, with no duplicate record in any sandbox."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from gateway.workflows.systems import Systems
from resolvers import ids
from sandboxes.harness.processes import GatewayProcess, write_config
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from tests.integration.workflows.support import (
    clear_faults,
    footprint,
    set_faults,
    won_deal,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("seeded_world_after")]

START = """
mutation($input: StartProjectInput!) { startProjectFromOpportunity(input: $input) { id } }
"""
STEPS = "query($id: ID!) { workflow(id: $id) { status steps { name status attempts } } }"
SLOW_PSA_MS = 1500  # the workspace step's two PSA calls take three seconds


def _until(gateway: GatewayProcess, workflow_id: str, done: str, timeout: float) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        found = gateway.query(STEPS, id=workflow_id)["workflow"]
        steps = {s["name"]: s for s in found["steps"]}
        if found["status"] == done or steps.get(done, {}).get("status") == "RUNNING":
            return found  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, found
        time.sleep(0.05)


async def test_a_killed_gateway_finishes_the_workflow_after_a_restart(
    tmp_path: Path, sandboxes: SandboxCluster, systems: Systems, world: World
) -> None:
    deal = await won_deal(systems, world)
    store = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    config = write_config(
        tmp_path / "gateway.yaml", sandboxes, store_url=store, events={"capture": False}
    )
    first = GatewayProcess(config, tmp_path / "gateway.log").start().ready()
    try:
        set_faults(sandboxes, "psa", latency_ms=SLOW_PSA_MS)
        workflow_id = first.query(
            START,
            input={"opportunityId": ids.encode("Opportunity", deal), "idempotencyKey": "crash"},
        )["startProjectFromOpportunity"]["id"]
        await asyncio.to_thread(_until, first, workflow_id, "workspace", 30)
        first.kill()
    finally:
        first.kill()
        clear_faults(sandboxes, "psa")

    second = GatewayProcess(config, tmp_path / "gateway.log").start().ready()
    try:
        # Its lease runs out (ten seconds) and the new process takes the workflow over.
        done = await asyncio.to_thread(_until, second, workflow_id, "SUCCEEDED", 60)
    finally:
        second.stop()

    steps = {s["name"]: s for s in done["steps"]}
    assert steps["validate"]["attempts"] == 1  # finished before the crash: not run again
    assert steps["workspace"]["attempts"] == 2  # interrupted: run again, found, not remade
    made = await footprint(systems, deal)
    assert made.complete(), made

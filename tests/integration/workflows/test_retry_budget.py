"""Retries on a time budget over real HTTP: a source failing half its requests slows
workflows down but never parks them; only business errors and a spent deadline do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.settings import Settings, WorkflowRetryConfig, WorkflowsConfig
from gateway.store import Store, WorkflowStatus
from gateway.workflows.bootstrap import bootstrap, engine_options, running
from gateway.workflows.systems import Systems
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from sources.config import BreakerPolicy
from tests.conftest import connected
from tests.integration.workflows.support import clear_faults, footprint, set_faults, won_deal

# The shipped retry settings with shorter waits, so the test does not sit out minutes
# of backoff: the deadline (hours) and the shape of the backoff are the defaults.
BRISK = WorkflowsConfig(retry=WorkflowRetryConfig(initial_delay_s=0.1, max_delay_s=2.0))
# Likewise the circuit breaker: the shipped threshold, open for 1 s rather than 5 s (at
# half the requests failing it opens again and again, and the waits were most of the run).
BRISK_BREAKER = BreakerPolicy(reset_after=1.0)


@pytest.fixture
async def shipped(sandboxes: SandboxCluster, demo_settings: Settings) -> AsyncIterator[Systems]:
    """Connectors with the demo configuration's own retries and circuit breakers (these
    open for a shorter while)."""
    async with connected(demo_settings, sandboxes, breaker=BRISK_BREAKER) as systems:
        yield systems


@pytest.mark.slow
async def test_twenty_runs_through_an_erp_failing_half_its_requests_all_succeed(
    store: Store, shipped: Systems, world: World, sandboxes: SandboxCluster
) -> None:
    deals = [await won_deal(shipped, world) for _ in range(20)]
    workflows = bootstrap(store, shipped.connectors, poll_interval=0.05, **engine_options(BRISK))
    set_faults(sandboxes, "erp", error_rate=0.5, status=503)
    try:
        async with running(workflows):
            started = await asyncio.gather(
                *(workflows.start_project(deal, f"budget-{deal}") for deal in deals)
            )
            done = await asyncio.gather(
                *(workflows.engine.wait(s.id, timeout=300) for s in started)
            )
    finally:
        clear_faults(sandboxes, "erp")

    assert [d.status for d in done] == [WorkflowStatus.SUCCEEDED] * 20, [d.error for d in done]
    for deal in deals:
        made = await footprint(shipped, deal)
        assert made.complete(), (deal, made)

"""NetSuite governs concurrency, not rate: past the account's limit requests are refused,
and the connector waits its turn and tries again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from gateway.settings import Settings
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from sources.config import RetryPolicy, Timeouts
from sources.errors import RateLimited
from tests.integration.conftest import route_counts
from tests.integration.erp.conftest import make_erp


def refusals(erp_url: str) -> int:
    return route_counts(erp_url).get("CONCURRENCY_LIMIT_EXCEEDED", 0)


async def test_requests_past_the_limit_are_rate_limited_then_retried(
    sandboxes: SandboxCluster,
    demo_settings: Settings,
    erp_url: str,
    world: World,
    faults: Callable[..., None],
    concurrency_limit: Callable[[int], None],
) -> None:
    ids = [[invoice.erp_id] for invoice in world.invoices[:6]]
    concurrency_limit(2)
    faults(latency_ms=150)

    impatient = make_erp(sandboxes, demo_settings, concurrency=6, retry=RetryPolicy(attempts=1))
    try:
        answers = await asyncio.gather(
            *(impatient.get_many("invoice", batch) for batch in ids), return_exceptions=True
        )
    finally:
        await impatient.aclose()
    limited = [a for a in answers if isinstance(a, RateLimited)]
    assert limited, "six requests at once must go past a limit of two"
    assert all(isinstance(a, list) for a in answers if not isinstance(a, RateLimited))

    before = refusals(erp_url)
    patient = make_erp(
        sandboxes,
        demo_settings,
        concurrency=6,
        retry=RetryPolicy(attempts=30, backoff_initial=0.05, backoff_max=0.2, jitter=0.05),
        timeouts=Timeouts(connect=2.0, read=5.0, total=30.0),
    )
    try:
        results = await asyncio.gather(*(patient.get_many("invoice", batch) for batch in ids))
    finally:
        await patient.aclose()
    assert [[r.id if r else None for r in result] for result in results] == ids
    assert refusals(erp_url) > before, "the limit was reached and waited out"


@pytest.mark.parametrize("limit", [pytest.param(5, id="the-demo-accounts-limit")])
async def test_the_demo_connector_stays_within_the_accounts_limit(
    sandboxes: SandboxCluster,
    demo_settings: Settings,
    erp_url: str,
    world: World,
    faults: Callable[..., None],
    concurrency_limit: Callable[[int], None],
    limit: int,
) -> None:
    # The demo settings cap the client at the account's 5, so nothing is ever refused.
    concurrency_limit(limit)
    faults(latency_ms=50)
    before = refusals(erp_url)
    erp = make_erp(sandboxes, demo_settings, retry=RetryPolicy(attempts=1))
    try:
        await asyncio.gather(*(erp.get_many("invoice", [i.erp_id]) for i in world.invoices[:12]))
    finally:
        await erp.aclose()
    assert refusals(erp_url) == before

"""The small chaos run: two gateways on PostgreSQL and Redis, sources failing 30% of
requests with 429 storms and an ERP outage, a gateway SIGKILLed and restarted, Redis
restarted, deals started twice from both gateways. Afterwards nothing is duplicated,
every workflow has settled, no event is lost and nothing was parked for a transient
reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandboxes.chaos.run import run_chaos
from sandboxes.chaos.sizes import SIZES
from tests.support_services import require_service

pytestmark = pytest.mark.slow


async def test_the_small_chaos_run_ends_with_nothing_duplicated_lost_or_falsely_parked(
    tmp_path: Path,
) -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    heard: list[str] = []

    figures = await run_chaos(SIZES["small"], tmp_path, say=heard.append)

    report = "\n".join(heard + figures.lines())
    assert figures.duplicates == {}, report
    assert figures.unsettled == [], report
    # At least one workflow per deal and per approved batch (what the run starts itself);
    # the scenario's and the automations' add a number that depends on timing.
    small = SIZES["small"]
    assert sum(figures.workflows.values()) >= small.deals + small.time_batches, report
    assert (figures.lost_events, figures.repeated_events) == ([], []), report
    assert (figures.subscriber_missed, figures.subscriber_repeated) == ([], []), report
    assert figures.subscriber_reconnects > 1, report
    assert figures.false_exceptions == [], report
    assert figures.green, report

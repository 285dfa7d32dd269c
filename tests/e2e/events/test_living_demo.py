"""The living demo: with the scenario moving the firm in the sandboxes, a subscriber sees
deals won, time approved, milestones completed, invoices posted and paid, and staffing
requests filled through the gateway."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from sandboxes.harness.identity import Identity
from sandboxes.scenario import Gateway, run_scenario
from sources.config import SourceSettings
from tests.conftest import source_settings

pytestmark = pytest.mark.slow

KINDS = [
    "OpportunityClosedWon",
    "TimeApproved",
    "MilestoneCompleted",
    "InvoicePosted",
    "InvoicePaid",
    "StaffingRequestFilled",
]
EVENTS = """
subscription($types: [String!]) { events(types: $types, after: "0") { type source subjectId } }
"""
POLL = {
    "crm": {"opportunity": 0.3},
    "time": {"time_entry": 0.5},
    "psa": {"milestone": 0.3, "staffing_request": 0.3},
    "erp": {"invoice": 0.3},
}


async def test_a_subscriber_sees_the_firm_move(
    serve_gateway, demo_settings, sandboxes, restore_sandboxes, collect
):
    for name in [*POLL, "hcm"]:
        restore_sandboxes(name)
    settings: dict[str, SourceSettings] = {
        name: source_settings(demo_settings, sandboxes, name) for name in [*POLL, "hcm"]
    }
    async with serve_gateway(poll=POLL) as gw:
        for system, entities in POLL.items():
            for entity in entities:
                await gw.until_polling(system.upper(), entity)
        seen = collect(
            item["data"]["events"] async for item in gw.sse_subscribe(EVENTS, {"types": KINDS})
        )
        happened: list[str] = []
        scenario = asyncio.create_task(
            run_scenario(
                settings,
                interval_s=0.1,
                seed=7,
                report=happened.append,
                # a resource manager fills staffing requests: the delivery role
                gateway=Gateway(
                    gw.graphql, Identity.of(sandboxes, demo_settings).headers_for("delivery")
                ),
            )
        )
        try:
            events = await seen.until_true(
                lambda items: {e["type"] for e in items} >= set(KINDS), timeout=60
            )
        finally:
            scenario.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scenario

    by_kind: dict[str, Any] = {}
    for event in events:
        by_kind.setdefault(event["type"], event)
    assert {kind: by_kind[kind]["source"] for kind in KINDS} == {
        "OpportunityClosedWon": "CRM",
        "TimeApproved": "TIME",
        "MilestoneCompleted": "PSA",
        "InvoicePosted": "ERP",
        "InvoicePaid": "ERP",
        "StaffingRequestFilled": "PSA",
    }
    assert len(happened) >= len(KINDS)

"""A quote-to-project run, seen live: its steps in order over WebSocket and SSE, the
workflow itself through workflowUpdated, and, with the trigger on, a deal closed in the
CRM starting the run by itself."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from resolvers import ids
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from sources.crm.connector import CrmConnector
from sources.registry import make_connector
from tests.conftest import source_settings
from tests.e2e.events.conftest import (
    LEGACY_GRAPHQL_WS,
    automations_on,
    new_secret,
)

pytestmark = pytest.mark.slow

STEPS = """
subscription($after: String) {
  events(types: ["OpportunityClosedWon", "WorkflowStepChanged", "WorkflowFinished"],
         after: $after) { cursor type subjectId data }
}
"""
WORKFLOW = """
subscription($id: ID!) { workflowUpdated(id: $id) { id status steps { name status } } }
"""
START = """
mutation($input: StartProjectInput!) { startProjectFromOpportunity(input: $input) { id } }
"""
SECRET_ENV = "PSGRAPH_E2E_CRM_TRIGGER_SECRET"
_numbers = itertools.count(1)


@pytest.fixture
async def crm(demo_settings, sandboxes: SandboxCluster) -> Any:
    connector = make_connector("crm", source_settings(demo_settings, sandboxes, "crm"))
    assert isinstance(connector, CrmConnector)
    yield connector
    await connector.aclose()


async def new_deal(crm: CrmConnector, world: World, stage: str) -> str:
    number = next(_numbers)
    client = world.clients[(number * 7) % len(world.clients)]
    return await crm.create_opportunity(
        {
            "account_id": client.crm_id,
            "name": f"{client.name} - event stream deal {number}",
            "stage": stage,
            "close_date": dt.date(2026, 1, 15),
            "amount": Decimal(48_000),
            "practice": "Cloud",
            "region": client.region,
            "contract_type": "FIXED_FEE",
        }
    )


def run_of(events: list[dict[str, Any]], workflow_id: str) -> list[tuple[str, Any, Any]]:
    mine = [e for e in events if e["subjectId"] == workflow_id]
    return [
        (e["type"], json.loads(e["data"]).get("step"), json.loads(e["data"]).get("stepStatus"))
        for e in mine
    ]


def assert_a_clean_run(run: list[tuple[str, Any, Any]]) -> None:
    assert run[-1][0] == "WorkflowFinished"
    steps = [(step, status) for kind, step, status in run if kind == "WorkflowStepChanged"]
    names = {step for step, _ in steps}
    for name in names:  # every step starts before it succeeds, and succeeds
        statuses = [status for step, status in steps if step == name]
        assert statuses[0] == "RUNNING", (name, statuses)
        assert statuses[-1] == "SUCCEEDED", (name, statuses)
    assert {"validate", "workspace", "write_back"} <= names


def until_finished(workflow_id: str) -> Callable[[list[dict[str, Any]]], bool]:
    def finished(events: list[dict[str, Any]]) -> bool:
        return any(
            e["type"] == "WorkflowFinished" and e["subjectId"] == workflow_id for e in events
        )

    return finished


async def test_a_quote_to_project_run_streams_its_steps_in_order(
    serve_gateway, crm: CrmConnector, world: World, restore_sandboxes, collect
):
    for name in ("crm", "psa", "erp"):
        restore_sandboxes(name)
    deal = await new_deal(crm, world, "CLOSED_WON")
    async with serve_gateway() as gw:
        over_ws = collect(item["events"] async for item in gw.ws_subscribe(STEPS, {"after": "0"}))
        over_sse = collect(
            item["data"]["events"] async for item in gw.sse_subscribe(STEPS, {"after": "0"})
        )

        started = await gw.query(
            START,
            input={"opportunityId": ids.encode("Opportunity", deal), "idempotencyKey": "q2p-1"},
        )
        workflow_id = started["startProjectFromOpportunity"]["id"]
        watched = collect(
            item["workflowUpdated"]
            async for item in gw.ws_subscribe(
                WORKFLOW, {"id": workflow_id}, protocol=LEGACY_GRAPHQL_WS
            )
        )

        for seen in (over_ws, over_sse):
            await seen.until_true(until_finished(workflow_id), timeout=90)
            assert_a_clean_run(run_of(seen.items, workflow_id))
        assert run_of(over_ws.items, workflow_id) == run_of(over_sse.items, workflow_id)
        last = await watched.until_true(lambda items: items[-1]["status"] == "SUCCEEDED")
        assert {s["status"] for s in last[-1]["steps"]} == {"SUCCEEDED"}


async def test_a_deal_closed_in_the_crm_starts_quote_to_project_by_itself(
    serve_gateway,
    crm: CrmConnector,
    world: World,
    sandboxes,
    restore_sandboxes,
    collect,
    monkeypatch: pytest.MonkeyPatch,
):
    for name in ("crm", "psa", "erp"):
        restore_sandboxes(name)
    secret = new_secret()
    monkeypatch.setenv(SECRET_ENV, secret)
    deal = await new_deal(crm, world, "NEGOTIATION")
    async with serve_gateway(
        automations=automations_on("opportunity-won-to-project"),
        webhook_secrets_env={"crm": SECRET_ENV},
    ) as gw:
        async with httpx.AsyncClient() as http:
            target = {"url": f"{gw.url}/webhooks/crm", "secret": secret}
            response = await http.post(f"{sandboxes['crm'].url}/_sandbox/webhooks", json=target)
            response.raise_for_status()
        seen = collect(item["events"] async for item in gw.ws_subscribe(STEPS, {"after": "0"}))

        await crm.close_opportunity_won(deal)

        first, then = await seen.until(2)
        assert (first["type"], first["subjectId"]) == (
            "OpportunityClosedWon",
            ids.encode("Opportunity", deal),
        )
        workflow_id = then["subjectId"]
        await seen.until_true(until_finished(workflow_id), timeout=90)
        assert_a_clean_run(run_of(seen.items, workflow_id))
        assert ids.decode(workflow_id).type == "Workflow"

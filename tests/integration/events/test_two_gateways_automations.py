"""Two gateway processes on one PostgreSQL store, both with the opportunity-won automation
on, both told of the same won deal: one quote-to-project, one project."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from gateway.settings import EventsConfig, Settings
from gateway.workflows.systems import Systems
from sandboxes.harness.processes import GatewayProcess, write_config
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from tests.conftest import connected
from tests.integration.workflows.support import footprint, won_deal

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SECRET_ENV = "PSGRAPH_TEST_CRM_WEBHOOK_SECRET"
AUTOMATION = "opportunity-won-to-project"
WAIT_S = 60.0


@pytest.fixture(scope="module", autouse=True)
def seeded_world_after(seeded_world_after: None) -> None:
    """This module makes a deal and its project in the shared sandboxes."""


@pytest.fixture(scope="module")
def secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(scope="module")
def gateways(
    tmp_path_factory: pytest.TempPathFactory,
    sandboxes: SandboxCluster,
    events_postgres_url: str,
    secret: str,
) -> Iterator[list[GatewayProcess]]:
    tmp_path = tmp_path_factory.mktemp("automating-gateways")
    automations = [
        {**a.model_dump(), "enabled": a.name == AUTOMATION} for a in EventsConfig().automations
    ]
    started = []
    try:
        for name in ("a", "b"):
            config = write_config(
                tmp_path / f"gateway-{name}.yaml",
                sandboxes,
                store_url=events_postgres_url,
                events={
                    "capture": False,  # both hear of the deal by webhook
                    "webhook_secrets_env": {"crm": SECRET_ENV},
                    "automations": automations,
                    "log_poll_s": 0.2,
                },
            )
            process = GatewayProcess(config, tmp_path / f"gateway-{name}.log", {SECRET_ENV: secret})
            started.append(process.start())
        yield [process.ready() for process in started]
    finally:
        for process in started:
            process.stop()


@pytest.fixture
async def systems(demo_settings: Settings, sandboxes: SandboxCluster) -> AsyncIterator[Systems]:
    async with connected(demo_settings, sandboxes) as found:
        yield found


async def push_closed_won(gateway: GatewayProcess, secret: str, deal: str) -> None:
    body = json.dumps({"type": "opportunity.updated", "data": {"id": deal, "changed_fields": []}})
    sent = datetime.now(UTC)
    msg_id = f"msg_{secrets.token_hex(8)}"
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, sent, body),
    }
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{gateway.url}/webhooks/crm", content=body, headers=headers)
    assert response.status_code == 200, response.text


async def automation_runs(gateway: GatewayProcess) -> int:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(gateway.graphql, json={"query": "{ automations { name runs } }"})
    found: list[dict[str, Any]] = response.json()["data"]["automations"]
    return next(int(a["runs"]) for a in found if a["name"] == AUTOMATION)


async def test_a_deal_both_gateways_hear_of_becomes_one_project(
    gateways: list[GatewayProcess], systems: Systems, world: World, secret: str
) -> None:
    deal = await won_deal(systems, world)

    await asyncio.gather(*(push_closed_won(gateway, secret, deal) for gateway in gateways))

    async with asyncio.timeout(WAIT_S):
        while not (await footprint(systems, deal)).complete():
            await asyncio.sleep(0.3)
    await asyncio.gather(*(push_closed_won(gateway, secret, deal) for gateway in gateways))
    await asyncio.sleep(2.0)  # both consumers have had the repeat

    made = await footprint(systems, deal)
    assert made.complete(), made
    assert made.staffing_requests == 3
    assert [await automation_runs(gateway) for gateway in gateways] == [1, 1]

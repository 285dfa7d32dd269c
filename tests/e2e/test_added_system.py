"""A sixth system, added with one package and one config entry and no edit to psgraph:
the gateway starts with it, reports it, reads it through the generic machinery and would
poll it as its spec declares. (The GraphQL schema does not grow a type for it; see
docs/architecture.md, "Adding a system".)"""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.app import create_app
from gateway.events.capture import poll_plans
from gateway.settings import Settings, SourceConfig
from sandboxes.harness.served import Served, serving, settings_for
from sandboxes.runner import SandboxCluster
from sources.records import SourceSystem

# The customer's package: its declaration and a tiny connector, nothing else.
SPEC = """
from sources.system import SystemSpec

SYSTEM = SystemSpec(
    name="LEDGER",
    package=__name__,
    page_max=50,
    batch_max=50,
    id_format=r"L[0-9]{4}",
    auth_kind="none",
    default_poll_interval={"entry": 2.0},
    webhook_entities={"entry": "entry"},
)
"""
CONNECTOR = """
from sources.connector import ChangeSet, Connector, Page
from sources.http import SourceClient
from sources.records import Record, SourceSystem

from acme_ledger import SYSTEM


class Entry(Record):
    amount: float


class LedgerConnector(Connector):
    system = SourceSystem(SYSTEM.name)
    entities = {"entry": Entry}
    batch_limit = SYSTEM.batch_max

    def __init__(self, settings, *, transport=None):
        self.client = SourceClient(self.system, settings, transport=transport)

    async def get_many(self, entity, ids):
        body = await self.client.json("GET", "/entries", params={"ids": ",".join(ids)})
        found = {row["id"]: Entry(**row) for row in body["entries"]}
        return [found.get(i) for i in ids]

    async def list(self, entity, filters=None, *, page_size=100, cursor=None):
        body = await self.client.json("GET", "/entries", params={"limit": page_size})
        return Page([Entry(**row) for row in body["entries"]], None, len(body["entries"]))

    async def changes(self, entity, cursor):
        return ChangeSet([], cursor or "0")

    async def aclose(self):
        await self.client.aclose()


CONNECTOR = LedgerConnector
"""
ROWS = [{"id": "L0001", "amount": 12.5}, {"id": "L0002", "amount": 40.0}]


def _ledger_server(seen: list[str]) -> Starlette:
    async def entries(request: Request) -> JSONResponse:
        seen.append(str(request.url.path))
        wanted = request.query_params.get("ids")
        rows = [r for r in ROWS if wanted is None or r["id"] in wanted.split(",")]
        return JSONResponse({"entries": rows})

    return Starlette(routes=[Route("/entries", entries)])


@pytest.fixture
def ledger_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_systems: None) -> str:
    package = tmp_path / "customer" / "acme_ledger"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(SPEC))
    (package / "connector.py").write_text(textwrap.dedent(CONNECTOR))
    monkeypatch.syspath_prepend(str(package.parent))
    return "acme_ledger"


@pytest.fixture
async def ledger(ledger_package: str) -> AsyncIterator[tuple[Served, list[str]]]:
    seen: list[str] = []
    async with serving(_ledger_server(seen)) as served:
        yield served, seen


@pytest.fixture
async def gateway(
    demo_settings: Settings,
    sandboxes: SandboxCluster,
    tmp_path: Path,
    ledger: tuple[Served, list[str]],
    ledger_package: str,
) -> AsyncIterator[Served]:
    settings = settings_for(demo_settings, sandboxes, tmp_path / "store.db")
    # The one config entry.
    entry = SourceConfig(base_url=ledger[0].url, package=ledger_package)
    settings = settings.model_copy(update={"sources": {**settings.sources, "ledger": entry}})
    async with serving(create_app(settings)) as running:
        yield running


async def _graphql(gateway: Served, query: str) -> dict[str, Any]:
    """This module's one way to send GraphQL (where a token header would go)."""
    async with httpx.AsyncClient(timeout=60) as client:
        answer = await client.post(gateway.graphql, json={"query": query})
    body: dict[str, Any] = answer.json()
    return body


async def _get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as client:
        return await client.get(url)


async def test_the_gateway_starts_with_the_added_system_and_reports_it(
    gateway: Served,
) -> None:
    health = (await _get(f"{gateway.url}/healthz")).json()

    assert health["sources"]["LEDGER"]["configured"] is True
    assert {"CRM", "PSA", "HCM", "ERP", "TIME"} <= set(health["sources"])


async def test_its_records_are_read_through_the_generic_machinery(
    gateway: Served, ledger: tuple[Served, list[str]]
) -> None:
    _, seen = ledger

    ready = await _get(f"{gateway.url}/readyz?probe=1")

    assert ready.status_code == 200
    assert seen == ["/entries"]  # the probe's one-record read went to the ledger
    assert ready.json()["sources"]["LEDGER"]["breaker"] == "closed"
    metrics = (await _get(f"{gateway.url}/metrics")).text
    assert 'source="LEDGER"' in metrics


async def test_its_ids_are_checked_against_its_declared_format(gateway: Served) -> None:
    from sources import registry

    spec = registry.system("ledger")
    assert spec.check_id("L0001") == "L0001"
    assert not spec.is_valid_id("../entries")


async def test_it_would_be_polled_as_its_spec_declares(
    gateway: Served, demo_settings: Settings
) -> None:
    from sources import registry

    ledger = SourceSystem("LEDGER")
    connector: Any = registry.make_connector(
        "ledger", SourceConfig(base_url="http://unused.test", package="acme_ledger")
    )

    plans = poll_plans(demo_settings.events, {ledger: connector})

    assert [(p.system, p.entity, p.interval_s) for p in plans] == [(ledger, "entry", 2.0)]
    await connector.aclose()


async def test_the_graphql_api_still_answers_for_the_contract_s_systems(
    gateway: Served,
) -> None:
    body = await _graphql(gateway, "{ integrationHealth { system status } }")

    assert "errors" not in body, body
    assert {row["system"] for row in body["data"]["integrationHealth"]} == {
        "CRM", "PSA", "HCM", "ERP", "TIME",
    }  # fmt: skip

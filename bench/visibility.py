"""Visibility benchmark: how well and how fast the exceptions monitor finds defects.

Five sandboxes serve a generated firm dated today; one gateway runs the monitor (full scan
every `--scan-interval` seconds, change capture on, so a change seen re-checks what reads
it). Printed:

- the start-up scan: recall and precision against the world's recorded defects
  (`sandboxes.world.defects`), and how long until the queue held them;
- injected defects, each made through its vendor's own API (invoices blocked in the ERP,
  customers keyed in twice in the ERP, projects without finance code and staffing
  requests past their start in the PSA): recall, precision (of everything that opened
  meanwhile) and the detection delay p50 / p95, from the write to the queue showing it;
- the demo world's KPIs as `Query.kpis` reports them.

    python -m bench.visibility [--scale 0.2] [--per-kind 3] [--scan-interval 15]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bench.read_queries import DEMO_CONFIG, percentile
from gateway.settings import EventsConfig, Settings, VisibilityConfig, load_settings
from gateway.workflows.systems import Systems
from resolvers import ids
from sandboxes.harness.identity import Identity, auth_at
from sandboxes.harness.served import serve, sources_at
from sandboxes.runner import SandboxCluster
from sandboxes.world.defects import expected_exception_ids
from sandboxes.world.generate import generate
from sandboxes.world.model import World
from sources.config import SourceSettings
from sources.records import SourceSystem
from sources.registry import SYSTEMS, make_connector

QUEUE = """
query { exceptions(first: 1000, status: OPEN) { totalCount edges { node { id } } } }
"""
KPIS = """
query { kpis {
  from to unbilledApprovedHours unbilledApprovedAmount { amount currency }
  invoicesBlockedShare utilizationFreshnessSeconds projectsMissingFinanceCode
  contractsWithoutBillingSchedule openExceptions
  quoteToProjectCycleTime { count p50Seconds } approvedTimeToErpLatency { count p50Seconds }
  approvedTimeToInvoiceLatency { count p50Seconds p90Seconds }
  integrationIncidentResolution { count p50Seconds }
} }
"""
ERP_RECORD = "/services/rest/record/v1"
WAIT_S = 300.0


class Gateway:
    def __init__(self, graphql: str, headers: dict[str, str]) -> None:
        self._http = httpx.Client(timeout=300, headers=headers)
        self.graphql = graphql

    def __call__(self, query: str) -> dict[str, Any]:
        body = self._http.post(self.graphql, json={"query": query}).json()
        if body.get("errors"):
            raise RuntimeError(body["errors"][0]["message"])
        return body["data"]  # type: ignore[no-any-return]

    def open_ids(self) -> set[str]:
        edges = self(QUEUE)["exceptions"]["edges"]
        return {ids.decode(e["node"]["id"], "BusinessException").key for e in edges}


def _ratio(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def _until(check: Callable[[], bool], timeout: float = WAIT_S) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise TimeoutError("the queue did not settle")
        time.sleep(0.25)
    return time.monotonic() - started


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.visibility", description=__doc__)
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--per-kind", type=int, default=3)
    parser.add_argument("--scan-interval", type=float, default=15.0)
    args = parser.parse_args(argv)

    demo = load_settings(DEMO_CONFIG)
    world = generate(seed=demo.sandbox.seed, scale=args.scale)
    print(
        f"world: scale {args.scale}, {len(world.projects)} projects, {len(world.invoices)} invoices"
    )
    with (
        SandboxCluster(world, demo.sandbox.tokens) as cluster,
        tempfile.TemporaryDirectory() as scratch,
    ):
        settings = _settings(demo, cluster, Path(scratch) / "store.db", args.scan_interval)
        running = serve(settings)
        try:
            gateway = Gateway(running.graphql, Identity.of(cluster, demo).headers_for("admin"))
            _seeded(gateway, world)
            asyncio.run(_injected(gateway, world, demo, cluster, args.per_kind))
            print(f"(full scan every {args.scan_interval:g} s; change capture re-checks sooner)")
            _kpis(gateway)
        finally:
            running.stop()


def _settings(demo: Settings, cluster: SandboxCluster, store: Path, interval: float) -> Settings:
    return auth_at(demo, cluster).model_copy(
        update={
            "sources": sources_at(demo, cluster),
            "store_url": f"sqlite+aiosqlite:///{store}",
            "events": EventsConfig(capture=True),
            "visibility": VisibilityConfig(monitor=True, scan_interval_s=interval),
        }
    )


def _seeded(gateway: Gateway, world: World) -> None:
    expected = set(expected_exception_ids(world))
    seconds = _until(lambda: bool(gateway.open_ids()))
    found = gateway.open_ids()
    hit = len(found & expected)
    print(
        f"seeded world: {len(expected)} defects, {len(found)} exceptions after "
        f"{seconds:.1f} s; recall {_ratio(hit, len(expected))}, precision {_ratio(hit, len(found))}"
    )


async def _injected(
    gateway: Gateway, world: World, demo: Settings, cluster: SandboxCluster, per_kind: int
) -> None:
    before = gateway.open_ids()
    connectors = {
        SourceSystem(name.upper()): make_connector(
            name,
            SourceSettings(**{**demo.source(name).model_dump(), "base_url": cluster[name].url}),
        )
        for name in SYSTEMS
    }
    systems = Systems(connectors)
    erp = httpx.Client(
        base_url=cluster["erp"].url,
        headers={"authorization": f"Bearer {demo.sandbox.tokens['erp']}"},
        timeout=60,
    )
    made: dict[str, float] = {}  # exception id -> when its defect was written
    try:
        # The ERP holds only an invoice nothing was paid on yet; a part-paid one stays open.
        paid = {p.invoice_key for p in world.payments}
        posted = [i for i in world.invoices if i.status == "POSTED" and i.key not in paid]
        posted = posted[:per_kind]
        for invoice in posted:
            erp.patch(
                f"{ERP_RECORD}/invoice/{invoice.erp_id}",
                json={"custbody_blocked_reason": "PO_MISSING"},
            ).raise_for_status()
            made[f"INVOICE_BLOCKED:{invoice.erp_id}"] = time.monotonic()
        for client in [c for c in world.clients if not c.duplicate_erp_id][:per_kind]:
            erp.post(
                f"{ERP_RECORD}/customer",
                json={"companyName": client.name.upper(), "subsidiary": {"id": "1"}},
            ).raise_for_status()
            made[f"DUPLICATE_CUSTOMER:{client.crm_id}"] = time.monotonic()
        active = [p for p in world.projects if p.status == "ACTIVE"]
        for project in active[:per_kind]:
            request = await systems.psa.create_staffing_request(
                project.psa_id, "Consultant", ["Python"], 20.0,
                dt.date.today() - dt.timedelta(days=2), external_ref=uuid.uuid4().hex,
            )  # fmt: skip
            made[f"STAFFING_REQUEST_UNASSIGNED:{request.id}"] = time.monotonic()
        for n in range(per_kind):
            client = world.clients[n]
            workspace = await systems.psa.create_workspace(
                {
                    "name": f"Bench {uuid.uuid4().hex[:8]}",
                    "code": f"BENCH-{n}",
                    "status": "ACTIVE",
                    "crm_account_id": client.crm_id,
                    "budget": Decimal(50_000),
                    "currency": client.currency,
                },
                crm_opportunity_id=f"006BENCH{uuid.uuid4().hex[:8]}",
            )
            made[f"PROJECT_MISSING_FINANCE_CODE:{workspace.id}"] = time.monotonic()
        seen: dict[str, float] = {}

        def all_seen() -> bool:
            now = time.monotonic()
            for key in gateway.open_ids() & set(made):
                seen.setdefault(key, now)
            return len(seen) == len(made)

        try:
            _until(all_seen)
        except TimeoutError:
            pass
        opened = gateway.open_ids() - before
        if len(seen) < len(made):
            print(f"  not found: {sorted(set(made) - set(seen))}")
        delays = [seen[key] - made[key] for key in seen]
        print(
            f"injected: {len(made)} defects of 4 kinds; recall {_ratio(len(seen), len(made))}, "
            f"precision {_ratio(len(opened & set(made)), len(opened))}; detection delay "
            f"p50 {percentile(delays, 0.5) if delays else float('nan'):.1f} s, "
            f"p95 {percentile(delays, 0.95) if delays else float('nan'):.1f} s"
        )
    finally:
        erp.close()
        for connector in connectors.values():
            await connector.aclose()


def _kpis(gateway: Gateway) -> None:
    print("KPIs of the demo world (last 30 days):")
    for name, value in gateway(KPIS)["kpis"].items():
        print(f"  {name}: {json.dumps(value)}")


if __name__ == "__main__":
    main()

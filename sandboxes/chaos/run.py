"""The chaos run, start to finish: services up, work started under faults, the faults
lifted, then the figures (see `figures`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from contextlib import AsyncExitStack, suppress
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import yaml
from starlette.requests import ClientDisconnect

from gateway.events.log import format_cursor
from gateway.settings import SYSTEMS, load_settings
from gateway.workflows.systems import Systems
from resolvers import ids
from sandboxes import scenario
from sandboxes.chaos.client import GatewayDownError, Gateways, GraphQLError
from sandboxes.chaos.figures import Figures, Subscriber, measure
from sandboxes.chaos.services import PrivateDatabase, PrivateRedis
from sandboxes.chaos.sizes import Size
from sandboxes.harness.identity import Identity
from sandboxes.harness.processes import DEMO_CONFIG, GatewayProcess, write_config
from sandboxes.runner import SandboxCluster
from sandboxes.world.generate import generate
from sandboxes.world.model import World
from sources.config import SourceSettings
from sources.records import SourceSystem
from sources.registry import make_connector

log = logging.getLogger(__name__)

WORLD_SEED = 42
WORLD_TODAY = dt.date(2026, 11, 25)
START = """
mutation($input: StartProjectInput!) { startProjectFromOpportunity(input: $input) { id } }
"""
SUBMIT = """
mutation($p: ID!, $r: ID!, $d: Date!, $key: String!) {
  submitTime(projectId: $p, resourceId: $r, date: $d, hours: 2.5, billable: true,
             notes: "Chaos", idempotencyKey: $key) { id }
}"""
TRANSIENT = {"RATE_LIMITED", "SOURCE_UNAVAILABLE", "SOURCE_TIMEOUT"}
APPROVE = "mutation($ids: [ID!]!) { approveTimeEntries(ids: $ids) { id } }"
# Quick to come back after a fault clears; the deadline stays the shipped one (hours).
WORKFLOWS = {"retry": {"initial_delay_s": 0.2, "max_delay_s": 3.0}, "max_inline_delay_s": 1.0}
CAPTURE_LEASE_S = 6.0
EVENTS: dict[str, object] = {
    "capture": True,
    "capture_lease_s": CAPTURE_LEASE_S,
    "log_poll_s": 0.5,
    "poll": {
        "crm": {"opportunity": 2.0},
        "psa": {"project": 2.0, "milestone": 3.0},
        "time": {"time_entry": 2.0},
        "erp": {"invoice": 3.0, "time_posting": 2.0},
    },
}


class Chaos:
    """One run: `await Chaos(size, workdir).run()` returns the figures."""

    def __init__(self, size: Size, workdir: Path, say: Callable[[str], None] = print) -> None:
        self.size = size
        self.workdir = workdir
        self.say = say
        self.demo = load_settings(DEMO_CONFIG)
        self.world: World = generate(seed=WORLD_SEED, scale=1.0, today=WORLD_TODAY)
        self.started: list[str] = []  # workflow ids
        self.refused: list[str] = []  # starts the gateway refused, with why
        self.deals: list[str] = []
        self.entries: dict[str, str] = {}  # idempotency key -> TIME entry id
        self._began = 0.0

    async def run(self) -> Figures:
        async with AsyncExitStack() as stack:
            cluster = SandboxCluster(self.world, self.demo.sandbox.tokens).start()
            stack.callback(cluster.stop)
            redis = PrivateRedis(self.workdir).start()
            stack.callback(redis.stop)
            database = await PrivateDatabase().create()
            stack.push_async_callback(database.drop)
            gateways = [self._gateway(name, cluster, database, redis) for name in ("a", "b")]
            for gateway in gateways:  # one at a time: the first migrates the database
                await asyncio.to_thread(gateway.start().ready)
                stack.callback(gateway.stop)
            # The chaos run's clients are machine consumers of the gateways, trusted
            # by the cluster's own identity provider (`write_config` points them at it).
            headers = await asyncio.to_thread(self._machine_headers, cluster)
            client = Gateways([g.url for g in gateways], headers)
            stack.push_async_callback(client.aclose)
            systems = self._systems(cluster)
            for connector in systems.connectors.values():
                stack.push_async_callback(connector.aclose)
            self.say(f"gateways {gateways[0].url} and {gateways[1].url}; redis {redis.url}")

            await self._prepare(systems, client)
            subscriber = Subscriber(client)
            tasks = [
                asyncio.create_task(subscriber.run(after=format_cursor(0)), name="subscriber"),
                asyncio.create_task(self._scenario(cluster, gateways[0], headers), name="scenario"),
            ]
            self._began = time.monotonic()
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._faults(cluster, gateways, redis))
                    group.create_task(self._starts(client))
                await self._clear(cluster)
                tasks.pop().cancel()  # the scenario: the firm stops moving
                self.say(f"{self._t()} faults cleared; waiting for everything to settle")
                return await measure(
                    client, systems, subscriber, self, settle_s=self.size.settle_s, say=self.say
                )
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        raise AssertionError("unreachable")  # the exit stack never swallows

    # --- set-up ------------------------------------------------------------------------

    def _gateway(
        self, name: str, cluster: SandboxCluster, database: PrivateDatabase, redis: PrivateRedis
    ) -> GatewayProcess:
        config = write_config(
            self.workdir / f"gateway-{name}.yaml",
            cluster,
            store_url=database.url,
            bus_url=redis.url,
            # The demo's automations stay on: their starts meet the clients' ones.
            events={**self._demo_events(), **EVENTS},
            workflows=WORKFLOWS,
        )
        return GatewayProcess(config, self.workdir / f"gateway-{name}.log")

    def _machine_headers(self, cluster: SandboxCluster) -> dict[str, str]:
        token = Identity.of(cluster, self.demo).machine_token("admin", client_id="psgraph-chaos")
        return {"Authorization": f"Bearer {token}"}

    @staticmethod
    def _demo_events() -> dict[str, Any]:
        events: dict[str, Any] = yaml.safe_load(DEMO_CONFIG.read_text()).get("events", {})
        return events

    def _systems(self, cluster: SandboxCluster) -> Systems:
        return Systems(
            {
                SourceSystem(name.upper()): make_connector(name, self._source(cluster, name))
                for name in SYSTEMS
            }
        )

    def _source(self, cluster: SandboxCluster, name: str) -> SourceSettings:
        base = self.demo.source(name)
        return SourceSettings(**{**base.model_dump(), "base_url": cluster[name].url})

    async def _prepare(self, systems: Systems, client: Gateways) -> None:
        """Won deals and submitted time, made before the faults begin; capture has had
        its first scans by then, so each of them is news."""
        await asyncio.sleep(CAPTURE_LEASE_S)
        rng = random.Random(WORLD_SEED)
        for number in range(self.size.deals):
            account = rng.choice(self.world.clients)
            self.deals.append(
                await systems.crm.create_opportunity(
                    {
                        "account_id": account.crm_id,
                        "name": f"{account.name} - Chaos deal {number}",
                        "stage": "CLOSED_WON",
                        "close_date": dt.date(2026, 1, 15),
                        "amount": Decimal(50_000 + 1_000 * number),
                        "practice": "Cloud",
                        "region": account.region,
                        "contract_type": "TIME_AND_MATERIALS",
                    }
                )
            )
        keys = [f"chaos-time-{n // 2}-{n % 2}" for n in range(2 * self.size.time_batches)]
        gate = asyncio.Semaphore(4)

        async def submit(n: int, key: str) -> None:
            project, person = self._staffed(n)
            async with gate:
                found = await _patiently(
                    client,
                    SUBMIT,
                    p=ids.encode("Project", project),
                    r=ids.encode("Resource", person),
                    d=(WORLD_TODAY - dt.timedelta(days=n % 20)).isoformat(),
                    key=key,
                )
            self.entries[key] = ids.decode(found["submitTime"]["id"], "TimeEntry").key

        await asyncio.gather(*(submit(n, key) for n, key in enumerate(keys)))
        self.say(f"{len(self.deals)} won deals and {len(self.entries)} time entries made")

    def _staffed(self, n: int) -> tuple[str, str]:
        """An active, financed, scheduled project's PSA id and a person assigned to it."""
        scheduled = {s.project_key for s in self.world.billing_schedules}
        projects = [
            p
            for p in self.world.projects
            if p.status == "ACTIVE" and p.erp_job_id and p.key in scheduled
        ]
        project = projects[n % len(projects)]
        person = next(a.person_key for a in self.world.assignments if a.project_key == project.key)
        return project.psa_id, self.world.people[person].hcm_id

    # --- load --------------------------------------------------------------------------

    async def _starts(self, client: Gateways) -> None:
        """Every deal started from both gateways under two keys, and one key replayed on
        the other gateway; every time batch approved through both. Spread over the first
        half of the run."""
        jobs: list[tuple[str, dict[str, Any], int]] = []
        for deal in self.deals:
            opportunity = ids.encode("Opportunity", deal)
            for gateway, key in (
                (0, f"chaos-a-{deal}"),
                (1, f"chaos-b-{deal}"),
                (1, f"chaos-a-{deal}"),
            ):
                start = {"input": {"opportunityId": opportunity, "idempotencyKey": key}}
                jobs.append((START, start, gateway))
        keys = sorted(self.entries)
        for batch in range(self.size.time_batches):
            pair = keys[batch * 2 : batch * 2 + 2]
            entries = [ids.encode("TimeEntry", self.entries[k]) for k in pair]
            jobs.extend((APPROVE, {"ids": entries}, gateway) for gateway in (0, 1))
        random.Random(7).shuffle(jobs)
        spacing = self.size.run_s * 0.5 / max(len(jobs), 1)

        async def one(document: str, variables: dict[str, Any], gateway: int) -> None:
            try:
                data = await client.query(document, prefer=gateway, **variables)
            except (GraphQLError, GatewayDownError) as error:
                self.refused.append(f"{document.split('(')[0].strip()}: {error}")
                return
            self.started.append(next(iter(data.values()))["id"])

        async with asyncio.TaskGroup() as group:
            for document, variables, gateway in jobs:
                group.create_task(one(document, variables, gateway))
                await asyncio.sleep(spacing)
        self.say(f"{self._t()} {len(self.started)} starts answered, {len(self.refused)} refused")

    async def _scenario(
        self, cluster: SandboxCluster, gateway: GatewayProcess, headers: dict[str, str]
    ) -> None:
        settings = {name: self._source(cluster, name) for name in SYSTEMS}
        await scenario.run_scenario(
            settings,
            interval_s=self.size.scenario_interval_s,
            seed=WORLD_SEED,
            report=lambda happened: log.info("scenario: %s", happened),
            gateway=scenario.Gateway(gateway.graphql, headers),
        )

    # --- faults ------------------------------------------------------------------------

    async def _faults(
        self, cluster: SandboxCluster, gateways: list[GatewayProcess], redis: PrivateRedis
    ) -> None:
        size = self.size
        steady = {"error_rate": size.error_rate, "status": 503}
        await self._set(cluster, SYSTEMS, steady)
        self.say(f"{self._t()} every source fails {size.error_rate:.0%} of its requests")
        await self._at(0.10)
        await self._storm(cluster)
        await self._at(0.25)
        gateways[0].kill()
        self.say(f"{self._t()} gateway a SIGKILLed")
        await asyncio.sleep(2.0)
        await asyncio.to_thread(gateways[0].start().ready)
        self.say(f"{self._t()} gateway a restarted")
        await self._at(0.35)
        await self._set(cluster, ["erp"], {"outage": True})
        self.say(f"{self._t()} ERP outage begins ({size.outage_s:g} s)")
        outage_ends = time.monotonic() + size.outage_s
        await self._at(0.45)
        await asyncio.to_thread(redis.restart)
        self.say(f"{self._t()} redis restarted")
        await asyncio.sleep(max(0.0, outage_ends - time.monotonic()))
        await self._set(cluster, ["erp"], {"outage": False})
        self.say(f"{self._t()} ERP outage ends")
        await self._at(0.80)
        await self._storm(cluster)
        await self._at(1.0)

    async def _storm(self, cluster: SandboxCluster) -> None:
        await self._set(cluster, SYSTEMS, {"rate_limit_per_s": 1.0})
        self.say(f"{self._t()} 429 storm on every source ({self.size.storm_s:g} s)")
        await asyncio.sleep(self.size.storm_s)
        await self._set(cluster, SYSTEMS, {"rate_limit_per_s": None})

    async def _set(self, cluster: SandboxCluster, names: Any, faults: dict[str, Any]) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            for name in names:
                response = await http.post(f"{cluster[name].url}/_sandbox/faults", json=faults)
                response.raise_for_status()

    async def _clear(self, cluster: SandboxCluster) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            for name in SYSTEMS:
                (await http.delete(f"{cluster[name].url}/_sandbox/faults")).raise_for_status()

    async def _at(self, share: float) -> None:
        """Sleep until `share` of the run has passed."""
        await asyncio.sleep(max(0.0, self._began + share * self.size.run_s - time.monotonic()))

    def _t(self) -> str:
        return f"[{time.monotonic() - self._began:6.1f} s]"


async def _patiently(client: Gateways, document: str, **variables: Any) -> dict[str, Any]:
    """A request a person would send again after a rate limit or an outage: submitTime
    is idempotent by its key, so sending it again is safe."""
    for attempt in range(30):
        try:
            return await client.query(document, **variables)
        except GraphQLError as error:
            if attempt == 29 or not set(error.codes) & TRANSIENT:
                raise
        await asyncio.sleep(1.0 + attempt * 0.5)
    raise AssertionError("unreachable")


async def run_chaos(size: Size, workdir: Path, say: Callable[[str], None] = print) -> Figures:
    with suppress(FileExistsError):
        workdir.mkdir(parents=True)
    # A client hanging up mid-request (a killed gateway) is expected here, not news; a
    # filter, because the sandboxes' servers set the logger's level when they start.
    server_log = logging.getLogger("uvicorn.error")
    server_log.addFilter(_not_a_hang_up)
    try:
        return await Chaos(size, workdir, say).run()
    finally:
        server_log.removeFilter(_not_a_hang_up)


def _not_a_hang_up(record: logging.LogRecord) -> bool:
    return not (record.exc_info and isinstance(record.exc_info[1], ClientDisconnect))

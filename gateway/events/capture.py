"""Change capture by polling, the way each vendor allows, with cursors kept in the store.

Every connector's `changes(entity, cursor)` speaks its vendor's change mechanism: the
CRM's `/sobjects/{type}/updated` window, TIME's `updated_since`, the ERP's SuiteQL on
last-modified, the PSA's subscribed-events pull feed, and for the HCM (no modified-since
at all) a diff against the digests of the previous snapshot. A `Poller` runs one
(system, entity) at its interval; its cursor lives in the store's `change_cursors`, so a
restarted gateway carries on where it stopped, and the cursor advances in the same
transaction as the events it produced.

The first scan of an entity only takes a cursor for "now" (history is not news); for
entities listed under `baseline` it also learns every record's current status, so the
first later change to an existing record is told apart from a new one.

With several gateways, only the one holding the "capture" lease runs its pollers
(`gateway.events.leadership`), so each source is scanned once, not once per replica.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.events.domain import source_health_event
from gateway.events.ingest import Applied, Ingest, Sighting
from gateway.events.log import EventLog
from gateway.settings import EventsConfig
from gateway.store import Store
from sources import registry
from sources.connector import Connector
from sources.errors import RateLimited, SourceError
from sources.records import SourceSystem

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0
BASELINE_PAGE = 1000  # asked of connectors; each clamps to its vendor's page cap


@dataclass(frozen=True)
class PollPlan:
    system: SourceSystem
    entity: str
    interval_s: float
    baseline: bool = False


def poll_plans(
    config: EventsConfig, connectors: Mapping[SourceSystem, Connector]
) -> list[PollPlan]:
    """The (system, entity) pairs to poll: those configured whose source is connected and
    has that entity."""
    polls = dict(config.poll)
    for system in connectors:  # a system added by its own package polls as it declares
        spec = registry.system(system.value)
        if spec.package not in registry.BUILT_IN_PACKAGES:
            polls.setdefault(spec.key, dict(spec.default_poll_interval))
    plans = []
    for name, entities in polls.items():
        system = SourceSystem(name.upper())
        connector = connectors.get(system)
        if connector is None:
            continue
        learned = set(config.baseline.get(name, ()))
        for entity, interval in entities.items():
            if entity not in connector.entities:
                log.warning("events.poll: %s has no entity %r; not polled", name, entity)
                continue
            plans.append(PollPlan(system, entity, interval, baseline=entity in learned))
    return plans


class CaptureObserver(Protocol):
    """Watches change scans (metrics, integration health)."""

    def scanned(self, system: SourceSystem, entity: str, started_at: float, changes: int) -> None:
        """A scan that began at wall time `started_at` succeeded and saw `changes` records
        changed or deleted."""

    def scan_failed(self, system: SourceSystem, entity: str, error: SourceError) -> None: ...


class SourceHealth:
    """Appends `SourceHealthChanged` when a source's change scans start or stop failing."""

    def __init__(self, log: EventLog) -> None:
        self._log = log
        self._healthy: dict[SourceSystem, bool] = {}

    async def succeeded(self, system: SourceSystem) -> None:
        if self._healthy.get(system) is False:
            await self._log.append([source_health_event(system, True, "change scans succeed")])
        self._healthy[system] = True

    async def failed(self, system: SourceSystem, error: SourceError) -> None:
        if self._healthy.get(system) is not False:
            detail = f"{error.code}: {error.message}"
            await self._log.append([source_health_event(system, False, detail)])
        self._healthy[system] = False


class Poller:
    def __init__(
        self,
        plan: PollPlan,
        connector: Connector,
        ingest: Ingest,
        store: Store,
        health: SourceHealth,
        observer: CaptureObserver | None = None,
    ) -> None:
        self.plan = plan
        self._connector = connector
        self._ingest = ingest
        self._store = store
        self._health = health
        self._observer = observer
        self.watching = False  # holds a cursor: every change from here on will be seen

    async def scan(self) -> Applied:
        """One change scan: the events it appended (none on the very first scan)."""
        system, entity = self.plan.system, self.plan.entity
        started_at = time.time()
        cursor = await self._store.cursors.get(system.value, entity)
        if cursor is None:
            start = await self._connector.changes(entity, None)
            if self.plan.baseline:
                await self._learn()
            await self._store.cursors.set(system.value, entity, start.cursor)
            self.watching = True
            if self._observer is not None:
                self._observer.scanned(system, entity, started_at, 0)
            return Applied()
        self.watching = True
        found = await self._connector.changes(entity, cursor)
        seen = Sighting(system, entity, found.records, found.deleted_ids)
        applied = await self._ingest.apply(seen, cursor=found.cursor)
        if self._observer is not None:
            changes = len(found.records) + len(found.deleted_ids)
            self._observer.scanned(system, entity, started_at, changes)
        return applied

    async def run_forever(self) -> None:
        failures = 0
        while True:
            delay = self.plan.interval_s
            try:
                await self.scan()
            except SourceError as error:
                failures += 1
                if self._observer is not None:
                    self._observer.scan_failed(self.plan.system, self.plan.entity, error)
                await self._health.failed(self.plan.system, error)
                delay = min(self.plan.interval_s * 2**failures, MAX_BACKOFF_S)
                if isinstance(error, RateLimited) and error.retry_after is not None:
                    delay = max(delay, error.retry_after)
                log.warning(
                    "change scan of %s %s failed (%s); next in %.1fs",
                    self.plan.system.value,
                    self.plan.entity,
                    error,
                    delay,
                )
            else:
                failures = 0
                await self._health.succeeded(self.plan.system)
            await asyncio.sleep(delay)

    async def _learn(self) -> None:
        cursor: str | None = None
        learned = 0
        while True:
            page = await self._connector.list(
                self.plan.entity, page_size=BASELINE_PAGE, cursor=cursor
            )
            learned += await self._ingest.learn(self.plan.system, self.plan.entity, page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        log.info("learned %d %s %s states", learned, self.plan.system.value, self.plan.entity)


class Capture:
    """Every poller of the gateway. `run()` is what the capture leader runs (see
    `gateway.events.leadership`): one gateway at a time scans the sources."""

    def __init__(self, pollers: Sequence[Poller]) -> None:
        self.pollers = list(pollers)

    @property
    def watching(self) -> bool:
        """Whether every poller holds a cursor, so that no change made from now on is
        missed (a change made before an entity's first scan is history, not news)."""
        return all(poller.watching for poller in self.pollers)

    async def run(self) -> None:
        """Every poller at its interval, until cancelled."""
        async with asyncio.TaskGroup() as group:
            for poller in self.pollers:
                name = f"poll-{poller.plan.system.value}-{poller.plan.entity}"
                group.create_task(self._guarded(poller), name=name)

    @staticmethod
    async def _guarded(poller: Poller) -> None:
        while True:
            try:
                await poller.run_forever()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug or a store outage must not end capture for good
                log.exception(
                    "poller %s %s crashed; restarting", poller.plan.system.value, poller.plan.entity
                )
                await asyncio.sleep(poller.plan.interval_s)

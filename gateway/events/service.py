"""The events process API, assembled: one object the gateway starts, mounts and stops.

service = EventsService(settings, store, connectors, subject_id=ids.encode,
                        invalidate=cache.invalidate,
                        start_workflow=start_workflow)
await service.start()               # bus, live feed, consumers, pollers (if leader)
routes = service.routes()           # POST /webhooks/{system}
service.capture_role                # "leader", "standby" or "off"
engine = Engine(store, ..., publish=service.publish_outbox)
async for event in service.feed.stream(after=0): ...
await service.stop()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextlib import suppress

import httpx
from starlette.routing import Route

from gateway.events.bus import Broadcast, SlowConsumerError
from gateway.events.capture import (
    Capture,
    CaptureObserver,
    Poller,
    SourceHealth,
    poll_plans,
)
from gateway.events.deliveries import Consumer, Deliveries
from gateway.events.domain import IdEncoder
from gateway.events.forward import forward_consumer
from gateway.events.ingest import INVALIDATIONS, Ingest, Invalidate
from gateway.events.leadership import Leadership
from gateway.events.live import LiveFeed
from gateway.events.log import EventLog
from gateway.events.progress import WorkflowProgress
from gateway.events.receiver import WebhookReceiver
from gateway.events.triggers import StartWorkflow, automation_triggers
from gateway.settings import Settings
from gateway.store import OutboxMessage, Store
from sources.connector import Connector
from sources.records import SourceSystem

log = logging.getLogger(__name__)

CAPTURE_LEASE = "capture"


class EventsService:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        connectors: Mapping[SourceSystem, Connector],
        *,
        subject_id: IdEncoder,
        invalidate: Invalidate | None = None,
        start_workflow: StartWorkflow | None = None,
        bus: Broadcast | None = None,
        capture_observer: CaptureObserver | None = None,
    ) -> None:
        """`subject_id(type, key)` makes global ids; `invalidate(system, entity, ids)` is
        the read cache's hook; `start_workflow(kind, input, idempotency_key, principal)`
        is how the automations in `events.automations` start their workflows;
        `bus` is one the caller owns (otherwise one is made from `settings.bus_url`);
        `capture_observer` watches the change scans."""
        config = settings.events
        self.settings = settings
        self.store = store
        self._own_bus = bus is None
        self.bus = bus or Broadcast(
            settings.bus_url, prefix=config.bus_prefix, buffer=config.subscriber_buffer
        )
        self.log = EventLog(store, self.bus, subject_id=subject_id)
        self.feed = LiveFeed(
            self.log, self.bus, buffer=config.subscriber_buffer, poll_s=config.log_poll_s
        )
        self.ingest = Ingest(self.log, subject_id=subject_id, invalidate=invalidate, bus=self.bus)
        self._invalidate = invalidate
        health = SourceHealth(self.log)
        pollers = [
            Poller(plan, connectors[plan.system], self.ingest, store, health, capture_observer)
            for plan in poll_plans(config, connectors)
        ]
        self.capture = Capture(pollers)
        # Every replica receives webhooks and serves subscribers; only one polls.
        self.capture_leadership = Leadership(
            store.leases, CAPTURE_LEASE, ttl_s=config.capture_lease_s, work=self.capture.run
        )
        self.receiver = WebhookReceiver(
            connectors, lambda system: settings.webhook_secrets(system.value.lower()), self.ingest
        )
        self._http = httpx.AsyncClient(timeout=10.0)
        self.deliveries = Deliveries(
            store,
            self.feed,
            self._consumers(start_workflow),
            attempts=config.delivery_attempts,
            backoff_s=config.delivery_backoff_s,
        )
        self._progress = WorkflowProgress(self.log, subject_id=subject_id)
        self._tasks: list[asyncio.Task[None]] = []

    async def publish_outbox(self, message: OutboxMessage) -> None:
        """The workflow engine's `publish` hook: progress into the log."""
        await self._progress.publish(message)

    @property
    def capture_role(self) -> str:
        """Whether this process runs the pollers ("leader"), waits to ("standby"), or
        capture is off."""
        return self.capture_leadership.role if self.settings.events.capture else "off"

    @property
    def capture_watching(self) -> bool:
        """Whether this process captures changes and has taken a cursor on every source
        entity it polls: a change made in a source from now on will become an event."""
        return self.capture_role == "leader" and self.capture.watching

    def routes(self) -> list[Route]:
        return self.receiver.routes()

    async def start(self) -> None:
        if self._own_bus:
            await self.bus.connect()
        await self.feed.start()
        if self._invalidate is not None:
            ready = asyncio.Event()
            self._tasks.append(asyncio.create_task(self._follow_invalidations(ready)))
            await ready.wait()
        await self.deliveries.start()
        if self.settings.events.capture:
            self.capture_leadership.start()

    async def stop(self) -> None:
        if self.settings.events.capture:
            await self.capture_leadership.stop()
        await self.deliveries.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.feed.stop()
        await self._http.aclose()
        if self._own_bus:
            await self.bus.disconnect()

    def _consumers(self, start_workflow: StartWorkflow | None) -> list[Consumer]:
        config = self.settings.events
        consumers = automation_triggers(config.automations, start_workflow)
        for target in config.forward:
            secret = self.settings.forward_secret(target)
            if secret is None:
                raise ValueError(f"events.forward {target.name}: ${target.secret_env} is not set")
            consumers.append(
                forward_consumer(
                    target.name, target.url, secret, self._http, frozenset(target.types)
                )
            )
        return consumers

    async def _follow_invalidations(self, ready: asyncio.Event) -> None:
        while True:
            try:
                async with self.bus.subscribe(INVALIDATIONS) as invalidations:
                    ready.set()
                    async for message in invalidations:
                        self.ingest.invalidated_elsewhere(message.payload)
                    return  # the bus disconnected
            except SlowConsumerError:
                log.warning("cache invalidations fell behind; some entries live out their TTL")

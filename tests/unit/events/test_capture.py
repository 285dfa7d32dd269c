"""Polling with persisted cursors: the first scan takes "now", later scans bring changes;
a source that fails is reported once, and again when it recovers."""

from __future__ import annotations

import asyncio
from contextlib import suppress

import pytest

from gateway.events.capture import Capture, Poller, PollPlan, SourceHealth, poll_plans
from gateway.events.ingest import Ingest
from gateway.events.log import EventLog
from gateway.settings import EventsConfig
from gateway.store import Store
from sources.errors import SourceUnavailable
from sources.records import SourceSystem
from tests.unit.events.fakes import FakeConnector, project, time_entry, unavailable

PSA = SourceSystem.PSA


@pytest.fixture
def connector() -> FakeConnector:
    return FakeConnector(PSA)


def poller(
    connector: FakeConnector,
    ingest: Ingest,
    store: Store,
    event_log: EventLog,
    entity: str = "time_entry",
    *,
    baseline: bool = False,
    interval_s: float = 0.01,
) -> Poller:
    plan = PollPlan(PSA, entity, interval_s, baseline=baseline)
    return Poller(plan, connector, ingest, store, SourceHealth(event_log))


async def test_the_first_scan_only_takes_a_cursor(
    connector: FakeConnector, ingest: Ingest, store: Store, event_log: EventLog
):
    connector.put("time_entry", time_entry("1", "APPROVED"))
    scanner = poller(connector, ingest, store, event_log)

    first = await scanner.scan()

    assert first.events == []
    assert await store.cursors.get("PSA", "time_entry") == "1"


async def test_later_scans_turn_changes_into_events_and_advance_the_cursor(
    connector: FakeConnector, ingest: Ingest, store: Store, event_log: EventLog
):
    scanner = poller(connector, ingest, store, event_log)
    await scanner.scan()
    connector.put("time_entry", time_entry("1", "SUBMITTED"))
    connector.put("time_entry", time_entry("1", "APPROVED"))

    applied = await scanner.scan()
    nothing_new = await scanner.scan()

    assert [e.type for e in applied.events] == ["TimeApproved"]
    assert nothing_new.events == []
    assert await store.cursors.get("PSA", "time_entry") == "2"


async def test_a_restarted_gateway_resumes_from_the_stored_cursor(
    connector: FakeConnector, ingest: Ingest, store: Store, event_log: EventLog
):
    await poller(connector, ingest, store, event_log).scan()
    connector.put("time_entry", time_entry("1", "APPROVED"))

    applied = await poller(connector, ingest, store, event_log).scan()

    assert [e.type for e in applied.events] == ["TimeApproved"]


async def test_a_baseline_learns_existing_records_without_events(
    connector: FakeConnector, ingest: Ingest, store: Store, event_log: EventLog
):
    for n in range(5):
        connector.put("project", project(str(n), "ACTIVE"))
    scanner = poller(connector, ingest, store, event_log, "project", baseline=True)
    await scanner.scan()
    connector.put("project", project("3", "COMPLETED"))
    connector.put("project", project("new", "PLANNED"))

    applied = await scanner.scan()

    assert [(e.type, e.subject_id) for e in applied.events] == [
        ("ProjectStatusChanged", "Project:3"),
        ("ProjectCreated", "Project:new"),
    ]


async def test_a_failing_source_is_reported_once_and_again_when_it_recovers(
    connector: FakeConnector, ingest: Ingest, store: Store, event_log: EventLog
):
    capture = Capture([poller(connector, ingest, store, event_log)])
    connector.fail_with(unavailable())
    running = asyncio.create_task(capture.run())
    try:
        async with asyncio.timeout(5):
            while connector.calls.count("changes time_entry") < 3:
                await asyncio.sleep(0.01)
            connector.fail_with(None)
            while len(await store.events.read_after(None)) < 2:
                await asyncio.sleep(0.01)
    finally:
        running.cancel()
        with suppress(asyncio.CancelledError):
            await running

    health = [(e.type, e.data["healthy"]) for e in await store.events.read_after(None)]
    assert health == [("SourceHealthChanged", False), ("SourceHealthChanged", True)]


async def test_capture_watches_once_every_entity_holds_a_cursor(
    connector: FakeConnector, ingest: Ingest, store: Store, event_log: EventLog
):
    entries = poller(connector, ingest, store, event_log)
    projects = poller(connector, ingest, store, event_log, "project")
    capture = Capture([entries, projects])
    assert not capture.watching

    await entries.scan()
    assert not capture.watching  # a project changed now would still be history

    await projects.scan()
    assert capture.watching


async def test_an_entity_whose_first_scan_fails_is_not_watched(
    connector: FakeConnector, ingest: Ingest, store: Store, event_log: EventLog
):
    scanner = poller(connector, ingest, store, event_log)
    connector.fail_with(unavailable())

    with pytest.raises(SourceUnavailable):
        await scanner.scan()

    assert not Capture([scanner]).watching


async def test_a_restarted_poller_watches_from_its_stored_cursor(
    connector: FakeConnector, ingest: Ingest, store: Store, event_log: EventLog
):
    await poller(connector, ingest, store, event_log).scan()
    restarted = poller(connector, ingest, store, event_log)

    await restarted.scan()

    assert Capture([restarted]).watching


def test_poll_plans_cover_the_configured_entities_of_connected_sources():
    config = EventsConfig(
        poll={"psa": {"project": 5, "time_entry": 2}, "crm": {"opportunity": 10}},
        baseline={"psa": ["project"]},
    )

    plans = poll_plans(config, {PSA: FakeConnector(PSA)})

    assert plans == [
        PollPlan(PSA, "project", 5, baseline=True),
        PollPlan(PSA, "time_entry", 2, baseline=False),
    ]


def test_poll_plans_skip_an_entity_the_connector_does_not_have():
    config = EventsConfig(poll={"psa": {"invoice": 5, "project": 5}})

    plans = poll_plans(config, {PSA: FakeConnector(PSA)})

    assert [plan.entity for plan in plans] == ["project"]


async def test_scans_are_reported_to_the_observer(
    connector: FakeConnector, ingest: Ingest, store: Store, event_log: EventLog
):
    seen: list[tuple[str, object]] = []

    class Observer:
        def scanned(self, system: SourceSystem, entity: str, started_at: float, changes: int):
            seen.append(("scanned", changes))

        def scan_failed(self, system: SourceSystem, entity: str, error: object):
            seen.append(("failed", type(error).__name__))

    plan = PollPlan(PSA, "time_entry", 0.01)
    scanner = Poller(plan, connector, ingest, store, SourceHealth(event_log), Observer())
    running = asyncio.create_task(Capture([scanner]).run())
    try:
        async with asyncio.timeout(5):
            while not seen:  # the first scan takes a cursor
                await asyncio.sleep(0.01)
            connector.put("time_entry", time_entry("1", "APPROVED"))
            while ("scanned", 1) not in seen:
                await asyncio.sleep(0.01)
            connector.fail_with(unavailable())
            while ("failed", "SourceUnavailable") not in seen:
                await asyncio.sleep(0.01)
    finally:
        running.cancel()
        with suppress(asyncio.CancelledError):
            await running

    assert seen[0] == ("scanned", 0)

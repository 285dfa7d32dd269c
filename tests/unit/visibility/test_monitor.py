"""The monitor's bookkeeping, with detectors that report what a test tells them: an
exception opens when first found, stays while found, resolves when no longer found (and
only then), opens again if it comes back; acknowledging records who and when; of several
gateways on one store, one monitors."""

from __future__ import annotations

import asyncio
import datetime as dt
from contextlib import suppress
from decimal import Decimal

import pytest

from gateway.events.leadership import Leadership
from gateway.settings import VisibilityConfig
from gateway.store import Store
from gateway.visibility.detectors.base import Detector, ScanContext
from gateway.visibility.findings import ExceptionKind, Finding
from gateway.visibility.monitor import CHANNEL, LEASE, ExceptionMonitor
from sources.errors import SourceUnavailable
from sources.records import SourceSystem

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
BLOCKED = ExceptionKind.INVOICE_BLOCKED


class Scripted:
    """A detector whose findings (or failure) the test sets before each scan."""

    def __init__(self, kind: ExceptionKind, reads: set[tuple[SourceSystem, str]]) -> None:
        self.findings: list[Finding] = []
        self.error: Exception | None = None
        self.runs = 0
        self.detector = Detector(kind, self.detect, reads=frozenset(reads))

    async def detect(self, ctx: ScanContext) -> list[Finding]:
        self.runs += 1
        if self.error is not None:
            raise self.error
        return list(self.findings)


def invoice(key: str, amount: str = "1000") -> Finding:
    return Finding(BLOCKED, "Invoice", key, SourceSystem.ERP, f"Invoice {key} is blocked",
                   amount_at_risk=Decimal(amount), currency="USD")  # fmt: skip


@pytest.fixture
def scripted() -> Scripted:
    return Scripted(BLOCKED, {(SourceSystem.ERP, "invoice")})


@pytest.fixture
def published() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def monitor(store: Store, scripted: Scripted, published: list[tuple[str, str]]) -> ExceptionMonitor:
    async def publish(channel: str, payload: str) -> None:
        published.append((channel, payload))

    return ExceptionMonitor(
        VisibilityConfig(monitor=True),
        store,
        {},
        publish=publish,
        detectors=[scripted.detector],
        clock=lambda: NOW,
    )


async def test_a_new_finding_opens_an_exception_and_announces_it(monitor, scripted, published):
    scripted.findings = [invoice("600001")]
    report = await monitor.scan()
    assert report.opened == ["INVOICE_BLOCKED:600001"]
    row = await monitor.store.exceptions.get("INVOICE_BLOCKED:600001")
    assert row is not None
    assert (row.status, row.owner_team, row.detected_at) == ("OPEN", "FINANCE", NOW)
    assert row.amount_at_risk == "1000"
    assert published == [(CHANNEL, "INVOICE_BLOCKED:600001")]


async def test_a_change_is_counted_before_it_is_announced(store, scripted):
    counts: list[dict[str, int]] = [{}]
    heard: list[dict[str, int]] = []

    async def publish(channel: str, payload: str) -> None:
        heard.append(counts[-1])  # what the gauge said when the change was announced

    monitor = ExceptionMonitor(
        VisibilityConfig(monitor=True),
        store,
        {},
        publish=publish,
        on_counts=counts.append,
        detectors=[scripted.detector],
        clock=lambda: NOW,
    )
    scripted.findings = [invoice("600001")]
    await monitor.scan()
    scripted.findings = []
    await monitor.scan()

    assert heard == [{"INVOICE_BLOCKED": 1}, {}]


async def test_a_finding_seen_again_is_the_same_exception(monitor, scripted, published):
    scripted.findings = [invoice("600001")]
    await monitor.scan()
    scripted.findings = [invoice("600001", amount="1500")]
    report = await monitor.scan()
    assert report.opened == report.resolved == []
    rows = await monitor.store.exceptions.all()
    assert [(r.id, r.status, r.amount_at_risk) for r in rows] == [
        ("INVOICE_BLOCKED:600001", "OPEN", "1500")
    ]
    assert len(published) == 1, "only openings and resolutions are announced"


async def test_a_condition_that_clears_resolves_and_one_that_returns_opens_again(
    monitor, scripted, published
):
    scripted.findings = [invoice("600001"), invoice("600002")]
    await monitor.scan()
    scripted.findings = [invoice("600002")]
    report = await monitor.scan()
    assert report.resolved == ["INVOICE_BLOCKED:600001"]
    row = await monitor.store.exceptions.get("INVOICE_BLOCKED:600001")
    assert row is not None
    assert (row.status, row.resolved_at) == ("RESOLVED", NOW)

    scripted.findings = [invoice("600001"), invoice("600002")]
    report = await monitor.scan()
    assert report.opened == ["INVOICE_BLOCKED:600001"]
    row = await monitor.store.exceptions.get("INVOICE_BLOCKED:600001")
    assert row is not None
    assert (row.status, row.resolved_at) == ("OPEN", None)


async def test_a_detector_that_cannot_read_its_source_changes_nothing(monitor, scripted):
    scripted.findings = [invoice("600001")]
    await monitor.scan()
    scripted.error = SourceUnavailable(SourceSystem.ERP, "down")
    report = await monitor.scan()
    assert report.failed == {"INVOICE_BLOCKED": "SourceUnavailable: ERP: down"}
    assert report.resolved == []
    row = await monitor.store.exceptions.get("INVOICE_BLOCKED:600001")
    assert row is not None
    assert row.status == "OPEN", "not seeing a problem is not seeing it fixed"


async def test_acknowledging_records_who_and_when_and_is_audited(monitor, scripted, published):
    scripted.findings = [invoice("600001")]
    await monitor.scan()
    row = await monitor.acknowledge("INVOICE_BLOCKED:600001", "alice@firm.example", "on it")
    assert row is not None
    assert (row.status, row.acknowledged_by, row.acknowledged_at, row.note) == (
        "ACKNOWLEDGED", "alice@firm.example", NOW, "on it",
    )  # fmt: skip
    audit = await monitor.store.audit.find(object_id="INVOICE_BLOCKED:600001")
    assert [(a.principal, a.action) for a in audit] == [
        ("alice@firm.example", "exception.acknowledge")
    ]
    assert published[-1] == (CHANNEL, "INVOICE_BLOCKED:600001")

    scripted.findings = []
    await monitor.scan()
    resolved = await monitor.store.exceptions.get("INVOICE_BLOCKED:600001")
    assert resolved is not None
    assert resolved.status == "RESOLVED"


async def test_an_acknowledgement_keeps_the_subject_and_audits_it_with_its_roles(monitor, scripted):
    scripted.findings = [invoice("600002")]
    await monitor.scan()
    row = await monitor.acknowledge(
        "INVOICE_BLOCKED:600002", "bob@firm.example", None, audit_as="bob@firm.example (finance)"
    )
    assert row is not None
    assert row.acknowledged_by == "bob@firm.example"
    audit = await monitor.store.audit.find(object_id="INVOICE_BLOCKED:600002")
    assert [(a.principal, a.action) for a in audit] == [
        ("bob@firm.example (finance)", "exception.acknowledge")
    ]


async def test_a_change_re_checks_only_the_detectors_that_read_it(store: Store):
    invoices = Scripted(BLOCKED, {(SourceSystem.ERP, "invoice")})
    projects = Scripted(ExceptionKind.PROJECT_MISSING_FINANCE_CODE, {(SourceSystem.PSA, "project")})
    watcher = ExceptionMonitor(
        VisibilityConfig(monitor=True, scan_interval_s=3600, recheck_debounce_s=0),
        store,
        {},
        detectors=[invoices.detector, projects.detector],
    )
    running = asyncio.create_task(watcher.run())
    try:
        async with asyncio.timeout(10):
            while watcher.scans < 1:
                await asyncio.sleep(0.01)
            watcher.changed(SourceSystem.ERP, "invoice")
            while watcher.scans < 2:
                await asyncio.sleep(0.01)
    finally:
        running.cancel()
        with suppress(asyncio.CancelledError):
            await running
    assert (invoices.runs, projects.runs) == (2, 1)


async def test_of_the_gateways_sharing_a_store_one_monitors_and_another_takes_over(store: Store):
    # A lease renewed every second: a store write slowed by a busy machine (an overrun
    # renewal hands the lease over) has a second, not half of one.
    config = VisibilityConfig(monitor=True, scan_interval_s=3600, lease_s=3.0)
    replicas = []
    for name in ("a", "b"):
        detector = Scripted(BLOCKED, {(SourceSystem.ERP, "invoice")})
        watcher = ExceptionMonitor(config, store, {}, detectors=[detector.detector])
        leadership = Leadership(store.leases, LEASE, ttl_s=config.lease_s, work=watcher.run,
                                holder=name)  # fmt: skip
        replicas.append((detector, leadership))
    for _, leadership in replicas:
        leadership.start()
    try:
        # Roomy: when a busy machine's store write outlasts the release's second, the
        # standby takes over only once the lease runs out, which is a takeover all the same.
        async with asyncio.timeout(30):
            while not any(detector.runs for detector, _ in replicas):
                await asyncio.sleep(0.01)
            await asyncio.sleep(2.0)  # two rounds of contending: the other stays out
            [(leader, leading)] = [r for r in replicas if r[1].role == "leader"]
            [(standby, _)] = [r for r in replicas if r[1].role == "standby"]
            assert (leader.runs, standby.runs) == (1, 0)

            await leading.stop()  # releases the lease on the way out
            while not standby.runs:
                await asyncio.sleep(0.01)
    finally:
        for _, leadership in replicas:
            await leadership.stop()

"""The business exceptions monitor: detectors run against the sources, their findings
kept in the store as exceptions that open, stay, and resolve themselves.

- A full scan runs at start-up and every `visibility.scan_interval_s`. With several
  gateways on one store, only the one holding the store's lease `visibility` scans
  (`gateway.events.leadership`, as for change capture): the others would read every
  source again for the same findings, and race it to the same rows.
- A change seen in a source (change capture's poll or a webhook, through the gateway's
  cache invalidation hook) or a domain event re-runs, `recheck_debounce_s` later, only the
  detectors that read it; so a condition made or cleared in any system shows within one
  poll interval and a scan, and everything else within one scan interval.
- Reconciling a detector's findings with its kind's rows: a new finding opens an
  exception (`detectedAt` now); one found again is updated in place (status kept); an
  open one no longer found is RESOLVED (`resolvedAt` now), whatever cleared it; a
  resolved one found again is opened again. A detector that fails (a source down) changes
  nothing of its kind: not seeing a problem is not seeing it fixed.
- Every exception that opens, resolves or is acknowledged is published on the bus
  (channel `visibility.exceptions`, the id as payload) for `exceptionsChanged`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace

from gateway.observability.health import SourceHealthTracker
from gateway.settings import VisibilityConfig
from gateway.store import Store
from gateway.store.records import BusinessExceptionRow
from gateway.visibility.detectors.base import Detector, ScanContext
from gateway.visibility.findings import OWNER_TEAM, ExceptionStatus, Finding
from gateway.visibility.registry import DETECTORS
from gateway.visibility.view import SourceView
from sources.connector import Connector
from sources.records import SourceSystem

log = logging.getLogger(__name__)

CHANNEL = "visibility.exceptions"
LEASE = "visibility"  # the store's lease the scanning gateway holds
Publish = Callable[[str, str], Awaitable[None]]  # (channel, payload)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class ScanReport:
    """What one scan did: findings by kind, and the exceptions it opened and resolved."""

    found: dict[str, int]
    opened: list[str]
    resolved: list[str]
    failed: dict[str, str]  # kind -> why its detector could not run
    seconds: float


class ExceptionMonitor:
    def __init__(
        self,
        config: VisibilityConfig,
        store: Store,
        connectors: Mapping[SourceSystem, Connector],
        *,
        health: SourceHealthTracker | None = None,
        publish: Publish | None = None,
        on_counts: Callable[[dict[str, int]], None] | None = None,
        detectors: Sequence[Detector] = DETECTORS,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.config = config
        self.store = store
        self.connectors = connectors
        self._health = health
        self._publish = publish
        self._on_counts = on_counts
        self.detectors = tuple(detectors)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._due: set[Detector] = set()
        self._wake = asyncio.Event()
        self.scans = 0
        self.last_scan: ScanReport | None = None

    # --- running -------------------------------------------------------------------

    async def run(self) -> None:
        """A full scan now and every `scan_interval_s`, and the re-checks marked between
        them, until cancelled."""
        next_full = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                if loop.time() >= next_full:
                    next_full = loop.time() + self.config.scan_interval_s
                    self._due.clear()
                    await self.scan()
                    continue
                if self._due:
                    await asyncio.sleep(self.config.recheck_debounce_s)
                    due, self._due = set(self._due), set()
                    await self.scan(d for d in self.detectors if d in due)
                    continue
                self._wake.clear()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), next_full - loop.time())
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad scan must not stop the monitor
                log.exception("visibility scan failed")
                await asyncio.sleep(1.0)

    def changed(self, system: SourceSystem, entity: str) -> None:
        """A source's `entity` changed: re-check what reads it."""
        self._mark(d for d in self.detectors if (system, entity) in d.reads)

    def event(self, event_type: str) -> None:
        """A domain event was appended: re-check what follows it."""
        self._mark(d for d in self.detectors if event_type in d.on_events)

    def _mark(self, detectors: Iterable[Detector]) -> None:
        before = len(self._due)
        self._due.update(detectors)
        if len(self._due) != before:
            self._wake.set()

    # --- scanning --------------------------------------------------------------------

    async def scan(self, detectors: Iterable[Detector] | None = None) -> ScanReport:
        """Run `detectors` (all by default) now and reconcile their kinds."""
        chosen = list(self.detectors if detectors is None else detectors)
        started = asyncio.get_running_loop().time()
        async with self._lock:
            view = SourceView(self.connectors)
            ctx = ScanContext(view, self._clock(), self.config, self.store, self._health)
            try:
                results = await asyncio.gather(
                    *(self._detect(d, ctx) for d in chosen), return_exceptions=True
                )
            finally:
                view.close()
            found: dict[str, list[Finding]] = {}
            failed: dict[str, str] = {}
            for detector, result in zip(chosen, results, strict=True):
                if isinstance(result, BaseException):
                    failed[detector.kind.value] = f"{type(result).__name__}: {result}"
                    log.warning("detector %s failed: %s", detector.kind.value, result)
                elif result is not None:
                    found[detector.kind.value] = result
            opened, resolved, changed = await self._reconcile(found, ctx.now)
            # Counted before announced: whoever hears of a change and then reads the
            # gauge (a scraper, a dashboard) finds the change counted.
            await self._count()
            await self._announce(changed)
        self.scans += 1
        self.last_scan = ScanReport(
            {kind: len(items) for kind, items in found.items()},
            opened,
            resolved,
            failed,
            asyncio.get_running_loop().time() - started,
        )
        return self.last_scan

    async def _detect(self, detector: Detector, ctx: ScanContext) -> list[Finding] | None:
        if not ctx.view.has(*detector.needs):
            return None  # a source not configured: nothing to say either way
        return await detector.detect(ctx)

    async def _reconcile(
        self, found: Mapping[str, list[Finding]], now: dt.datetime
    ) -> tuple[list[str], list[str], list[str]]:
        rows = {row.id: row for row in await self.store.exceptions.all(kinds=found)}
        opened: list[str] = []
        resolved: list[str] = []
        writes: list[BusinessExceptionRow] = []
        seen: set[str] = set()
        for findings in found.values():
            for finding in findings:
                if finding.id in seen:
                    continue
                seen.add(finding.id)
                row = rows.get(finding.id)
                fresh = _row(finding, now)
                if row is None or row.status == ExceptionStatus.RESOLVED:
                    writes.append(fresh)
                    opened.append(finding.id)
                elif _differs(row, fresh):
                    writes.append(_refreshed(row, fresh, now))
        for row in rows.values():
            if row.id not in seen and row.status != ExceptionStatus.RESOLVED:
                writes.append(
                    replace(row, status=ExceptionStatus.RESOLVED, resolved_at=now, updated_at=now)
                )
                resolved.append(row.id)
        await self.store.exceptions.save(writes)
        return opened, resolved, opened + resolved

    async def _announce(self, ids: Sequence[str]) -> None:
        if self._publish is None:
            return
        for exception_id in ids:
            await self._publish(CHANNEL, exception_id)

    async def _count(self) -> None:
        if self._on_counts is None:
            return
        counts: dict[str, int] = {}
        for row in await self.store.exceptions.all():
            if row.status != ExceptionStatus.RESOLVED:
                counts[row.kind] = counts.get(row.kind, 0) + 1
        self._on_counts(counts)

    # --- people ------------------------------------------------------------------------

    async def acknowledge(
        self,
        exception_id: str,
        subject: str,
        note: str | None = None,
        *,
        audit_as: str | None = None,
    ) -> BusinessExceptionRow | None:
        """Record who saw it (`subject`, the token's `sub`) and when; a resolved exception
        stays resolved. Audited as `audit_as` (the caller's subject and roles; `subject`
        when not given)."""
        principal = audit_as or subject
        now = self._clock()
        async with self._lock:
            row = await self.store.exceptions.get(exception_id)
            if row is None:
                return None
            status = row.status
            if status == ExceptionStatus.OPEN:
                status = ExceptionStatus.ACKNOWLEDGED
            updated = replace(
                row,
                status=status,
                acknowledged_at=now,
                acknowledged_by=subject,
                note=note if note is not None else row.note,
                updated_at=now,
            )
            async with self.store.transaction() as tx:
                await tx.exceptions.save([updated])
                await tx.audit.record(
                    principal, "exception.acknowledge", None, "BusinessException",
                    exception_id, {"status": row.status},
                    {"status": updated.status, "note": note}, None,
                )  # fmt: skip
        await self._announce([exception_id])
        return updated


def _row(finding: Finding, now: dt.datetime) -> BusinessExceptionRow:
    return BusinessExceptionRow(
        id=finding.id,
        kind=finding.kind.value,
        status=ExceptionStatus.OPEN.value,
        owner_team=OWNER_TEAM[finding.kind].value,
        subject_type=finding.subject_type,
        subject_key=finding.subject_key,
        source=finding.source.value if finding.source else None,
        summary=finding.summary,
        suggested_action=finding.suggested_action,
        amount_at_risk=str(finding.amount_at_risk) if finding.amount_at_risk is not None else None,
        currency=finding.currency,
        since=finding.since,
        detected_at=now,
        acknowledged_at=None,
        acknowledged_by=None,
        note=None,
        resolved_at=None,
        updated_at=now,
    )


_DESCRIBED = ("summary", "suggested_action", "amount_at_risk", "currency", "since", "source")


def _differs(row: BusinessExceptionRow, fresh: BusinessExceptionRow) -> bool:
    return any(getattr(row, name) != getattr(fresh, name) for name in _DESCRIBED)


def _refreshed(
    row: BusinessExceptionRow, fresh: BusinessExceptionRow, now: dt.datetime
) -> BusinessExceptionRow:
    return replace(row, **{name: getattr(fresh, name) for name in _DESCRIBED}, updated_at=now)

"""Business KPIs over a date range, from the event log and the sources; nothing assumed.

- quote-to-project cycle time: `OpportunityClosedWon` event -> its `quote_to_project`
  workflow's `WorkflowFinished` (succeeded);
- approved time to ERP: `TimeApproved` -> `TimePostedToErp` of the same entry;
- approved time to invoice: the TIME entry's approval -> the issue of the ERP invoice
  its posting is on;
- integration incident resolution: `SourceHealthChanged` unhealthy -> the next healthy
  one of that source.

Durations use the events' own timestamps (when the change happened in its system), and
count a pair when its end falls in [from, to]. Unbilled approved time, the blocked share
of open invoices and the data freshness are read from the sources now; the exception
counts from the monitor's store.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from gateway.observability.health import SourceHealthTracker
from gateway.store import Store, WorkflowStatus
from gateway.store.records import EventRecord
from gateway.visibility.findings import ExceptionKind, ExceptionStatus
from gateway.visibility.view import SourceView
from sources.connector import Connector
from sources.records import Invoice, SourceSystem, TimeEntry, TimePosting, TimeUser, Worker

EVENT_PAGE = 1000
MAX_EVENTS = 200_000  # read of the log per KPI request, newest kept if more
OPEN_INVOICES = ("DRAFT", "POSTED", "BLOCKED")


@dataclass(frozen=True)
class DurationStats:
    count: int
    p50_seconds: float | None
    p90_seconds: float | None
    max_seconds: float | None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> DurationStats:
        if not seconds:
            return cls(0, None, None, None)
        ordered = sorted(seconds)
        return cls(
            len(ordered),
            statistics.median(ordered),
            ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
            ordered[-1],
        )


@dataclass(frozen=True)
class Kpis:
    start: dt.date
    end: dt.date
    quote_to_project_cycle_time: DurationStats
    approved_time_to_erp_latency: DurationStats
    approved_time_to_invoice_latency: DurationStats
    unbilled_approved_hours: float
    unbilled_approved_amount: Decimal | None
    unbilled_currency: str | None
    invoices_blocked_share: float
    utilization_freshness_seconds: float | None
    projects_missing_finance_code: int
    contracts_without_billing_schedule: int
    open_exceptions: int
    integration_incident_resolution: DurationStats


def _in(moment: dt.datetime, start: dt.date, end: dt.date) -> bool:
    return start <= moment.date() <= end


def _pairs(
    starts: Mapping[str, dt.datetime], ends: Mapping[str, dt.datetime], start: dt.date, end: dt.date
) -> list[float]:
    return [
        (ends[key] - began).total_seconds()
        for key, began in starts.items()
        if key in ends and _in(ends[key], start, end) and ends[key] >= began
    ]


async def _events(store: Store, types: Sequence[str]) -> list[EventRecord]:
    found: list[EventRecord] = []
    cursor: int | None = None
    while len(found) < MAX_EVENTS:
        page = await store.events.read_after(cursor, limit=EVENT_PAGE, types=types)
        if not page:
            break
        found.extend(page)
        cursor = page[-1].cursor
    return found


async def compute(
    store: Store,
    connectors: Mapping[SourceSystem, Connector],
    health: SourceHealthTracker | None,
    start: dt.date,
    end: dt.date,
    now: dt.datetime,
    *,
    opportunity_of_workflow: Mapping[str, str],
) -> Kpis:
    """`opportunity_of_workflow`: the global id of each succeeded quote-to-project
    workflow's opportunity, by workflow id (the log's `WorkflowFinished` names only the
    workflow)."""
    events = await _events(
        store,
        ["OpportunityClosedWon", "WorkflowFinished", "TimeApproved", "TimePostedToErp",
         "SourceHealthChanged"],
    )  # fmt: skip
    won: dict[str, dt.datetime] = {}
    projects: dict[str, dt.datetime] = {}
    approved: dict[str, dt.datetime] = {}
    posted: dict[str, dt.datetime] = {}
    incidents: list[float] = []
    down_since: dict[str, dt.datetime] = {}
    for event in events:
        if event.type == "OpportunityClosedWon" and event.subject_id:
            won.setdefault(event.subject_id, event.occurred_at)
        elif event.type == "WorkflowFinished" and event.subject_id:
            data = event.data if isinstance(event.data, dict) else {}
            opportunity = opportunity_of_workflow.get(str(data.get("workflowId")))
            if opportunity and data.get("status") == WorkflowStatus.SUCCEEDED.value:
                projects.setdefault(opportunity, event.occurred_at)
        elif event.type == "TimeApproved" and event.subject_id:
            approved.setdefault(event.subject_id, event.occurred_at)
        elif event.type == "TimePostedToErp" and event.subject_id:
            posted.setdefault(event.subject_id, event.occurred_at)
        elif event.type == "SourceHealthChanged":
            data = event.data if isinstance(event.data, dict) else {}
            system = str(data.get("system"))
            if not data.get("healthy"):
                down_since.setdefault(system, event.occurred_at)
            elif system in down_since:
                began = down_since.pop(system)
                if _in(event.occurred_at, start, end):
                    incidents.append((event.occurred_at - began).total_seconds())

    view = SourceView(connectors)
    try:
        invoice_latency, hours, amount, currency = await _time_figures(view, start, end)
        blocked_share = await _blocked_share(view)
    finally:
        view.close()
    counts: dict[str, int] = {}
    for row in await store.exceptions.all():
        if row.status != ExceptionStatus.RESOLVED:
            counts[row.kind] = counts.get(row.kind, 0) + 1
    return Kpis(
        start=start,
        end=end,
        quote_to_project_cycle_time=DurationStats.of(_pairs(won, projects, start, end)),
        approved_time_to_erp_latency=DurationStats.of(_pairs(approved, posted, start, end)),
        approved_time_to_invoice_latency=DurationStats.of(invoice_latency),
        unbilled_approved_hours=hours,
        unbilled_approved_amount=amount,
        unbilled_currency=currency,
        invoices_blocked_share=blocked_share,
        utilization_freshness_seconds=_freshness(health, now),
        projects_missing_finance_code=counts.get(ExceptionKind.PROJECT_MISSING_FINANCE_CODE, 0),
        contracts_without_billing_schedule=counts.get(
            ExceptionKind.CONTRACT_WITHOUT_BILLING_SCHEDULE, 0
        ),
        open_exceptions=sum(counts.values()),
        integration_incident_resolution=DurationStats.of(incidents),
    )


async def _time_figures(
    view: SourceView, start: dt.date, end: dt.date
) -> tuple[list[float], float, Decimal | None, str | None]:
    """Approval-to-invoice seconds of the time worked in the range and invoiced; the
    approved, unbilled hours worked in the range and what they bill at."""
    if not view.has(SourceSystem.TIME):
        return [], 0.0, None, None
    window = {"from": start, "to": end}
    unbilled = [
        e
        for e in await view.listing(
            SourceSystem.TIME, "time_entry", {**window, "status": "APPROVED"}
        )
        if isinstance(e, TimeEntry)
    ]
    hours = round(sum(e.hours for e in unbilled), 2)
    amount, currency = await _unbilled_amount(view, unbilled)
    if not view.has(SourceSystem.ERP):
        return [], hours, amount, currency
    billed = [
        e
        for e in await view.listing(
            SourceSystem.TIME, "time_entry", {**window, "status": "INVOICED"}
        )
        if isinstance(e, TimeEntry) and e.approved_at is not None
    ]
    postings = await view.by_ids(
        SourceSystem.ERP, "time_posting", "time_entry_id", [e.id for e in billed]
    )
    invoice_of = {
        p.time_entry_id: p.invoice_id
        for p in postings
        if isinstance(p, TimePosting) and p.invoice_id
    }
    invoices = await view.get_many(SourceSystem.ERP, "invoice", sorted(set(invoice_of.values())))
    issued = {i.id: i.issue_date for i in invoices if isinstance(i, Invoice) and i.issue_date}
    latency = []
    for entry in billed:
        day = issued.get(invoice_of.get(entry.id, ""))
        if day is not None and entry.approved_at is not None:
            # An invoice carries its issue date only: count it from that day's end.
            at = dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)
            latency.append(max((at - entry.approved_at).total_seconds(), 0.0))
    return latency, hours, amount, currency


async def _unbilled_amount(
    view: SourceView, entries: Sequence[TimeEntry]
) -> tuple[Decimal | None, str | None]:
    if not entries or not view.has(SourceSystem.HCM):
        return None, None
    workers = await view.listing(SourceSystem.HCM, "worker")
    users = await view.listing(SourceSystem.TIME, "user")
    by_email = {w.email.lower(): w for w in workers if isinstance(w, Worker) and w.email}
    rate_of = {}
    for user in users:
        if isinstance(user, TimeUser) and (worker := by_email.get(user.email.lower())):
            rate_of[user.id] = worker
    total = Decimal(0)
    currencies = set()
    for entry in entries:
        worker = rate_of.get(entry.user_id)
        if worker is not None and worker.bill_rate is not None and entry.billable:
            total += worker.bill_rate * Decimal(str(entry.hours))
            currencies.add(worker.currency)
    # Summing across currencies would mislead; one currency or none.
    if len(currencies) != 1:
        return (total.quantize(Decimal("0.01")), "USD") if not currencies else (None, None)
    return total.quantize(Decimal("0.01")), currencies.pop()


async def _blocked_share(view: SourceView) -> float:
    if not view.has(SourceSystem.ERP):
        return 0.0
    open_invoices = await view.listing(SourceSystem.ERP, "invoice", {"status": list(OPEN_INVOICES)})
    if not open_invoices:
        return 0.0
    blocked = sum(1 for i in open_invoices if isinstance(i, Invoice) and i.status == "BLOCKED")
    return blocked / len(open_invoices)


def _freshness(health: SourceHealthTracker | None, now: dt.datetime) -> float | None:
    """Utilization is TIME's approved hours over HCM capacity: its data is as old as the
    older of the two sources' latest successful reads (TIME's capture lag when capturing)."""
    if health is None:
        return None
    ages = []
    for system in (SourceSystem.TIME, SourceSystem.HCM):
        if system not in health.systems:
            continue
        report = health.report(system)
        if system is SourceSystem.TIME and report.capture_lag_seconds is not None:
            ages.append(report.capture_lag_seconds)
        elif report.last_success_at is not None:
            ages.append((now - report.last_success_at).total_seconds())
    return max(ages) if ages else None

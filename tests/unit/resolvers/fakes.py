"""In-process sources for the experience API's unit tests: connectors that keep the
`Connector` contract over records in memory, count every call, and fail on demand.

`firm(n_projects)` builds a small firm spread over the five systems with the same
cross-system links the real systems keep, plus one of each data-quality defect.
"""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sources.connector import ChangeSet, Connector, Page
from sources.records import (
    Account,
    Assignment,
    BillingSchedule,
    BillingScheduleLine,
    Contact,
    Customer,
    Expense,
    Invoice,
    Job,
    Milestone,
    Opportunity,
    Payment,
    Project,
    PsaUser,
    Record,
    SourceSystem,
    StaffingRequest,
    TimeEntry,
    TimePosting,
    TimeProject,
    TimeUser,
    Worker,
)
from sources.time.summary import ProjectTimeSummary

CRM, PSA, HCM, ERP, TIME = (
    SourceSystem.CRM,
    SourceSystem.PSA,
    SourceSystem.HCM,
    SourceSystem.ERP,
    SourceSystem.TIME,
)
TODAY = dt.date(2025, 6, 30)


@dataclass(frozen=True)
class Call:
    system: SourceSystem
    method: str
    entity: str
    size: int  # ids asked for, or items returned by a page


class FakeConnector(Connector):
    """A connector over lists of records: `get_many` batches at `batch_limit`, `list`
    pages with offset cursors and applies equality, list and date filters."""

    def __init__(
        self,
        system: SourceSystem,
        records: Mapping[str, Sequence[Record]],
        *,
        batch_limit: int = 100,
        max_page: int = 100,
        log: list[Call] | None = None,
    ) -> None:
        self.system = system  # type: ignore[misc]
        self.records = {entity: list(items) for entity, items in records.items()}
        self.batch_limit = batch_limit  # type: ignore[misc]
        self.max_page = max_page
        self.calls: list[Call] = log if log is not None else []
        self.failure: Exception | None = None  # raised by every call: a SourceError, or a bug
        self.delay = 0.0
        self.closed = False

    @property
    def entities(self) -> Mapping[str, type[Record]]:  # type: ignore[override]
        return {
            entity: type(items[0]) if items else Record for entity, items in self.records.items()
        }

    async def _enter(self, method: str, entity: str, size: int) -> None:
        self.calls.append(Call(self.system, method, entity, size))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failure is not None:
            raise self.failure

    async def get_many(self, entity: str, ids: Sequence[str]) -> builtins.list[Record | None]:
        by_id = {r.id: r for r in self.records[entity]}
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), self.batch_limit):
            await self._enter("get_many", entity, len(wanted[start : start + self.batch_limit]))
        return [by_id.get(i) for i in ids]

    async def list(
        self,
        entity: str,
        filters: Mapping[str, Any] | None = None,
        *,
        page_size: int = 100,
        cursor: str | None = None,
    ) -> Page[Record]:
        prepared = {
            name: {str(v) for v in value} if isinstance(value, list | tuple | set) else value
            for name, value in (filters or {}).items()
        }
        matching = [r for r in self.records[entity] if _matches(r, prepared)]
        size = max(1, min(page_size, self.max_page))
        offset = int(cursor) if cursor else 0
        items = matching[offset : offset + size]
        await self._enter("list", entity, len(items))
        following = offset + size
        return Page(items, str(following) if following < len(matching) else None, len(matching))

    async def changes(self, entity: str, cursor: str | None) -> ChangeSet[Record]:
        return ChangeSet([], cursor or "0")

    async def aclose(self) -> None:
        self.closed = True

    def calls_to(self, method: str | None = None) -> builtins.list[Call]:
        return [c for c in self.calls if method is None or c.method == method]


def _matches(record: Record, filters: Mapping[str, Any]) -> bool:
    fields: Any = record  # filters name fields of the record's own type
    for name, wanted in filters.items():
        if name == "search":
            if str(wanted).casefold() not in str(getattr(record, "name", "")).casefold():
                return False
        elif name == "from":
            if fields.date < wanted:
                return False
        elif name == "to":
            if fields.date > wanted:
                return False
        elif name == "skill":
            if wanted not in fields.skills:
                return False
        elif isinstance(wanted, set):
            if str(getattr(record, name)) not in wanted:
                return False
        elif str(getattr(record, name)) != str(wanted):
            return False
    return True


class FakeErp(FakeConnector):
    async def receivables(self, customer_ids: Sequence[str]) -> dict[str, Decimal]:
        await self._enter("receivables", "invoice", len(customer_ids))
        wanted = set(customer_ids)
        out: dict[str, Decimal] = {}
        for invoice in self.records["invoice"]:
            assert isinstance(invoice, Invoice)
            if invoice.customer_id in wanted and invoice.status in ("POSTED", "BLOCKED"):
                out[invoice.customer_id] = out.get(invoice.customer_id, Decimal(0)) + invoice.amount
        return out

    async def scheduled_jobs(self, job_ids: Sequence[str]) -> dict[str, bool]:
        await self._enter("scheduled_jobs", "billing_schedule", len(job_ids))
        schedules = self.records["billing_schedule"]
        found = {s.job_id for s in schedules if isinstance(s, BillingSchedule)}
        return {job_id: job_id in found for job_id in job_ids}

    async def invoiced_totals(self, job_ids: Sequence[str]) -> dict[str, Decimal]:
        await self._enter("invoiced_totals", "invoice", len(job_ids))
        wanted = set(job_ids)
        out: dict[str, Decimal] = {}
        for invoice in self.records["invoice"]:
            assert isinstance(invoice, Invoice)
            if invoice.job_id in wanted and invoice.status != "VOID":
                out[invoice.job_id] = out.get(invoice.job_id, Decimal(0)) + invoice.amount
        return out


class FakeTime(FakeConnector):
    rate = Decimal("100")
    team_report_approves = True  # False: a team report like Harvest's own, without them

    async def approved_billable_hours(
        self, date_from: dt.date, date_to: dt.date
    ) -> dict[str, float] | None:
        await self._enter("approved_billable_hours", "time_entry", 0)
        if not self.team_report_approves:
            return None
        hours: dict[str, float] = {}
        for entry in self.records["time_entry"]:
            assert isinstance(entry, TimeEntry)
            counted = entry.billable and entry.status in ("APPROVED", "INVOICED")
            if counted and date_from <= entry.date <= date_to:
                hours[entry.user_id] = hours.get(entry.user_id, 0.0) + entry.hours
        return hours

    async def project_summaries(
        self, date_from: dt.date, date_to: dt.date
    ) -> dict[str, ProjectTimeSummary]:
        await self._enter("project_summaries", "time_entry", 0)
        by_project: dict[str, list[TimeEntry]] = {}
        for entry in self.records["time_entry"]:
            assert isinstance(entry, TimeEntry)
            if date_from <= entry.date <= date_to:
                by_project.setdefault(entry.project_id, []).append(entry)
        out = {}
        for project_id, entries in by_project.items():
            billable = [e for e in entries if e.billable]
            approved = [e for e in entries if e.status in ("APPROVED", "INVOICED")]
            open_ = [e for e in billable if e.status == "APPROVED"]
            out[project_id] = ProjectTimeSummary(
                project_id=project_id,
                total_hours=sum(e.hours for e in entries),
                billable_hours=sum(e.hours for e in billable),
                approved_hours=sum(e.hours for e in approved),
                uninvoiced_hours=sum(e.hours for e in open_),
                uninvoiced_amount=self.rate * Decimal(str(sum(e.hours for e in open_))),
                billable_amount=self.rate * Decimal(str(sum(e.hours for e in billable))),
                currency="USD",
            )
        return out


@dataclass
class Firm:
    """The records of each system, and the connectors serving them."""

    records: dict[SourceSystem, dict[str, list[Record]]]
    log: list[Call] = field(default_factory=list)
    connectors: dict[SourceSystem, FakeConnector] = field(default_factory=dict)

    def __post_init__(self) -> None:
        limits = {CRM: 200, PSA: 50, HCM: 100, ERP: 100, TIME: 100}
        kinds: dict[SourceSystem, type[FakeConnector]] = {ERP: FakeErp, TIME: FakeTime}
        for system, records in self.records.items():
            kind = kinds.get(system, FakeConnector)
            self.connectors[system] = kind(
                system, records, batch_limit=limits[system], max_page=200, log=self.log
            )

    def one(self, system: SourceSystem, entity: str, record_id: str) -> Record:
        return next(r for r in self.records[system][entity] if r.id == record_id)


def account_id(n: int) -> str:
    return f"001A{n:014d}"


def firm(n_projects: int = 3) -> Firm:
    """Clients own two projects each; project 1 lacks a finance code; the last client's
    ERP name differs from its CRM name and it has a duplicate ERP customer; the second
    job lacks a billing schedule."""
    n_clients = max(1, (n_projects + 1) // 2)
    accounts = [
        Account(
            id=account_id(c),
            name=f"Client {c}",
            industry="Retail",
            region="EMEA",
            owner="Pat Owner",
            url=f"https://crm.example/{account_id(c)}",
        )
        for c in range(n_clients)
    ]
    contacts = [
        Contact(id=f"003C{c}", account_id=account_id(c), name=f"Contact {c}")
        for c in range(n_clients)
    ]
    opportunities = [
        Opportunity(
            id=f"006O{p:014d}",
            account_id=account_id(p // 2),
            name=f"Deal {p}",
            stage="CLOSED_WON",
            amount=Decimal("100000"),
            close_date=dt.date(2025, 1, 1),
            practice="Data",
            region="EMEA",
        )
        for p in range(n_projects)
    ] + [
        Opportunity(
            id="006OPEN",
            account_id=account_id(0),
            name="Open deal",
            stage="PROSPECTING",
            amount=Decimal("5000"),
        )
    ]
    workers = [
        Worker(
            id=f"W{w}",
            name=f"Person {w}",
            email=f"person{w}@firm.example",
            title="Consultant",
            practice="Data" if w % 2 == 0 else "Cloud",
            location="London",
            skills=["python"] if w % 2 == 0 else ["aws"],
            cost_rate=Decimal("50"),
            bill_rate=Decimal("100"),
            manager_id="W0" if w else None,
            weekly_capacity_hours=40.0,
        )
        for w in range(4)
    ]
    psa_users = [
        PsaUser(
            id=f"U{w}",
            name=f"Person {w}" if w != 3 else "P. Three",
            email=f"person{w}@firm.example",
            employee_number=f"W{w}",
        )
        for w in range(4)
    ]
    time_users = [
        TimeUser(id=f"T{w}", name=f"Person {w}", email=f"person{w}@firm.example") for w in range(4)
    ]
    projects: list[Project] = []
    jobs: list[Job] = []
    schedules: list[BillingSchedule] = []
    milestones: list[Milestone] = []
    assignments: list[Assignment] = []
    requests: list[StaffingRequest] = []
    time_projects: list[TimeProject] = []
    entries: list[TimeEntry] = []
    invoices: list[Invoice] = []
    postings: list[TimePosting] = []
    customers = [
        Customer(
            id=f"C{c}",
            name=f"Client {c}",
            crm_account_id=account_id(c),
            payment_terms="Net 30",
            credit_status="GOOD",
        )
        for c in range(n_clients)
    ]
    last = n_clients - 1
    customers[last] = customers[last].model_copy(update={"name": f"Client {last} Ltd"})
    customers.append(
        Customer(
            id=f"C{last}dup",
            name=f"Client {last}",
            crm_account_id=account_id(last),
            payment_terms="Net 60",
            credit_status="WATCH",
        )
    )
    for p in range(n_projects):
        has_job = p != 1
        project_id, job_id, code = f"P{p}", f"J{p}", f"PRJ-{p:05d}"
        projects.append(
            Project(
                id=project_id,
                code=code,
                name=f"Project {p}",
                status="ACTIVE" if p % 3 else "COMPLETED",
                crm_account_id=account_id(p // 2),
                crm_opportunity_id=f"006O{p:014d}",
                erp_job_id=job_id if has_job else None,
                practice="Data",
                region="EMEA",
                start_date=dt.date(2025, 1, 1),
                budget=Decimal("10000"),
                manager_user_id="U0",
                url=f"https://psa.example/workspaces/{project_id}",
            )
        )
        milestones.extend(
            Milestone(
                id=f"M{p}-{m}",
                project_id=project_id,
                name=f"Milestone {m}",
                due_date=dt.date(2025, 3, m + 1),
                status="OPEN",
                amount=Decimal("1000"),
            )
            for m in range(2)
        )
        assignments.extend(
            Assignment(
                id=f"A{p}-{u}",
                project_id=project_id,
                user_id=f"U{u}",
                role="Consultant",
                hours_per_week=20.0,
            )
            for u in (0, 1)
        )
        requests.append(
            StaffingRequest(
                id=f"S{p}", project_id=project_id, role="Analyst", skills=["sql"], status="OPEN"
            )
        )
        time_projects.append(TimeProject(id=f"TP{p}", code=code, name=f"Project {p}"))
        for e in range(3):
            status = ("APPROVED", "INVOICED", "SUBMITTED")[e]
            entries.append(
                TimeEntry(
                    id=f"E{p}-{e}",
                    user_id=f"T{e % 2}",
                    project_id=f"TP{p}",
                    project_code=code,
                    date=dt.date(2025, 6, 2 + e),
                    hours=8.0,
                    billable=True,
                    status=status,
                    is_billed=status == "INVOICED",
                )
            )
        if has_job:
            jobs.append(
                Job(
                    id=job_id,
                    customer_id=f"C{p // 2}",
                    name=f"Project {p}",
                    psa_project_id=project_id,
                )
            )
            if p != 2:
                schedules.append(
                    BillingSchedule(
                        id=f"B{p}",
                        job_id=job_id,
                        kind="FIXED_FEE",
                        lines=[
                            BillingScheduleLine(date=dt.date(2025, 7, 1), amount=Decimal("5000"))
                        ],
                    )
                )
            for i in range(2):
                invoices.append(
                    Invoice(
                        id=f"I{p}-{i}",
                        number=f"INV-{p}-{i}",
                        customer_id=f"C{p // 2}",
                        job_id=job_id,
                        status=("POSTED", "PAID")[i],
                        amount=Decimal("800"),
                        issue_date=dt.date(2025, 5, 1 + i),
                    )
                )
            postings.append(
                TimePosting(
                    id=f"TB{p}",
                    time_entry_id=f"E{p}-1",
                    job_id=job_id,
                    customer_id=f"C{p // 2}",
                    hours=8.0,
                    amount=Decimal("800"),
                    work_date=dt.date(2025, 6, 3),
                    invoice_id=f"I{p}-0",
                )
            )
    payments = [
        Payment(
            id="PAY1",
            invoice_id="I0-1",
            customer_id="C0",
            amount=Decimal("800"),
            received_on=dt.date(2025, 6, 1),
        )
    ]
    expenses = [
        Expense(
            id="X1",
            user_id="T0",
            project_id="TP0",
            project_code="PRJ-00000",
            date=dt.date(2025, 6, 2),
            amount=Decimal("40"),
            billable=True,
            status="APPROVED",
        )
    ]
    listed: dict[SourceSystem, dict[str, Sequence[Record]]] = {
        CRM: {"account": accounts, "opportunity": opportunities, "contact": contacts},
        PSA: {
            "project": projects,
            "milestone": milestones,
            "assignment": assignments,
            "staffing_request": requests,
            "user": psa_users,
        },
        HCM: {"worker": workers},
        ERP: {
            "customer": customers,
            "job": jobs,
            "billing_schedule": schedules,
            "invoice": invoices,
            "payment": payments,
            "time_posting": postings,
        },
        TIME: {
            "time_entry": entries,
            "expense": expenses,
            "user": time_users,
            "project": time_projects,
        },
    }
    return Firm(
        {
            system: {entity: list(items) for entity, items in by.items()}
            for system, by in listed.items()
        }
    )

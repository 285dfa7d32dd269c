"""The generated firm: one truth, with each object's native id in every system that holds it.

The generator (`sandboxes.world.generate`) fills a `World`; each sandbox projects its own
slice of it into its vendor's shape. Links between systems are carried by the ids here,
exactly as the real systems keep them:

- the ERP customer's external id is the CRM account id;
- the PSA workspace carries the CRM opportunity id and the ERP job id (finance code);
- TIME's project code is the PSA workspace code;
- the HCM worker id is the PSA user's employee number; TIME users match by work email.

Every object's `key` is its position in its `World` tuple, so `world.clients[k]` is the
client with key k. `World.defects` records every injected data-quality defect so tests
know them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class Client:
    key: int
    name: str
    industry: str
    region: str
    owner: str
    crm_id: str  # Salesforce Account id, 18 chars, prefix 001
    erp_id: str  # NetSuite customer internal id
    payment_terms: str  # e.g. "Net 30"
    credit_status: str  # GOOD, WATCH, HOLD
    currency: str
    modified_at: datetime
    duplicate_erp_id: str | None = None  # defect: a second ERP customer for the same account


@dataclass(frozen=True)
class Contact:
    key: int
    client_key: int
    name: str
    email: str
    crm_id: str  # prefix 003


@dataclass(frozen=True)
class Opportunity:
    key: int
    client_key: int
    name: str
    stage: str  # PROSPECTING QUALIFICATION PROPOSAL NEGOTIATION CLOSED_WON CLOSED_LOST
    amount: Decimal
    currency: str
    close_date: date
    practice: str
    region: str
    contract_type: str  # FIXED_FEE TIME_AND_MATERIALS MILESTONE
    crm_id: str  # prefix 006
    modified_at: datetime
    project_key: int | None = None  # set when a project exists for it


@dataclass(frozen=True)
class Person:
    key: int
    name: str
    email: str  # work email; how TIME users are matched
    title: str
    practice: str
    location: str
    cost_center: str
    skills: tuple[str, ...]
    cost_rate: Decimal  # per hour
    bill_rate: Decimal  # per hour
    currency: str
    manager_key: int | None
    hcm_id: str  # Workday worker id; the PSA user's employee number
    psa_user_id: str
    time_user_id: str
    weekly_capacity_hours: float
    modified_at: datetime


@dataclass(frozen=True)
class Project:
    key: int
    client_key: int
    opportunity_key: int
    code: str  # e.g. "PRJ-00042"; TIME's project code
    name: str
    status: str  # PLANNED ACTIVE ON_HOLD COMPLETED CANCELLED
    practice: str
    region: str
    start_date: date
    end_date: date
    budget: Decimal
    currency: str
    contract_type: str
    manager_key: int
    psa_id: str  # Kantata workspace id
    time_project_id: str  # Harvest project id
    erp_job_id: str | None  # None: defect, no finance code
    modified_at: datetime


@dataclass(frozen=True)
class BillingScheduleLine:
    date: date
    amount: Decimal
    milestone_key: int | None = None


@dataclass(frozen=True)
class BillingSchedule:
    key: int
    project_key: int
    kind: str  # FIXED_FEE TIME_AND_MATERIALS MILESTONE
    lines: tuple[BillingScheduleLine, ...]
    erp_id: str


@dataclass(frozen=True)
class Milestone:
    key: int
    project_key: int
    name: str
    due_date: date
    status: str  # OPEN COMPLETED BILLED
    amount: Decimal
    completed_at: datetime | None
    psa_id: str  # Kantata story id (story_type milestone)
    modified_at: datetime


@dataclass(frozen=True)
class Assignment:
    key: int
    project_key: int
    person_key: int
    role: str
    hours_per_week: float
    start_date: date
    end_date: date
    psa_id: str


@dataclass(frozen=True)
class StaffingRequest:
    key: int
    project_key: int
    role: str
    skills: tuple[str, ...]
    hours_per_week: float
    start_date: date
    status: str  # OPEN FILLED CANCELLED
    assigned_person_key: int | None
    psa_id: str


@dataclass(frozen=True)
class TimeEntry:
    key: int
    person_key: int
    project_key: int
    date: date
    hours: float
    billable: bool
    status: str  # DRAFT SUBMITTED APPROVED REJECTED INVOICED
    notes: str
    approved_at: datetime | None
    invoice_key: int | None  # set when INVOICED
    time_id: str  # Harvest time entry id
    erp_posting_id: str | None  # set when approved hours were posted to the ERP
    modified_at: datetime


@dataclass(frozen=True)
class Expense:
    key: int
    person_key: int
    project_key: int
    date: date
    amount: Decimal
    currency: str
    billable: bool
    status: str  # SUBMITTED APPROVED REJECTED INVOICED
    category: str
    time_id: str
    modified_at: datetime


@dataclass(frozen=True)
class Invoice:
    key: int
    client_key: int
    project_key: int | None
    number: str
    status: str  # DRAFT POSTED PAID VOID BLOCKED
    amount: Decimal
    currency: str
    issue_date: date
    due_date: date
    paid_at: datetime | None
    blocked_reason: str | None
    erp_id: str
    modified_at: datetime


@dataclass(frozen=True)
class Payment:
    key: int
    invoice_key: int
    amount: Decimal
    currency: str
    received_on: date
    erp_id: str


@dataclass(frozen=True)
class Defects:
    """Keys of the objects carrying each injected data-quality defect."""

    projects_without_finance_code: frozenset[int]
    projects_without_billing_schedule: frozenset[int]  # have a finance code, no schedule
    approved_time_on_closed_project: frozenset[int]  # time entry keys
    duplicate_customers: frozenset[int]  # client keys with a second ERP customer
    blocked_invoices: frozenset[int]
    # Not injected but kept as found: people booked over their weekly capacity from today
    # on (assignment is by fit, not free time).
    overbooked_people: frozenset[int] = frozenset()


@dataclass(frozen=True)
class World:
    seed: int
    scale: float
    today: date
    subsidiary_ids: tuple[str, ...]
    currencies: tuple[str, ...]
    clients: tuple[Client, ...]
    contacts: tuple[Contact, ...]
    opportunities: tuple[Opportunity, ...]
    people: tuple[Person, ...]
    projects: tuple[Project, ...]
    billing_schedules: tuple[BillingSchedule, ...]
    milestones: tuple[Milestone, ...]
    assignments: tuple[Assignment, ...]
    staffing_requests: tuple[StaffingRequest, ...]
    time_entries: tuple[TimeEntry, ...]
    expenses: tuple[Expense, ...]
    invoices: tuple[Invoice, ...]
    payments: tuple[Payment, ...]
    defects: Defects

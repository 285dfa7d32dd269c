"""Canonical records: what every connector returns, whatever its vendor's shape.

Each record is one system's view of one object, keyed by that system's native id
(`id`). Links to other systems are the references that system itself keeps
(`crm_account_id` on an ERP customer, `crm_opportunity_id` on a PSA project, ...).
Merging views of the same object across systems is the gateway's job, not ours.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from sources.registry import BUILT_IN
from sources.system_name import SourceSystem as SourceSystem

for _spec in BUILT_IN:  # in declaration order: the order systems are listed in
    SourceSystem.declare(_spec.name)
SourceSystem.CRM = SourceSystem("CRM")
SourceSystem.PSA = SourceSystem("PSA")
SourceSystem.HCM = SourceSystem("HCM")
SourceSystem.ERP = SourceSystem("ERP")
SourceSystem.TIME = SourceSystem("TIME")


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    modified_at: dt.datetime | None = None
    url: str | None = None  # deep link into the vendor's UI, where it has one


# --- CRM -----------------------------------------------------------------------------


class Account(Record):
    name: str
    industry: str | None = None
    region: str | None = None
    owner: str | None = None


class Opportunity(Record):
    account_id: str
    name: str
    stage: str  # PROSPECTING QUALIFICATION PROPOSAL NEGOTIATION CLOSED_WON CLOSED_LOST
    amount: Decimal | None = None
    currency: str = "USD"
    close_date: dt.date | None = None
    practice: str | None = None
    region: str | None = None
    contract_type: str | None = None  # FIXED_FEE TIME_AND_MATERIALS MILESTONE
    psa_project_id: str | None = None  # written back by quote-to-project


class Contact(Record):
    account_id: str
    name: str
    email: str | None = None


# --- PSA -----------------------------------------------------------------------------


class Project(Record):
    code: str
    name: str
    status: str  # PLANNED ACTIVE ON_HOLD COMPLETED CANCELLED
    crm_account_id: str | None = None
    crm_opportunity_id: str | None = None
    erp_job_id: str | None = None
    practice: str | None = None
    region: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    budget: Decimal | None = None
    currency: str = "USD"
    manager_user_id: str | None = None


class Milestone(Record):
    project_id: str
    name: str
    due_date: dt.date | None = None
    status: str  # OPEN COMPLETED BILLED
    amount: Decimal | None = None
    currency: str = "USD"
    completed_at: dt.datetime | None = None


class Assignment(Record):
    project_id: str
    user_id: str
    role: str | None = None
    hours_per_week: float | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None


class StaffingRequest(Record):
    project_id: str
    role: str
    skills: list[str] = []
    hours_per_week: float | None = None
    start_date: dt.date | None = None
    status: str  # OPEN FILLED CANCELLED
    assigned_user_id: str | None = None


class PsaUser(Record):
    name: str
    email: str | None = None
    employee_number: str | None = None  # the HCM worker id


# --- HCM -----------------------------------------------------------------------------


class Worker(Record):
    name: str
    email: str | None = None
    title: str | None = None
    practice: str | None = None
    location: str | None = None
    cost_center: str | None = None
    skills: list[str] = []
    cost_rate: Decimal | None = None
    bill_rate: Decimal | None = None
    currency: str = "USD"
    manager_id: str | None = None
    weekly_capacity_hours: float = 40.0
    active: bool = True  # false once the person has left (terminated in the HCM)


# --- ERP -----------------------------------------------------------------------------


class Customer(Record):
    name: str
    crm_account_id: str | None = None  # the ERP external id
    payment_terms: str | None = None
    credit_status: str | None = None
    currency: str = "USD"
    subsidiary_id: str | None = None


class Job(Record):
    """An ERP project/job; its id is the finance code."""

    customer_id: str
    name: str
    psa_project_id: str | None = None  # the ERP external id
    status: str | None = None


class BillingScheduleLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    date: dt.date | None = None
    amount: Decimal
    milestone_id: str | None = None


class BillingSchedule(Record):
    job_id: str
    kind: str  # FIXED_FEE TIME_AND_MATERIALS MILESTONE
    lines: list[BillingScheduleLine] = []


class Invoice(Record):
    number: str | None = None
    customer_id: str
    job_id: str | None = None
    status: str  # DRAFT POSTED PAID VOID BLOCKED
    amount: Decimal
    currency: str = "USD"
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    paid_at: dt.datetime | None = None
    blocked_reason: str | None = None


class Payment(Record):
    invoice_id: str
    customer_id: str
    amount: Decimal
    currency: str = "USD"
    received_on: dt.date


class TimePosting(Record):
    """Approved hours posted to the ERP for billing, keyed by the TIME entry id."""

    time_entry_id: str
    job_id: str
    customer_id: str
    hours: float
    amount: Decimal
    currency: str = "USD"
    practice: str | None = None
    region: str | None = None
    work_date: dt.date
    invoice_id: str | None = None


# --- TIME ----------------------------------------------------------------------------


class TimeEntry(Record):
    user_id: str
    project_id: str  # the TIME project id
    project_code: str  # the PSA project code
    date: dt.date
    hours: float
    billable: bool
    status: str  # DRAFT SUBMITTED APPROVED REJECTED INVOICED
    notes: str | None = None
    approved_at: dt.datetime | None = None
    is_billed: bool = False
    external_reference: str | None = None


class Expense(Record):
    user_id: str
    project_id: str
    project_code: str
    date: dt.date
    amount: Decimal
    currency: str = "USD"
    billable: bool
    status: str
    category: str | None = None


class TimeUser(Record):
    name: str
    email: str


class TimeProject(Record):
    code: str  # the PSA project code
    name: str
    client_name: str | None = None
    is_active: bool = True

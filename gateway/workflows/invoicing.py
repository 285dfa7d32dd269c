"""Invoicing: an ERP invoice for a project's approved, unbilled time and its completed,
unbilled milestones up to a date; the invoiced time is then marked billed in TIME.

    collect (ERP) ── invoice (ERP) ── mark_billed (TIME)

The invoice is created under an idempotency key stable across attempts (the workflow's
own), so a repeat after a lost answer returns the same invoice. Milestones billed before
(by completeMilestone, whose ERP invoice carries the milestone's external id) are left
out, so nothing is billed twice. What is billed follows the job's billing schedule:
time-and-materials jobs bill time, milestone jobs bill milestones, and fixed-fee jobs
bill by their schedule in the ERP itself (nothing here). Nothing to bill ends the
workflow with no invoice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from functools import partial
from typing import Any

from gateway.workflows.business import BusinessError, record_data_quality
from gateway.workflows.context import StepContext
from gateway.workflows.definition import OnFailure, Step, WorkflowDefinition
from gateway.workflows.keys import BusinessKey
from gateway.workflows.lookups import billing_kind, time_project
from gateway.workflows.retry import RetryPolicy
from gateway.workflows.systems import Systems
from gateway.workflows.values import date_of, decimal_of, money
from sources.erp.connector import InvoiceLine
from sources.erp.mapping import milestone_invoice_external_id
from sources.records import Job, Milestone, Project, TimeEntry, TimePosting

KIND = "generate_invoice"
TIME_AND_MATERIALS = "TIME_AND_MATERIALS"
MILESTONE = "MILESTONE"
PAGE = 1000


def invoice_input(project_id: str, through: dt.date) -> dict[str, Any]:
    return {"project_id": project_id, "through": through.isoformat()}


def business_key(input: Mapping[str, Any]) -> BusinessKey:
    """One invoice per project and billing period end."""
    return BusinessKey(KIND, f"{input['project_id']}:{input['through']}")


async def collect(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    project_id = ctx.input["project_id"]
    through = date_of(ctx.input["through"])
    assert through is not None
    project = (await systems.psa.get_many("project", [project_id]))[0]
    if not isinstance(project, Project):
        raise BusinessError("UNKNOWN_PROJECT", f"PSA has no project {project_id}")
    if not project.erp_job_id:
        await record_data_quality(
            ctx.store,
            code="MISSING_FINANCE_CODE",
            system="PSA",
            object_type="Project",
            object_id=project.id,
            details={"invoiceThrough": ctx.input["through"]},
            workflow_id=ctx.workflow_id,
            principal=ctx.principal,
        )
        raise BusinessError(
            "MISSING_FINANCE_CODE", f"project {project.code} has no finance code to invoice"
        )
    job = (await systems.erp.get_many("job", [project.erp_job_id]))[0]
    if not isinstance(job, Job):
        raise BusinessError("UNKNOWN_JOB", f"the ERP has no job {project.erp_job_id}")
    try:
        kind = await billing_kind(systems, job.id)
    except BusinessError as error:
        await record_data_quality(
            ctx.store,
            code=error.code,
            system="ERP",
            object_type="Project",
            object_id=project.id,
            details={"job": job.id},
            workflow_id=ctx.workflow_id,
            principal=ctx.principal,
        )
        raise
    postings: list[TimePosting] = []
    milestones: list[Milestone] = []
    if kind == TIME_AND_MATERIALS:
        found, billable = await asyncio.gather(
            _unbilled_postings(systems, job.id, through), _billable_entries(systems, project.code)
        )
        # The ERP refuses non-billable time on an invoice; TIME says which entries are.
        postings = [p for p in found if p.time_entry_id in billable]
    elif kind == MILESTONE:
        milestones = await _unbilled_milestones(systems, project.id, through)
    return {
        "project_code": project.code,
        "billing": kind,
        "job_id": job.id,
        "customer_id": job.customer_id,
        "postings": [
            {"id": p.id, "time_entry_id": p.time_entry_id, "amount": money(p.amount)}
            for p in postings
        ],
        "milestones": [{"id": m.id, "name": m.name, "amount": money(m.amount)} for m in milestones],
    }


async def _unbilled_postings(systems: Systems, job_id: str, through: dt.date) -> list[TimePosting]:
    found: list[TimePosting] = []
    cursor: str | None = None
    while True:
        page = await systems.erp.list(
            "time_posting", {"job_id": job_id}, page_size=PAGE, cursor=cursor
        )
        found.extend(
            p
            for p in page.items
            if isinstance(p, TimePosting) and p.invoice_id is None and p.work_date <= through
        )
        if page.next_cursor is None:
            return sorted(found, key=lambda p: (p.work_date, p.id))
        cursor = page.next_cursor


async def _billable_entries(systems: Systems, code: str) -> set[str]:
    """Ids of the project's approved, billable entries not yet billed in TIME."""
    project = await time_project(systems, code)
    found: set[str] = set()
    cursor: str | None = None
    filters = {"project_id": project.id, "is_billed": False}
    while True:
        page = await systems.time.list("time_entry", filters, page_size=PAGE, cursor=cursor)
        found.update(
            e.id
            for e in page.items
            if isinstance(e, TimeEntry) and e.billable and e.status == "APPROVED"
        )
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


async def _unbilled_milestones(
    systems: Systems, project_id: str, through: dt.date
) -> list[Milestone]:
    page = await systems.psa.list("milestone", {"project_id": project_id}, page_size=200)
    done = [
        m
        for m in page.items
        if isinstance(m, Milestone)
        and m.status == "COMPLETED"
        and m.amount
        and (m.completed_at.date() if m.completed_at else m.due_date or through) <= through
    ]
    billed = await asyncio.gather(
        *(
            systems.erp.find_by_external_id("invoice", milestone_invoice_external_id(m.id))
            for m in done
        )
    )
    return [m for m, invoice in zip(done, billed, strict=True) if invoice is None]


async def create_invoice(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    plan = ctx.outputs["collect"]
    lines = [InvoiceLine(time_posting_id=p["id"]) for p in plan["postings"]] + [
        InvoiceLine(amount=decimal_of(m["amount"]), description=m["name"], milestone_id=m["id"])
        for m in plan["milestones"]
    ]
    if not lines:
        return {"invoice_id": None, "number": None}
    invoice = await systems.erp.create_invoice(
        plan["job_id"], plan["customer_id"], lines, idempotency_key=ctx.idempotency_key
    )
    expected = sum((decimal_of(p["amount"]) or Decimal(0) for p in plan["postings"]), Decimal(0))
    ctx.audit(
        "erp.invoice.create",
        "ERP",
        "Invoice",
        invoice.id,
        None,
        {
            "number": invoice.number,
            "amount": money(invoice.amount),
            "timeAmount": money(expected),
            "timePostings": len(plan["postings"]),
            "milestones": [m["id"] for m in plan["milestones"]],
            "job": plan["job_id"],
            "through": ctx.input["through"],
        },
    )
    ctx.link("Invoice", invoice.id, "ERP", invoice.id)
    return {"invoice_id": invoice.id, "number": invoice.number or invoice.id}


async def mark_billed(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    invoice = ctx.outputs["invoice"]
    entries = [p["time_entry_id"] for p in ctx.outputs["collect"]["postings"]]
    if invoice["invoice_id"] is None or not entries:
        return {"time_entry_ids": []}
    await systems.time.mark_billed(entries, invoice["invoice_id"], invoice["number"])
    ctx.audit(
        "time.entry.billed",
        "TIME",
        "Invoice",
        invoice["invoice_id"],
        {"timeEntries": entries, "status": "APPROVED"},
        {"timeEntries": entries, "status": "INVOICED"},
    )
    return {"time_entry_ids": entries}


def _result(outputs: Mapping[str, Any]) -> dict[str, str] | None:
    invoice_id = outputs["invoice"]["invoice_id"]
    return {"type": "Invoice", "key": invoice_id} if invoice_id else None


def definition(systems: Systems, retry: RetryPolicy) -> WorkflowDefinition:
    return WorkflowDefinition(
        KIND,
        steps=[
            Step("collect", partial(collect, systems), system="ERP", retry=retry),
            Step(
                "invoice",
                partial(create_invoice, systems),
                after=["collect"],
                system="ERP",
                retry=retry,
            ),
            Step(
                "mark_billed",
                partial(mark_billed, systems),
                after=["invoice"],
                system="TIME",
                retry=retry,
            ),
        ],
        on_failure=OnFailure.PARK,
        result=_result,
        business_key=business_key,
    )

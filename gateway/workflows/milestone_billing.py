"""Milestone to billing: a milestone completed in PSA becomes a billing event in the ERP.

    complete (PSA) ── bill (ERP)

PSA returns a completed milestone unchanged, and the ERP upserts the milestone's invoice
under an external id derived from the milestone, so the milestone is billed once however
often the workflow runs. Only projects billed by milestone (their ERP billing schedule
says so) are billed here; the others bill their budget by time or by schedule. A
milestone on a project without a finance code or billing schedule parks the workflow as
a business exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from gateway.workflows.business import BusinessError, record_data_quality
from gateway.workflows.context import StepContext
from gateway.workflows.definition import OnFailure, Step, WorkflowDefinition
from gateway.workflows.keys import BusinessKey
from gateway.workflows.lookups import billing_kind
from gateway.workflows.retry import RetryPolicy
from gateway.workflows.systems import Systems
from gateway.workflows.values import decimal_of, money
from sources.records import Milestone, Project

KIND = "complete_milestone"
MILESTONE = "MILESTONE"


def milestone_input(milestone_id: str) -> dict[str, Any]:
    return {"milestone_id": milestone_id}


def business_key(input: Mapping[str, Any]) -> BusinessKey:
    """One billing per milestone, whether a person or the automation completes it."""
    return BusinessKey(KIND, input["milestone_id"])


async def complete(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    milestone_id = ctx.input["milestone_id"]
    before = (await systems.psa.get_many("milestone", [milestone_id]))[0]
    if not isinstance(before, Milestone):
        raise BusinessError("MILESTONE_NOT_FOUND", f"PSA has no milestone {milestone_id}")
    done = await systems.psa.complete_milestone(milestone_id)
    if before.status != done.status:
        ctx.audit(
            "psa.milestone.complete",
            "PSA",
            "Milestone",
            done.id,
            {"status": before.status},
            {"status": done.status},
        )
    return {
        "milestone_id": done.id,
        "project_id": done.project_id,
        "amount": money(done.amount),
        "currency": done.currency,
        "billed_before": before.status == "BILLED",
    }


async def bill(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    done = ctx.outputs["complete"]
    if done["billed_before"]:
        return {"invoice_id": None, "skipped": "the milestone was billed already"}
    amount = decimal_of(done["amount"])
    if amount is None or amount <= 0:
        raise BusinessError("NO_AMOUNT", f"milestone {done['milestone_id']} has no amount")
    project = (await systems.psa.get_many("project", [done["project_id"]]))[0]
    if not isinstance(project, Project):
        raise BusinessError("UNKNOWN_PROJECT", f"PSA has no project {done['project_id']}")
    if not project.erp_job_id:
        await _missing(ctx, "MISSING_FINANCE_CODE", project, done)
        raise BusinessError(
            "MISSING_FINANCE_CODE",
            f"project {project.code} has no finance code; milestone "
            f"{done['milestone_id']} cannot be billed",
        )
    try:
        kind = await billing_kind(systems, project.erp_job_id)
    except BusinessError as error:
        await _missing(ctx, error.code, project, done)
        raise
    if kind != MILESTONE:
        # Its budget is billed by time or by schedule: billing the milestone would bill twice.
        return {"invoice_id": None, "skipped": f"the project bills {kind}"}
    invoice = await systems.erp.record_milestone_billing(
        project.erp_job_id, done["milestone_id"], amount
    )
    ctx.audit(
        "erp.milestone.bill",
        "ERP",
        "Invoice",
        invoice.id,
        None,
        {"milestone": done["milestone_id"], "job": project.erp_job_id, "amount": money(amount)},
    )
    ctx.link("MilestoneInvoice", done["milestone_id"], "ERP", invoice.id)
    return {"invoice_id": invoice.id, "amount": money(invoice.amount)}


async def _missing(ctx: StepContext, code: str, project: Project, done: Mapping[str, Any]) -> None:
    await record_data_quality(
        ctx.store,
        code=code,
        system="ERP",
        object_type="Project",
        object_id=project.id,
        details={"milestone": done["milestone_id"], "amount": done["amount"]},
        workflow_id=ctx.workflow_id,
        principal=ctx.principal,
    )


def _result(outputs: Mapping[str, Any]) -> dict[str, str] | None:
    invoice_id = outputs["bill"].get("invoice_id")
    if invoice_id:
        return {"type": "Invoice", "key": invoice_id}
    return {"type": "Milestone", "key": outputs["complete"]["milestone_id"]}


def definition(systems: Systems, retry: RetryPolicy) -> WorkflowDefinition:
    return WorkflowDefinition(
        KIND,
        steps=[
            Step("complete", partial(complete, systems), system="PSA", retry=retry),
            Step("bill", partial(bill, systems), after=["complete"], system="ERP", retry=retry),
        ],
        on_failure=OnFailure.PARK,
        result=_result,
        business_key=business_key,
    )

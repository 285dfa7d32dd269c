"""Remedies for business exceptions (`gateway.visibility`) that a workflow can fix.

    finance code:      plan (PSA, CRM, ERP) ── job (ERP) ──┬── billing_schedule (ERP)
                                                           └── finance_code (PSA)
    billing schedule:  plan (ERP, PSA, CRM) ── billing_schedule (ERP)

The other remedies are workflows that exist already: approved time not posted is the
`approve_time` workflow for that entry (approving is idempotent, posting upserts by the
TIME entry id), and a parked workflow is retried. Every step here is safe to run again:
the ERP upserts the job by the PSA workspace id and the schedule by the job id, and the
PSA finance code is a plain update. The job of a project that had none gets its billing
schedule in the same run, so fixing one exception does not open the next.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import partial
from typing import Any

from gateway.workflows.business import BusinessError
from gateway.workflows.context import StepContext
from gateway.workflows.definition import OnFailure, Step, WorkflowDefinition
from gateway.workflows.plans import billing_lines
from gateway.workflows.retry import RetryPolicy
from gateway.workflows.systems import Systems
from gateway.workflows.values import date_of, decimal_of, iso, money
from sources.records import Account, Customer, Job, Milestone, Opportunity, Project

FINANCE_CODE = "remedy_finance_code"
BILLING_SCHEDULE = "remedy_billing_schedule"


def project_input(project_id: str) -> dict[str, Any]:
    return {"project_id": project_id}


async def _project(systems: Systems, project_id: str) -> Project:
    found = (await systems.psa.get_many("project", [project_id]))[0]
    if not isinstance(found, Project):
        raise BusinessError("PROJECT_NOT_FOUND", f"PSA has no project {project_id}")
    return found


async def _contract_type(systems: Systems, project: Project) -> str:
    if project.crm_opportunity_id:
        deal = (await systems.crm.get_many("opportunity", [project.crm_opportunity_id]))[0]
        if isinstance(deal, Opportunity) and deal.contract_type:
            return deal.contract_type
    return "TIME_AND_MATERIALS"


def _plan(project: Project, contract_type: str) -> dict[str, Any]:
    today = dt.date.today()
    start = project.start_date or today
    return {
        "project_id": project.id,
        "name": project.name,
        "code": project.code,
        "status": project.status,
        "currency": project.currency,
        "budget": money(project.budget) if project.budget is not None else None,
        "start_date": iso(start),
        "end_date": iso(max(project.end_date or start, start)),
        "contract_type": contract_type,
        "erp_job_id": project.erp_job_id,
    }


# --- finance code --------------------------------------------------------------------


async def plan_finance_code(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    project = await _project(systems, ctx.input["project_id"])
    if not project.crm_account_id:
        raise BusinessError("NO_CLIENT", f"project {project.code} names no CRM account")
    plan = _plan(project, await _contract_type(systems, project))
    customer = await systems.erp.find_by_external_id("customer", project.crm_account_id)
    if not isinstance(customer, Customer):
        account = (await systems.crm.get_many("account", [project.crm_account_id]))[0]
        if not isinstance(account, Account):
            raise BusinessError("ACCOUNT_NOT_FOUND", f"CRM has no account {project.crm_account_id}")
        fields = {"name": account.name, "currency": project.currency}
        customer = await systems.erp.ensure_customer(account.id, fields)
        ctx.audit("erp.customer.create", "ERP", "Customer", customer.id, None, fields)
    return {**plan, "customer_id": customer.id}


async def upsert_job(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    plan = ctx.outputs["plan"]
    fields = {
        "name": plan["name"],
        "code": plan["code"],
        "status": plan["status"],
        "start_date": date_of(plan["start_date"]),
        "end_date": date_of(plan["end_date"]),
        "currency": plan["currency"],
    }
    job = await systems.erp.upsert_job(plan["project_id"], plan["customer_id"], fields)
    ctx.audit(
        "erp.job.upsert", "ERP", "Job", job.id, None,
        {k: v if isinstance(v, str) or v is None else str(v) for k, v in fields.items()},
    )  # fmt: skip
    ctx.link("Project", plan["project_id"], "ERP", job.id)
    return {"job_id": job.id}


async def set_finance_code(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    project_id = ctx.outputs["plan"]["project_id"]
    job_id = ctx.outputs["job"]["job_id"]
    await systems.psa.set_workspace_finance_code(project_id, job_id)
    ctx.audit(
        "psa.workspace.finance_code", "PSA", "Project", project_id,
        {"erp_job_id": None}, {"erp_job_id": job_id},
    )  # fmt: skip
    return {"finance_code": job_id}


# --- billing schedule ----------------------------------------------------------------


async def plan_billing_schedule(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    project = await _project(systems, ctx.input["project_id"])
    if not project.erp_job_id:
        raise BusinessError("MISSING_FINANCE_CODE", f"project {project.code} has no ERP job")
    job = (await systems.erp.get_many("job", [project.erp_job_id]))[0]
    if not isinstance(job, Job):
        raise BusinessError("JOB_NOT_FOUND", f"ERP has no job {project.erp_job_id}")
    return _plan(project, await _contract_type(systems, project))


async def upsert_billing_schedule(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    plan = ctx.outputs["plan"]
    job_id = ctx.outputs["job"]["job_id"] if "job" in ctx.outputs else plan["erp_job_id"]
    budget = decimal_of(plan["budget"])
    if budget is None:
        raise BusinessError("NO_BUDGET", f"project {plan['code']} has no budget to bill")
    kind = plan["contract_type"]
    milestones: list[Milestone] = []
    if kind == "MILESTONE":
        page = await systems.psa.list(
            "milestone", {"project_id": plan["project_id"]}, page_size=200
        )
        milestones = [m for m in page.items if isinstance(m, Milestone)]
    start, end = date_of(plan["start_date"]), date_of(plan["end_date"])
    assert start is not None
    assert end is not None
    lines = billing_lines(kind, budget, start, end, milestones)
    schedule = await systems.erp.upsert_billing_schedule(job_id, kind, lines)
    after = {
        "kind": kind,
        "lines": [{"date": iso(line.date), "amount": money(line.amount)} for line in lines],
    }
    ctx.audit("erp.billing_schedule.upsert", "ERP", "BillingSchedule", schedule.id, None, after)
    ctx.link("BillingSchedule", plan["project_id"], "ERP", schedule.id)
    return {"billing_schedule_id": schedule.id, "lines": len(lines)}


def _result(outputs: Mapping[str, Any]) -> dict[str, str]:
    return {"type": "Project", "key": outputs["plan"]["project_id"]}


def definitions(systems: Systems, retry: RetryPolicy) -> list[WorkflowDefinition]:
    def step(name: str, run: Any, system: str, after: tuple[str, ...] = ()) -> Step:
        return Step(name, partial(run, systems), after=after, system=system, retry=retry)

    return [
        WorkflowDefinition(
            FINANCE_CODE,
            steps=[
                step("plan", plan_finance_code, "PSA"),
                step("job", upsert_job, "ERP", ("plan",)),
                step("billing_schedule", upsert_billing_schedule, "ERP", ("job",)),
                step("finance_code", set_finance_code, "PSA", ("job",)),
            ],
            on_failure=OnFailure.PARK,
            result=_result,
        ),
        WorkflowDefinition(
            BILLING_SCHEDULE,
            steps=[
                step("plan", plan_billing_schedule, "ERP"),
                step("billing_schedule", upsert_billing_schedule, "ERP", ("plan",)),
            ],
            on_failure=OnFailure.PARK,
            result=_result,
        ),
    ]

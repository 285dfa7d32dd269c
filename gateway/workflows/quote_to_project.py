"""Quote-to-project: a won opportunity becomes a staffed, billable project in every system.

    validate ──┬── customer (ERP) ──┐
               └── workspace (PSA) ─┴── job (ERP) ──┬── billing_schedule (ERP)
                        ├── staffing (PSA)          └── finance_code (PSA)
                        └── write_back (CRM)

Each step is safe to run again: the ERP upserts by external id (the CRM account id for
the customer, the PSA workspace id for the job), PSA looks before it creates (by the
opportunity id for the workspace, by an external reference per staffing request), and
the CRM write is a plain update. A step that fails for good parks the workflow for a
person; cancelling it then undoes what was made (the workspace and job are cancelled and
the CRM link cleared), so a half-made project is never left silently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import partial
from typing import Any

from gateway.workflows.business import BusinessError
from gateway.workflows.concurrently import concurrently
from gateway.workflows.context import StepContext
from gateway.workflows.definition import OnFailure, Step, WorkflowDefinition
from gateway.workflows.keys import BusinessKey
from gateway.workflows.plans import billing_lines, project_code, project_dates, staffing_plan
from gateway.workflows.retry import RetryPolicy
from gateway.workflows.systems import Systems
from gateway.workflows.values import date_of, decimal_of, iso, money
from sources.records import Account, Customer, Milestone, Opportunity, PsaUser, Worker

KIND = "quote_to_project"
WON = "CLOSED_WON"


def quote_input(
    opportunity_id: str, start_date: dt.date | None = None, manager_id: str | None = None
) -> dict[str, Any]:
    """The workflow input: the CRM opportunity id, and the HCM worker id of the manager."""
    return {
        "opportunity_id": opportunity_id,
        "start_date": iso(start_date),
        "manager_id": manager_id,
    }


def business_key(input: Mapping[str, Any]) -> BusinessKey:
    """One project per opportunity, however many people or automations ask for it."""
    return BusinessKey(KIND, input["opportunity_id"])


# --- steps ----------------------------------------------------------------------------


async def validate(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    """The opportunity must be won and have no project yet; fixes the plan for the rest."""
    opportunity_id = ctx.input["opportunity_id"]
    found = (await systems.crm.get_many("opportunity", [opportunity_id]))[0]
    if not isinstance(found, Opportunity):
        raise BusinessError("OPPORTUNITY_NOT_FOUND", f"CRM has no opportunity {opportunity_id}")
    if found.stage != WON:
        raise BusinessError(
            "NOT_CLOSED_WON", f"opportunity {found.id} is {found.stage}; only {WON} deals start"
        )
    if found.psa_project_id:
        raise BusinessError(
            "PROJECT_EXISTS",
            f"opportunity {found.id} already has PSA project {found.psa_project_id}",
        )
    if found.amount is None:
        raise BusinessError("NO_AMOUNT", f"opportunity {found.id} has no amount to budget")
    account = (await systems.crm.get_many("account", [found.account_id]))[0]
    if not isinstance(account, Account):
        raise BusinessError("ACCOUNT_NOT_FOUND", f"CRM has no account {found.account_id}")
    manager = await _manager(systems, ctx.input.get("manager_id"))
    start, end = project_dates(
        found.close_date, date_of(ctx.input.get("start_date")), today=dt.date.today()
    )
    return {
        "opportunity_id": found.id,
        "account_id": account.id,
        "account_name": account.name,
        "name": found.name,
        "amount": money(found.amount),
        "currency": found.currency,
        "practice": found.practice,
        "region": found.region or account.region,
        "contract_type": found.contract_type or "TIME_AND_MATERIALS",
        "code": project_code(found.id),
        "start_date": iso(start),
        "end_date": iso(end),
        "manager_user_id": manager,
        "staffing": [
            {"role": line.role, "skills": list(line.skills), "hours": line.hours_per_week}
            for line in staffing_plan(found.practice)
        ],
    }


async def _manager(systems: Systems, worker_id: str | None) -> str | None:
    """The PSA user of the HCM worker asked to manage the project."""
    if worker_id is None:
        return None
    worker = (await systems.hcm.get_many("worker", [worker_id]))[0]
    if not isinstance(worker, Worker):
        raise BusinessError("MANAGER_NOT_FOUND", f"HCM has no worker {worker_id}")
    page = await systems.psa.list("user", {"search": worker.name}, page_size=50)
    for user in page.items:
        if isinstance(user, PsaUser) and user.employee_number == worker.id:
            return user.id
    raise BusinessError("MANAGER_NOT_IN_PSA", f"worker {worker.id} has no PSA user")


async def ensure_customer(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    """The ERP customer whose external id is the CRM account; created only if missing,
    so the ERP's own terms and credit status are never overwritten."""
    plan = ctx.outputs["validate"]
    account_id = plan["account_id"]
    found = await systems.erp.find_by_external_id("customer", account_id)
    if isinstance(found, Customer):
        return {"customer_id": found.id, "created": False}
    fields = {"name": plan["account_name"], "currency": plan["currency"]}
    created = await systems.erp.ensure_customer(account_id, fields)
    ctx.audit("erp.customer.create", "ERP", "Customer", created.id, None, fields)
    ctx.link("Client", account_id, "ERP", created.id)
    return {"customer_id": created.id, "created": True}


async def create_workspace(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    plan = ctx.outputs["validate"]
    fields = _workspace_fields(plan)
    project = await systems.psa.create_workspace(fields, crm_opportunity_id=plan["opportunity_id"])
    ctx.audit("psa.workspace.create", "PSA", "Project", project.id, None, _jsonable(fields))
    ctx.link("Project", project.id, "PSA", project.id)
    return {"project_id": project.id, "code": project.code}


async def cancel_workspace(systems: Systems, ctx: StepContext) -> None:
    """Cancel the workspace and free the opportunity for a fresh start."""
    project_id = ctx.output["project_id"]
    plan = ctx.outputs["validate"]
    undo = {"status": "CANCELLED", "crm_opportunity_id": None}
    await systems.psa.update_workspace(project_id, undo)
    ctx.audit(
        "psa.workspace.cancel",
        "PSA",
        "Project",
        project_id,
        {"status": "PLANNED", "crm_opportunity_id": plan["opportunity_id"]},
        undo,
    )


def _workspace_fields(plan: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": plan["name"],
        "code": plan["code"],
        "status": "PLANNED",
        "crm_account_id": plan["account_id"],
        "practice": plan["practice"],
        "region": plan["region"],
        "start_date": date_of(plan["start_date"]),
        "end_date": date_of(plan["end_date"]),
        "budget": decimal_of(plan["amount"]),
        "currency": plan["currency"],
        "manager_user_id": plan["manager_user_id"],
    }


async def upsert_job(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    """The ERP job (its id is the finance code), keyed by the PSA workspace id."""
    plan = ctx.outputs["validate"]
    project_id = ctx.outputs["workspace"]["project_id"]
    customer_id = ctx.outputs["customer"]["customer_id"]
    fields = {
        "name": plan["name"],
        "code": plan["code"],
        "status": "PLANNED",
        "start_date": date_of(plan["start_date"]),
        "end_date": date_of(plan["end_date"]),
        "currency": plan["currency"],
    }
    job = await systems.erp.upsert_job(project_id, customer_id, fields)
    ctx.audit("erp.job.upsert", "ERP", "Job", job.id, None, _jsonable(fields))
    ctx.link("Project", project_id, "ERP", job.id)
    return {"job_id": job.id, "customer_id": customer_id}


async def close_job(systems: Systems, ctx: StepContext) -> None:
    project_id = ctx.outputs["workspace"]["project_id"]
    job_id = ctx.output["job_id"]
    await systems.erp.upsert_job(project_id, ctx.output["customer_id"], {"status": "CANCELLED"})
    ctx.audit(
        "erp.job.cancel", "ERP", "Job", job_id, {"status": "PLANNED"}, {"status": "CANCELLED"}
    )


async def upsert_billing_schedule(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    """From the contract type; milestone contracts bill the workspace's milestones."""
    plan = ctx.outputs["validate"]
    project_id = ctx.outputs["workspace"]["project_id"]
    job_id = ctx.outputs["job"]["job_id"]
    kind = plan["contract_type"]
    milestones: list[Milestone] = []
    if kind == "MILESTONE":
        page = await systems.psa.list("milestone", {"project_id": project_id}, page_size=200)
        milestones = [m for m in page.items if isinstance(m, Milestone)]
    budget = decimal_of(plan["amount"])
    assert budget is not None  # validate refuses opportunities without an amount
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
    ctx.link("BillingSchedule", project_id, "ERP", schedule.id)
    return {"billing_schedule_id": schedule.id, "lines": len(lines)}


async def raise_staffing_requests(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    """One request per planned role; each carries an external reference from the
    opportunity, so a repeat (by this workflow or any other) finds it instead of raising
    it again."""
    plan = ctx.outputs["validate"]
    project_id = ctx.outputs["workspace"]["project_id"]
    start = date_of(plan["start_date"])
    created = await concurrently(
        *(
            systems.psa.create_staffing_request(
                project_id,
                line["role"],
                line["skills"],
                line["hours"],
                start,
                external_ref=ctx.reference(index),
            )
            for index, line in enumerate(plan["staffing"])
        )
    )
    for request in created:
        ctx.audit(
            "psa.staffing_request.create",
            "PSA",
            "StaffingRequest",
            request.id,
            None,
            {"role": request.role, "project": project_id},
        )
    return {"staffing_request_ids": [request.id for request in created]}


async def set_finance_code(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    project_id = ctx.outputs["workspace"]["project_id"]
    job_id = ctx.outputs["job"]["job_id"]
    await systems.psa.set_workspace_finance_code(project_id, job_id)
    ctx.audit(
        "psa.workspace.finance_code",
        "PSA",
        "Project",
        project_id,
        {"erp_job_id": None},
        {"erp_job_id": job_id},
    )
    return {"finance_code": job_id}


async def write_back(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    opportunity_id = ctx.outputs["validate"]["opportunity_id"]
    project_id = ctx.outputs["workspace"]["project_id"]
    await systems.crm.set_opportunity_project(opportunity_id, project_id)
    ctx.audit(
        "crm.opportunity.project",
        "CRM",
        "Opportunity",
        opportunity_id,
        {"psa_project_id": None},
        {"psa_project_id": project_id},
    )
    return {"opportunity_id": opportunity_id, "project_id": project_id}


async def clear_write_back(systems: Systems, ctx: StepContext) -> None:
    opportunity_id = ctx.output["opportunity_id"]
    await systems.crm.update_opportunity(opportunity_id, {"psa_project_id": None})
    ctx.audit(
        "crm.opportunity.project",
        "CRM",
        "Opportunity",
        opportunity_id,
        {"psa_project_id": ctx.output["project_id"]},
        {"psa_project_id": None},
    )


def _jsonable(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: value if value is None or isinstance(value, str | int | float) else str(value)
        for name, value in fields.items()
    }


def _result(outputs: Mapping[str, Any]) -> dict[str, str]:
    return {"type": "Project", "key": outputs["workspace"]["project_id"]}


def definition(systems: Systems, retry: RetryPolicy) -> WorkflowDefinition:
    def step(name: str, run: Any, system: str, **options: Any) -> Step:
        compensate = options.pop("compensate", None)
        return Step(
            name,
            partial(run, systems),
            compensate=partial(compensate, systems) if compensate else None,
            system=system,
            retry=retry,
            **options,
        )

    return WorkflowDefinition(
        KIND,
        steps=[
            step("validate", validate, "CRM"),
            step("customer", ensure_customer, "ERP", after=["validate"]),
            step(
                "workspace",
                create_workspace,
                "PSA",
                after=["validate"],
                compensate=cancel_workspace,
            ),
            step("job", upsert_job, "ERP", after=["customer", "workspace"], compensate=close_job),
            step("staffing", raise_staffing_requests, "PSA", after=["workspace"]),
            step("billing_schedule", upsert_billing_schedule, "ERP", after=["job"]),
            step("finance_code", set_finance_code, "PSA", after=["job"]),
            step("write_back", write_back, "CRM", after=["workspace"], compensate=clear_write_back),
        ],
        on_failure=OnFailure.PARK,
        result=_result,
        business_key=business_key,
    )

"""Project status to the ERP: when a PSA project is activated, completed or cancelled, its
ERP job's status follows.

    follow (ERP)

The business key is the project and the status it reached, so the change seen twice
sets the job once. If the project has moved on by the time the workflow runs, the later
status has its own event and workflow; this one changes nothing. A project without a
finance code is a business error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from gateway.workflows.business import BusinessError
from gateway.workflows.context import StepContext
from gateway.workflows.definition import OnFailure, Step, WorkflowDefinition
from gateway.workflows.keys import BusinessKey
from gateway.workflows.retry import RetryPolicy
from gateway.workflows.systems import Systems
from sources.records import Job, Project

KIND = "sync_job_status"


def status_input(project_id: str, status: str) -> dict[str, Any]:
    return {"project_id": project_id, "status": status}


def business_key(input: Mapping[str, Any]) -> BusinessKey:
    return BusinessKey(KIND, f"{input['project_id']}:{input['status']}")


async def follow(systems: Systems, ctx: StepContext) -> dict[str, Any]:
    project_id, status = ctx.input["project_id"], ctx.input["status"]
    project = (await systems.psa.get_many("project", [project_id]))[0]
    if not isinstance(project, Project):
        raise BusinessError("UNKNOWN_PROJECT", f"PSA has no project {project_id}")
    if project.status != status:
        return {"job_id": project.erp_job_id, "skipped": f"the project is {project.status} now"}
    if not project.erp_job_id:
        raise BusinessError(
            "MISSING_FINANCE_CODE",
            f"project {project.code} ({project.id}) is {status} but has no ERP job to follow it",
        )
    job = (await systems.erp.get_many("job", [project.erp_job_id]))[0]
    if not isinstance(job, Job):
        raise BusinessError("UNKNOWN_JOB", f"the ERP has no job {project.erp_job_id}")
    if job.status == status:
        return {"job_id": job.id, "status": status, "changed": False}
    await systems.erp.upsert_job(project.id, job.customer_id, {"status": status})
    ctx.audit("erp.job.status", "ERP", "Job", job.id, {"status": job.status}, {"status": status})
    return {"job_id": job.id, "status": status, "changed": True}


def _result(outputs: Mapping[str, Any]) -> dict[str, str] | None:
    job_id = outputs["follow"].get("job_id")
    return {"type": "Job", "key": job_id} if job_id else None


def definition(systems: Systems, retry: RetryPolicy) -> WorkflowDefinition:
    return WorkflowDefinition(
        KIND,
        steps=[Step("follow", partial(follow, systems), system="ERP", retry=retry)],
        on_failure=OnFailure.PARK,
        result=_result,
        business_key=business_key,
    )

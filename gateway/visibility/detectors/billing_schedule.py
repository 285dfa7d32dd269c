"""CONTRACT_WITHOUT_BILLING_SCHEDULE: an ERP job (the contract's finance side) with no
billing schedule, so nothing on it is invoiced. At risk: the PSA project's budget.

A project whose schedule a remedy workflow is still making is not one: that workflow
creates the job first and its schedule a step later, and a check in between would open
an exception the same fix closes seconds after.

Whether a job has a schedule is the ERP's grouped count (`scheduled_jobs`, one query per
1,000 jobs), not the schedules with their lines: in the test world those were about a
third of a second of the gateway's CPU on every full scan, for a yes or no."""

from __future__ import annotations

from gateway.store import WorkflowStatus
from gateway.visibility.detectors.base import Detector, ScanContext
from gateway.visibility.findings import ExceptionKind, Finding
from gateway.workflows import remedies
from sources.records import Job, Project, SourceSystem

KIND = ExceptionKind.CONTRACT_WITHOUT_BILLING_SCHEDULE
SCHEDULING = (remedies.FINANCE_CODE, remedies.BILLING_SCHEDULE)
UNFINISHED = (WorkflowStatus.PENDING, WorkflowStatus.RUNNING)
MAX_UNFINISHED = 1000


async def being_scheduled(ctx: ScanContext) -> set[str]:
    """The PSA project ids a remedy workflow that makes their schedule is working on."""
    if ctx.store is None:
        return set()
    found = set()
    for kind in SCHEDULING:
        for status in UNFINISHED:
            for workflow in await ctx.store.workflows.find(
                status=status, kind=kind, limit=MAX_UNFINISHED
            ):
                project = workflow.input.get("project_id")
                if project:
                    found.add(str(project))
    return found


async def detect(ctx: ScanContext) -> list[Finding]:
    jobs = [j for j in await ctx.view.listing(SourceSystem.ERP, "job") if isinstance(j, Job)]
    projects = await ctx.view.listing(SourceSystem.PSA, "project")
    scheduled = await ctx.view.aggregate(SourceSystem.ERP, "scheduled_jobs", [j.id for j in jobs])
    in_hand = await being_scheduled(ctx)
    project_of = {p.id: p for p in projects if isinstance(p, Project)}
    found = []
    for job in jobs:
        if scheduled.get(job.id):
            continue
        project = project_of.get(job.psa_project_id or "")
        if project is not None and project.id in in_hand:
            continue
        found.append(
            Finding(
                KIND,
                "Project" if project else None,
                project.id if project else f"job-{job.id}",
                SourceSystem.ERP,
                f"ERP job {job.id} ({job.name}) has no billing schedule",
                "Create the billing schedule from the contract",
                project.budget if project else None,
                project.currency if project else None,
                job.modified_at,
            )
        )
    return found


DETECTOR = Detector(
    KIND,
    detect,
    reads=frozenset({(SourceSystem.ERP, "job"), (SourceSystem.ERP, "billing_schedule")}),
    needs=frozenset({SourceSystem.ERP, SourceSystem.PSA}),
    on_events=frozenset({"WorkflowFinished"}),  # a remedy that stopped short: check again
)

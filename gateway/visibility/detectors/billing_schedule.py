"""CONTRACT_WITHOUT_BILLING_SCHEDULE: an ERP job (the contract's finance side) with no
billing schedule, so nothing on it is invoiced. At risk: the PSA project's budget."""

from __future__ import annotations

from gateway.visibility.detectors.base import Detector, ScanContext
from gateway.visibility.findings import ExceptionKind, Finding
from sources.records import BillingSchedule, Job, Project, SourceSystem

KIND = ExceptionKind.CONTRACT_WITHOUT_BILLING_SCHEDULE


async def detect(ctx: ScanContext) -> list[Finding]:
    jobs = await ctx.view.listing(SourceSystem.ERP, "job")
    schedules = await ctx.view.listing(SourceSystem.ERP, "billing_schedule")
    projects = await ctx.view.listing(SourceSystem.PSA, "project")
    scheduled = {s.job_id for s in schedules if isinstance(s, BillingSchedule)}
    project_of = {p.id: p for p in projects if isinstance(p, Project)}
    found = []
    for job in jobs:
        if not isinstance(job, Job) or job.id in scheduled:
            continue
        project = project_of.get(job.psa_project_id or "")
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
)

"""PROJECT_MISSING_FINANCE_CODE: a PSA project with no ERP job, so nothing on it can be
billed. At risk: the project's budget."""

from __future__ import annotations

from gateway.visibility.detectors.base import Detector, ScanContext
from gateway.visibility.findings import ExceptionKind, Finding
from sources.records import Project, SourceSystem

KIND = ExceptionKind.PROJECT_MISSING_FINANCE_CODE


async def detect(ctx: ScanContext) -> list[Finding]:
    projects = await ctx.view.listing(SourceSystem.PSA, "project")
    return [
        Finding(
            KIND,
            "Project",
            project.id,
            SourceSystem.PSA,
            f"Project {project.code} {project.name} has no finance code (ERP job)",
            "Create the ERP job and link it to the project",
            project.budget,
            project.currency,
            project.modified_at,
        )
        for project in projects
        if isinstance(project, Project) and not project.erp_job_id
    ]


DETECTOR = Detector(
    KIND,
    detect,
    reads=frozenset({(SourceSystem.PSA, "project")}),
    needs=frozenset({SourceSystem.PSA}),
)

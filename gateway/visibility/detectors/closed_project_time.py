"""APPROVED_TIME_ON_CLOSED_PROJECT: approved, unbilled hours dated after the end of a
project that is completed or cancelled (time coded to the wrong project). At risk: the
hours at the person's bill rate."""

from __future__ import annotations

from gateway.visibility.detectors.base import Detector, ScanContext
from gateway.visibility.detectors.rates import amount, bill_rates, currency
from gateway.visibility.findings import ExceptionKind, Finding
from sources.records import Project, SourceSystem, TimeEntry

KIND = ExceptionKind.APPROVED_TIME_ON_CLOSED_PROJECT
CLOSED = frozenset({"COMPLETED", "CANCELLED"})


async def detect(ctx: ScanContext) -> list[Finding]:
    projects = await ctx.view.listing(SourceSystem.PSA, "project")
    closed = {
        p.code: p
        for p in projects
        if isinstance(p, Project) and p.status in CLOSED and p.end_date is not None
    }
    entries = await ctx.view.listing(SourceSystem.TIME, "time_entry", {"status": "APPROVED"})
    rates = await bill_rates(ctx)
    found = []
    for entry in entries:
        if not isinstance(entry, TimeEntry) or entry.status != "APPROVED":
            continue
        project = closed.get(entry.project_code)
        if project is None or project.end_date is None or entry.date <= project.end_date:
            continue
        found.append(
            Finding(
                KIND,
                "TimeEntry",
                entry.id,
                SourceSystem.TIME,
                f"{entry.hours:g} h approved on {entry.date} against {project.code}, "
                f"{project.status.lower()} since {project.end_date}",
                "Recode the entry to the right project in TIME",
                amount(rates, entry.user_id, entry.hours),
                currency(rates, entry.user_id),
                entry.approved_at or entry.modified_at,
            )
        )
    return found


DETECTOR = Detector(
    KIND,
    detect,
    reads=frozenset({(SourceSystem.TIME, "time_entry"), (SourceSystem.PSA, "project")}),
    needs=frozenset({SourceSystem.TIME, SourceSystem.PSA}),
)

"""APPROVED_TIME_NOT_POSTED: approved hours on a project that has a finance code, still
not in the ERP past the agreed delay (`visibility.unposted_after_s`). Hours on a project
without one are that project's PROJECT_MISSING_FINANCE_CODE, not this. Approvals older
than `visibility.unposted_lookback_days` are not re-read on every scan. At risk: the
hours at the person's bill rate."""

from __future__ import annotations

import datetime as dt

from gateway.visibility.detectors.base import Detector, ScanContext
from gateway.visibility.detectors.rates import amount, bill_rates, currency
from gateway.visibility.findings import ExceptionKind, Finding
from sources.records import Project, SourceSystem, TimeEntry, TimePosting

KIND = ExceptionKind.APPROVED_TIME_NOT_POSTED


async def detect(ctx: ScanContext) -> list[Finding]:
    since = ctx.now - dt.timedelta(days=ctx.config.unposted_lookback_days)
    due = ctx.now - dt.timedelta(seconds=ctx.config.unposted_after_s)
    projects = await ctx.view.listing(SourceSystem.PSA, "project")
    coded = {p.code for p in projects if isinstance(p, Project) and p.erp_job_id}
    entries = await ctx.view.listing(
        SourceSystem.TIME, "time_entry", {"status": "APPROVED", "updated_since": since}
    )
    waiting = [
        e
        for e in entries
        if isinstance(e, TimeEntry)
        and e.status == "APPROVED"
        and e.project_code in coded
        and (e.approved_at or e.modified_at or ctx.now) <= due
    ]
    if not waiting:
        return []
    postings = await ctx.view.by_ids(
        SourceSystem.ERP, "time_posting", "time_entry_id", [e.id for e in waiting]
    )
    posted = {p.time_entry_id for p in postings if isinstance(p, TimePosting)}
    rates = await bill_rates(ctx)
    return [
        Finding(
            KIND,
            "TimeEntry",
            entry.id,
            SourceSystem.TIME,
            f"{entry.hours:g} h approved for {entry.project_code} on {entry.date} "
            "are not posted to the ERP",
            "Post the approved hours to the ERP",
            amount(rates, entry.user_id, entry.hours),
            currency(rates, entry.user_id),
            entry.approved_at or entry.modified_at,
        )
        for entry in waiting
        if entry.id not in posted
    ]


DETECTOR = Detector(
    KIND,
    detect,
    reads=frozenset({(SourceSystem.TIME, "time_entry"), (SourceSystem.ERP, "time_posting")}),
    needs=frozenset({SourceSystem.TIME, SourceSystem.PSA, SourceSystem.ERP}),
)

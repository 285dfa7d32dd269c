"""ProjectHealth: a project's financial state derived across PSA, TIME, ERP and HCM.

Every figure comes from the sources' aggregate endpoints or from reads batched for the
whole level, never from per-row calls: TIME `project_summaries` (all projects in two
requests), ERP `invoiced_totals` by job, ERP billing schedules by job, and the team's
cost rates (PSA assignments -> HCM workers). Each field reads only the sources it
needs, so one failing source nulls only the figures that depend on it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Protocol, cast

from resolvers import derived, links
from resolvers.context import RequestContext
from resolvers.links import ERP, TIME
from resolvers.loaders import settle
from resolvers.projects import assignments
from resolvers.values import Money
from sources.records import BillingSchedule, Project

# The whole life of every project: summaries are read once for all of them.
ALL_TIME = (date(1970, 1, 1), date(2999, 12, 31))
SUMMARIES_DEPEND_ON = frozenset({"time_entry", "expense"})
INVOICED_DEPEND_ON = frozenset({"invoice"})
ZERO = Decimal("0")


class TimeSummary(Protocol):
    """What TIME's `project_summaries` gives per project."""

    total_hours: float
    billable_hours: float
    approved_hours: float | None
    uninvoiced_hours: float
    uninvoiced_amount: Decimal
    billable_amount: Decimal
    currency: str


async def time_summary(ctx: RequestContext, project: Project) -> TimeSummary | None:
    """None when TIME has no project for this code, or no time on it."""
    time_project = await links.time_project(ctx, project.code)
    if time_project is None:
        return None
    summaries = await ctx.loaders.aggregate(
        TIME, "project_summaries", *ALL_TIME, depends_on=SUMMARIES_DEPEND_ON
    )
    return cast(TimeSummary | None, summaries.get(time_project.id))


async def hours_approved(ctx: RequestContext, project: Project) -> float | None:
    summary = await time_summary(ctx, project)
    if summary is None:
        return 0.0
    return summary.approved_hours


async def hours_unbilled(ctx: RequestContext, project: Project) -> float:
    summary = await time_summary(ctx, project)
    return summary.uninvoiced_hours if summary is not None else 0.0


async def unbilled_amount(ctx: RequestContext, project: Project) -> Money:
    summary = await time_summary(ctx, project)
    if summary is None:
        return Money(ZERO, project.currency)
    return Money(summary.uninvoiced_amount, summary.currency)


async def invoiced_amount(ctx: RequestContext, project: Project) -> Money:
    job = await links.erp_job(ctx, project)
    if job is None:
        return Money(ZERO, project.currency)
    loader = ctx.loaders.aggregate_by_id(ERP, "invoiced_totals", depends_on=INVOICED_DEPEND_ON)
    total = await loader.load(job.id)
    return Money(total if total is not None else ZERO, project.currency)


async def budget_burn(ctx: RequestContext, project: Project) -> float | None:
    """Billable time and expenses recorded in TIME, over the PSA budget."""
    summary = await time_summary(ctx, project)
    consumed = summary.billable_amount if summary is not None else ZERO
    return derived.budget_burn(consumed, project.budget)


async def margin(ctx: RequestContext, project: Project) -> float | None:
    """Billable value against the hours priced at the team's blended cost rate (HCM
    cost rates weighted by PSA hours per week): an estimate until costs are posted."""
    summary, team = await settle(time_summary(ctx, project), assignments(ctx, project))
    if summary is None:
        return None
    people = await settle(*(links.resource_of_psa_user(ctx, a.user_id) for a in team))
    rate = derived.blended_rate(
        (
            view.worker.cost_rate if view is not None and view.worker is not None else None,
            assignment.hours_per_week,
        )
        for view, assignment in zip(people, team, strict=True)
    )
    if rate is None:
        return None
    cost = rate * Decimal(str(summary.total_hours))
    return derived.margin(summary.billable_amount, cost)


async def billing_schedules(ctx: RequestContext, project: Project) -> list[BillingSchedule] | None:
    """None when the project has no ERP job at all."""
    job = await links.erp_job(ctx, project)
    if job is None:
        return None
    return await links.children(ctx, ERP, "billing_schedule", "job_id", job.id, BillingSchedule)


async def billing_ready(ctx: RequestContext, project: Project) -> bool:
    schedules, summary = await settle(billing_schedules(ctx, project), time_summary(ctx, project))
    unbilled = summary.uninvoiced_amount if summary is not None else ZERO
    return derived.billing_ready(schedules is not None, bool(schedules), unbilled)


async def risks(ctx: RequestContext, project: Project) -> list[str]:
    job, schedules, summary = await settle(
        links.erp_job(ctx, project), billing_schedules(ctx, project), time_summary(ctx, project)
    )
    consumed = summary.billable_amount if summary is not None else ZERO
    return derived.project_risks(
        status=project.status,
        has_finance_code=job is not None,
        has_schedule=bool(schedules),
        burn=derived.budget_burn(consumed, project.budget),
        unbilled_hours=summary.uninvoiced_hours if summary is not None else 0.0,
        finance_code_mismatch=(
            job is not None and project.erp_job_id is not None and job.id != project.erp_job_id
        ),
    )

"""ProjectHealth: a project's financial state derived across PSA, TIME, ERP and HCM.

Every figure comes from the sources' aggregate endpoints or from reads batched for the
whole level, never from per-row calls: TIME `project_summaries` (all projects in two
requests), ERP `invoiced_totals` by job, ERP `scheduled_jobs` (whether a job has a
billing schedule; its lines are never read for a figure), and the team's
cost rates (PSA assignments -> HCM workers). `facts` reads only the inputs the asked
figures need; a source that fails fails only the figures derived from it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, cast

from resolvers import derived, links
from resolvers.context import RequestContext
from resolvers.links import ERP, TIME
from resolvers.loaders import settle, settle_each, settled, shared
from resolvers.projects import assignments
from resolvers.values import Money
from sources.errors import SourceError
from sources.records import Job, Project

# The whole life of every project: summaries are read once for all of them.
ALL_TIME = (date(1970, 1, 1), date(2999, 12, 31))
SUMMARIES_DEPEND_ON = frozenset({"time_entry", "expense"})
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


def start_portfolio_reads(ctx: RequestContext, figures: Iterable[str]) -> None:
    """Start the reads that serve every project at once, when `figures` need them, before
    the projects themselves are read: they depend on no row, so the rows find them read,
    or under way, instead of starting them one level later. Each row awaits these same
    reads; a failure stays in them for the rows that need it."""
    if any("summary" in NEEDS.get(figure, ()) for figure in figures):
        links.time_projects_by_code(ctx)
        _time_summaries(ctx)


def _time_summaries(ctx: RequestContext) -> asyncio.Future[Mapping[str, TimeSummary]]:
    """The request's read of every TIME project's summary, started now if it has not been."""
    return ctx.loaders.aggregate_read(
        TIME, "project_summaries", *ALL_TIME, depends_on=SUMMARIES_DEPEND_ON
    )


async def time_summary(ctx: RequestContext, project: Project) -> TimeSummary | None:
    """None when TIME has no project for this code, or no time on it. The summaries cover
    every project, so they are read beside the code's lookup, not after it."""
    summaries = _time_summaries(ctx)
    time_project = await links.time_project(ctx, project.code)
    if time_project is None:
        return None  # whatever becomes of the summaries
    return (await shared(summaries)).get(time_project.id)


async def team_cost_rate(ctx: RequestContext, project: Project) -> Decimal | None:
    """The team's blended hourly cost: HCM cost rates weighted by PSA hours per week."""
    team = await assignments(ctx, project)
    people = await settle(*(links.resource_of_psa_user(ctx, a.user_id) for a in team))
    return derived.blended_rate(
        (
            view.worker.cost_rate if view is not None and view.worker is not None else None,
            assignment.hours_per_week,
        )
        for view, assignment in zip(people, team, strict=True)
    )


@dataclass(frozen=True)
class PerJob:
    """An input read from an ERP aggregate by the project's job (None without a job)."""

    aggregate: str
    depends_on: frozenset[str]
    value: Callable[[Any], Any]  # of the aggregate's answer for the job

    def loader(self, ctx: RequestContext) -> Any:
        return ctx.loaders.aggregate_by_id(ERP, self.aggregate, depends_on=self.depends_on)

    async def read(self, ctx: RequestContext, project: Project) -> Any:
        job = await links.erp_job(ctx, project)
        if job is None:
            return None
        return self.value(await self.loader(ctx).load(job.id))

    def peek(self, ctx: RequestContext, project: Project) -> tuple[bool, Any]:
        read, job = links.erp_job_if_read(ctx, project)
        if not read or job is None:
            return read, None
        read, found = ctx.loaders.peek_aggregate(ERP, self.aggregate, job.id)
        return (True, self.value(found)) if read else (False, None)


# Whether the job has a billing schedule, and what the ERP has invoiced on it (Open and
# Paid invoices).
SCHEDULED = PerJob("scheduled_jobs", frozenset({"billing_schedule"}), bool)
INVOICED = PerJob("invoiced_totals", frozenset({"invoice"}), lambda t: ZERO if t is None else t)
PER_JOB = {"scheduled": SCHEDULED, "invoiced": INVOICED}


Input = Callable[[RequestContext, Project], Awaitable[Any]]

INPUTS: Mapping[str, Input] = {
    "summary": time_summary,
    "job": links.erp_job,
    "scheduled": SCHEDULED.read,
    "invoiced": INVOICED.read,
    "team_rate": team_cost_rate,
}
# Each figure, and the inputs it is derived from.
NEEDS: Mapping[str, frozenset[str]] = {
    "budgetBurn": frozenset({"summary"}),
    "hoursApproved": frozenset({"summary"}),
    "hoursUnbilled": frozenset({"summary"}),
    "unbilledAmount": frozenset({"summary"}),
    "invoicedAmount": frozenset({"invoiced"}),
    "margin": frozenset({"summary", "team_rate"}),
    "billingReady": frozenset({"job", "scheduled", "summary"}),
    "risks": frozenset({"job", "scheduled", "summary"}),
}


Peek = Callable[[RequestContext, Project], tuple[bool, Any]]


def _summary_if_read(ctx: RequestContext, project: Project) -> tuple[bool, Any]:
    read, time_project = links.time_project_if_read(ctx, project.code)
    if not read or time_project is None:
        return read, None
    read, summaries = settled(_time_summaries(ctx))
    return (True, summaries.get(time_project.id)) if read else (False, None)


# The inputs that can be had without waiting once read (`facts_if_read`); the team's
# rate (a level of PSA, then one of HCM, per team) is always awaited.
READY: Mapping[str, Peek] = {
    "summary": _summary_if_read,
    "job": links.erp_job_if_read,
    "scheduled": SCHEDULED.peek,
    "invoiced": INVOICED.peek,
}


@functools.lru_cache(maxsize=256)
def inputs_of(figures: frozenset[str]) -> tuple[str, ...]:
    """The inputs `figures` are derived from, in a fixed order."""
    return tuple(sorted({name for figure in figures for name in NEEDS.get(figure, ())}))


async def facts(ctx: RequestContext, project: Project, figures: Iterable[str]) -> HealthFacts:
    """The inputs `figures` need, read side by side; an input whose source failed holds
    its error, so only the figures derived from it fail."""
    names = inputs_of(frozenset(figures))
    values = await settle_each(*(INPUTS[name](ctx, project) for name in names))
    return HealthFacts(project, dict(zip(names, values, strict=True)))


def facts_if_read(
    ctx: RequestContext, project: Project, figures: frozenset[str]
) -> HealthFacts | None:
    """`facts(...)` without waiting, when this request has read every input they need
    (`read_ahead`); None otherwise, or when a read failed (`facts` then reports it)."""
    inputs: dict[str, Any] = {}
    for name in inputs_of(figures):
        peek = READY.get(name)
        if peek is None:
            return None
        read, value = peek(ctx, project)
        if not read:
            return None
        inputs[name] = value
    return HealthFacts(project, inputs)


async def read_ahead(ctx: RequestContext, page: Iterable[Project], figures: frozenset[str]) -> None:
    """Read what `figures` need for every project of a page, a level at a time for the
    whole page, so that each row's figures are had without waiting (`facts_if_read`):
    no coroutine per row and input. A read that fails stays in its loader, and the rows
    that need it report it as `facts` would."""
    names = set(inputs_of(figures))
    projects = [project for project in page if project.id]
    if not projects:
        return
    waits: list[asyncio.Future[Any]] = []
    if "summary" in names:
        waits += [links.time_projects_by_code(ctx), _time_summaries(ctx)]
    if reads_jobs(figures):
        await links.read_erp_jobs(ctx, projects)
        ids = {job.id for project in projects if (job := links.erp_job_if_read(ctx, project)[1])}
        waits += per_job_reads(ctx, ids, figures)
    await links.settle_all(waits)


def reads_jobs(figures: frozenset[str]) -> bool:
    """Whether `figures` need each project's ERP job."""
    names = inputs_of(figures)
    return "job" in names or any(name in PER_JOB for name in names)


def per_job_reads(
    ctx: RequestContext, job_ids: Iterable[str], figures: frozenset[str]
) -> list[asyncio.Future[Any]]:
    """The per-job aggregates `figures` need for ERP jobs `job_ids`, started."""
    names = [name for name in inputs_of(figures) if name in PER_JOB]
    wanted = set(job_ids)
    return [PER_JOB[name].loader(ctx).load(job_id) for name in names for job_id in wanted]


@dataclass(frozen=True)
class HealthFacts:
    """A project's health inputs; each figure raises the error of an input it needs."""

    project: Project
    inputs: Mapping[str, Any]

    def _input(self, name: str) -> Any:
        value = self.inputs[name]
        if isinstance(value, SourceError):
            raise value
        return value

    @property
    def _summary(self) -> TimeSummary | None:
        return cast(TimeSummary | None, self._input("summary"))

    def hours_approved(self) -> float | None:
        summary = self._summary
        return summary.approved_hours if summary is not None else 0.0

    def hours_unbilled(self) -> float:
        summary = self._summary
        return summary.uninvoiced_hours if summary is not None else 0.0

    def unbilled_amount(self) -> Money:
        summary = self._summary
        if summary is None:
            return Money(ZERO, self.project.currency)
        return Money(summary.uninvoiced_amount, summary.currency)

    def invoiced_amount(self) -> Money:
        total = cast(Decimal | None, self._input("invoiced"))
        return Money(total if total is not None else ZERO, self.project.currency)

    def budget_burn(self) -> float | None:
        """Billable time and expenses recorded in TIME, over the PSA budget."""
        summary = self._summary
        consumed = summary.billable_amount if summary is not None else ZERO
        return derived.budget_burn(consumed, self.project.budget)

    def margin(self) -> float | None:
        """Billable value against the hours priced at the team's blended cost rate: an
        estimate until costs are posted."""
        summary = self._summary
        rate = cast(Decimal | None, self._input("team_rate"))
        if summary is None or rate is None:
            return None
        return derived.margin(summary.billable_amount, rate * Decimal(str(summary.total_hours)))

    def billing_ready(self) -> bool:
        has_schedule = cast(bool | None, self._input("scheduled"))
        summary = self._summary
        unbilled = summary.uninvoiced_amount if summary is not None else ZERO
        return derived.billing_ready(has_schedule is not None, bool(has_schedule), unbilled)

    def risks(self) -> list[str]:
        job = cast(Job | None, self._input("job"))
        has_schedule = bool(self._input("scheduled"))
        summary = self._summary
        consumed = summary.billable_amount if summary is not None else ZERO
        return derived.project_risks(
            status=self.project.status,
            has_finance_code=job is not None,
            has_schedule=has_schedule,
            burn=derived.budget_burn(consumed, self.project.budget),
            unbilled_hours=summary.uninvoiced_hours if summary is not None else 0.0,
            finance_code_mismatch=(
                job is not None
                and self.project.erp_job_id is not None
                and job.id != self.project.erp_job_id
            ),
        )

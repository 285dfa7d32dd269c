"""Projects: the PSA workspace merged with its ERP job (the finance code)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from resolvers import links
from resolvers.authority import Conflict
from resolvers.connections import Window, slice_window
from resolvers.context import Report, RequestContext
from resolvers.links import CRM, ERP, PSA, TIME, ClientView, ResourceView
from resolvers.listing import list_records, nothing
from resolvers.loaders import settle_each
from resolvers.values import SystemRef, ref
from sources.erp.connector import ErpConnector
from sources.erp.mapping import milestone_invoice_external_id
from sources.errors import SourceError
from sources.records import (
    Assignment,
    Invoice,
    Milestone,
    Opportunity,
    Project,
    StaffingRequest,
    TimeEntry,
)


async def list_projects(
    ctx: RequestContext,
    first: int | None,
    after: str | None,
    *,
    status: str | None = None,
    client_key: str | None = None,
    practice: str | None = None,
) -> Window[Project]:
    filters: dict[str, Any] = {}
    if status:
        filters["status"] = status
    if practice:
        filters["practice"] = practice
    if client_key is not None:
        if client_key.startswith(links.ERP_PREFIX):  # no CRM account: PSA cannot know it
            return nothing()
        filters["crm_account_id"] = [client_key]

    return await list_records(ctx, PSA, "project", Project, filters, first, after)


async def project(ctx: RequestContext, project_id: str | None) -> Project | None:
    return await links.by_id(ctx, PSA, "project", project_id, Project)


async def finance_code(ctx: RequestContext, project: Project) -> str | None:
    """The ERP job id; whose word counts is `authority.project.financeCode`."""
    if ctx.authority.owner("project", "financeCode") is PSA:
        return project.erp_job_id
    job = await links.erp_job(ctx, project)
    return job.id if job is not None else None


async def read_finance_codes(ctx: RequestContext, page: list[Project]) -> None:
    """What `finance_code` reads for a page's projects, in one read (see `prefetch_clients`)."""
    if finance_code_reads_jobs(ctx):
        await links.read_erp_jobs(ctx, page)


def finance_code_reads_jobs(ctx: RequestContext) -> bool:
    """Whether a project's finance code is its ERP job's (the ERP is its authority)."""
    return ctx.authority.owner("project", "financeCode") is not PSA


def finance_code_if_read(ctx: RequestContext, project: Project) -> tuple[bool, str | None]:
    """`finance_code(ctx, project)` without waiting, when it needs no read or this request
    has read the job; (False, None) otherwise."""
    if ctx.authority.owner("project", "financeCode") is PSA:
        return True, project.erp_job_id
    read, job = links.erp_job_if_read(ctx, project)
    return read, (job.id if job is not None else None)


async def client(ctx: RequestContext, project: Project) -> ClientView | None:
    account_id = project.crm_account_id
    if not account_id and project.crm_opportunity_id:
        deal = await opportunity(ctx, project)
        account_id = deal.account_id if deal is not None else None
    return await links.client(ctx, account_id)


def client_if_read(ctx: RequestContext, project: Project) -> tuple[bool, ClientView | None]:
    """`client(ctx, project)` without waiting, when the project names its account and this
    request has read it already; (False, None) otherwise."""
    if not project.crm_account_id:
        return False, None
    return links.client_if_read(ctx, project.crm_account_id)


async def prefetch_clients(ctx: RequestContext, page: Iterable[Project]) -> None:
    await links.prefetch_clients(ctx, (project.crm_account_id for project in page))


def start_client_reads(ctx: RequestContext, page: Iterable[Project]) -> None:
    links.start_client_reads(ctx, (project.crm_account_id for project in page))


async def opportunity(ctx: RequestContext, project: Project) -> Opportunity | None:
    return await links.by_id(ctx, CRM, "opportunity", project.crm_opportunity_id, Opportunity)


async def manager(ctx: RequestContext, project: Project) -> ResourceView | None:
    return await links.resource_of_psa_user(ctx, project.manager_user_id)


def manager_if_read(ctx: RequestContext, project: Project) -> tuple[bool, ResourceView | None]:
    return links.resource_of_psa_user_if_read(ctx, project.manager_user_id)


async def milestones(ctx: RequestContext, project: Project) -> list[Milestone]:
    found = await links.children(ctx, PSA, "milestone", "project_id", project.id, Milestone)
    return sorted(found, key=lambda m: (m.due_date or date.max, m.id))


async def assignments(ctx: RequestContext, project: Project) -> list[Assignment]:
    found = await links.children(ctx, PSA, "assignment", "project_id", project.id, Assignment)
    return sorted(found, key=lambda a: a.id)


async def staffing_requests(ctx: RequestContext, project: Project) -> list[StaffingRequest]:
    found = await links.children(
        ctx, PSA, "staffing_request", "project_id", project.id, StaffingRequest
    )
    return sorted(found, key=lambda r: r.id)


async def time_entries(
    ctx: RequestContext,
    project: Project,
    first: int | None,
    after: str | None,
    *,
    status: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Window[TimeEntry]:
    """The project's time, paged by TIME itself. Harvest filters by one project at a
    time, so under a list of projects this is one request per project."""
    time_project = await links.time_project(ctx, project.code)
    if time_project is None:
        return nothing()
    filters: dict[str, Any] = {"project_id": time_project.id}
    if status:
        filters["status"] = status
    if date_from:
        filters["from"] = date_from
    if date_to:
        filters["to"] = date_to

    return await list_records(ctx, TIME, "time_entry", TimeEntry, filters, first, after)


async def invoices(
    ctx: RequestContext,
    project: Project,
    first: int | None,
    after: str | None,
    status: str | None,
) -> Window[Invoice]:
    job = await links.erp_job(ctx, project)
    filters = {"status": status} if status else {}
    found = await links.children(
        ctx, ERP, "invoice", "job_id", job.id if job else None, Invoice, **filters
    )
    found.sort(key=lambda i: (i.issue_date or date.min, i.id), reverse=True)
    return slice_window(found, first, after, ctx.limits)


async def system_refs(ctx: RequestContext, project: Project, report: Report) -> list[SystemRef]:
    refs = [ref(PSA, project)]
    job, time_project = await settle_each(
        links.erp_job(ctx, project), links.time_project(ctx, project.code)
    )
    for system, found in ((ERP, job), (TIME, time_project)):
        if isinstance(found, SourceError):
            report(found)
        elif found is not None:
            refs.append(ref(system, found))
    return refs


async def conflicts(ctx: RequestContext, project: Project) -> list[Conflict]:
    job = await links.erp_job(ctx, project)
    found = ctx.authority.conflicts(
        "project",
        "financeCode",
        {ERP: job.id if job else None, PSA: project.erp_job_id},
        missing_disagrees=True,
    )
    return found


BILLABLE_MILESTONE = frozenset({"COMPLETED", "BILLED"})


async def milestone_invoice(ctx: RequestContext, milestone: Milestone) -> Invoice | None:
    """The ERP invoice billing a completed milestone: the ERP keeps it under an external
    id derived from the milestone, so it is found by that id."""
    if milestone.status not in BILLABLE_MILESTONE:
        return None
    erp = ctx.loaders.upstream.connector(ERP)
    if not isinstance(erp, ErpConnector):
        return None
    found = await erp.find_by_external_id("invoice", milestone_invoice_external_id(milestone.id))
    return found if isinstance(found, Invoice) else None

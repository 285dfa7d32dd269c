"""Time entries, read from TIME, linked back to PSA projects, people and ERP invoices."""

from __future__ import annotations

from datetime import date
from typing import Any

from resolvers import links
from resolvers.connections import Window
from resolvers.context import RequestContext
from resolvers.links import ERP, TIME, ResourceView
from resolvers.listing import list_records, nothing
from resolvers.values import SystemRef, ref
from sources.records import Invoice, Project, TimeEntry, TimePosting


async def list_time_entries(
    ctx: RequestContext,
    first: int | None,
    after: str | None,
    *,
    status: str | None = None,
    project_id: str | None = None,
    resource_key: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Window[TimeEntry]:
    filters: dict[str, Any] = {}
    if status:
        filters["status"] = status
    if date_from:
        filters["from"] = date_from
    if date_to:
        filters["to"] = date_to
    if project_id is not None:
        found = await links.by_id(ctx, links.PSA, "project", project_id, Project)
        time_project = await links.time_project(ctx, found.code) if found else None
        if time_project is None:
            return nothing()
        filters["project_id"] = time_project.id
    if resource_key is not None:
        view = await links.resource_by_key(ctx, resource_key)
        user = await links.time_user(ctx, view) if view is not None else None
        if user is None:
            return nothing()
        filters["user_id"] = user.id

    return await list_records(ctx, TIME, "time_entry", TimeEntry, filters, first, after)


async def time_entry(ctx: RequestContext, entry_id: str | None) -> TimeEntry | None:
    return await links.by_id(ctx, TIME, "time_entry", entry_id, TimeEntry)


async def resource(ctx: RequestContext, entry: TimeEntry) -> ResourceView | None:
    return await links.resource_of_time_user(ctx, entry.user_id)


async def project(ctx: RequestContext, entry: TimeEntry) -> Project | None:
    return await links.project_by_code(ctx, entry.project_code)


POSTED_STATUSES = frozenset({"APPROVED", "INVOICED"})


async def posting(ctx: RequestContext, entry: TimeEntry) -> TimePosting | None:
    """The ERP time bill of an approved entry, once its hours were posted."""
    if entry.status not in POSTED_STATUSES and not entry.is_billed:
        return None
    found = await project(ctx, entry)
    job = await links.erp_job(ctx, found) if found is not None else None
    if job is None:
        return None
    postings = await links.children(ctx, ERP, "time_posting", "job_id", job.id, TimePosting)
    return next((p for p in postings if p.time_entry_id == entry.id), None)


async def system_refs(ctx: RequestContext, entry: TimeEntry) -> list[SystemRef]:
    """The TIME entry, and the ERP time bill once posted."""
    posted = await posting(ctx, entry)
    return [ref(TIME, entry), *([ref(ERP, posted)] if posted is not None else [])]


async def invoice(ctx: RequestContext, entry: TimeEntry) -> Invoice | None:
    """The ERP invoice that billed this entry: found through the ERP's time postings of
    the project's job (TIME itself does not say which ERP invoice)."""
    if entry.status != "INVOICED" and not entry.is_billed:
        return None
    found = await project(ctx, entry)
    job = await links.erp_job(ctx, found) if found is not None else None
    if job is None:
        return None
    postings = await links.children(ctx, ERP, "time_posting", "job_id", job.id, TimePosting)
    posting = next((p for p in postings if p.time_entry_id == entry.id), None)
    if posting is None or posting.invoice_id is None:
        return None
    return await links.by_id(ctx, ERP, "invoice", posting.invoice_id, Invoice)

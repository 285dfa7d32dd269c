"""The root lists as the caller may see them: each cut at the source by the caller's row
rules (`resolvers.scope`), so a page, its cursors and its totalCount hold only rows the
caller may read. Callers who read every row get the plain list unchanged."""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.auth.policy import Rows
from resolvers import billing, links, people, projects, scope, timesheets
from resolvers import clients as client_lists
from resolvers.connections import Window, slice_window
from resolvers.context import RequestContext
from resolvers.links import PSA, ClientView, ResourceView
from sources.records import Invoice, Project, TimeEntry

NOTHING: Window[Any] = Window([], False, False, 0)


async def clients(
    ctx: RequestContext, first: int | None, after: str | None, search: str | None
) -> Window[ClientView]:
    rules = scope.narrowed(ctx, "Client")
    if Rows.EVERY in rules:
        return await client_lists.list_clients(ctx, first, after, search)
    keys: set[str] = set()
    if Rows.OWN_CLIENT in rules and (own := scope.client_key(ctx)) is not None:
        keys.add(own)
    if Rows.OF_ASSIGNED in rules:
        for project in await _assigned_projects(ctx):
            view = await projects.client(ctx, project)
            if view is not None:
                keys.add(view.key)
    views = [view for key in sorted(keys) if (view := await links.client_by_key(ctx, key))]
    wanted = (search or "").lower()
    matching = [view for view in views if wanted in _client_name(view).lower()]
    return slice_window(matching, first, after, ctx.limits)


def _client_name(view: ClientView) -> str:
    if view.account is not None:
        return view.account.name
    return view.customer.name if view.customer is not None else ""


async def project_list(
    ctx: RequestContext,
    first: int | None,
    after: str | None,
    *,
    status: str | None,
    client_key: str | None,
    practice: str | None,
) -> Window[Project]:
    rules = scope.narrowed(ctx, "Project")
    if Rows.EVERY in rules:
        return await projects.list_projects(
            ctx, first, after, status=status, client_key=client_key, practice=practice
        )
    if Rows.OF_OWN_CLIENT in rules:
        own = scope.client_key(ctx)
        if own is None or client_key not in (None, own):
            return NOTHING
        return await projects.list_projects(
            ctx, first, after, status=status, client_key=own, practice=practice
        )
    if Rows.ASSIGNED in rules:
        found = []
        for project in await _assigned_projects(ctx):
            client = await projects.client(ctx, project) if client_key is not None else None
            if (
                (status is None or project.status == status)
                and (practice is None or project.practice == practice)
                and (client_key is None or (client is not None and client.key == client_key))
            ):
                found.append(project)
        return slice_window(found, first, after, ctx.limits)
    return NOTHING


async def _assigned_projects(ctx: RequestContext) -> list[Project]:
    found = []
    for project_id in sorted(await scope.assigned_project_ids(ctx)):
        project = await links.by_id(ctx, PSA, "project", project_id, Project)
        if project is not None:
            found.append(project)
    return found


async def invoices(
    ctx: RequestContext,
    first: int | None,
    after: str | None,
    *,
    status: str | None,
    client_key: str | None,
) -> Window[Invoice]:
    rules = scope.narrowed(ctx, "Invoice")
    if Rows.EVERY in rules:
        return await billing.list_invoices(ctx, first, after, status=status, client_key=client_key)
    own = scope.client_key(ctx)
    if Rows.OF_OWN_CLIENT not in rules or own is None or client_key not in (None, own):
        return NOTHING
    return await billing.list_invoices(ctx, first, after, status=status, client_key=own)


async def time_entries(
    ctx: RequestContext,
    first: int | None,
    after: str | None,
    *,
    status: str | None,
    project_id: str | None,
    resource_key: str | None,
    date_from: date | None,
    date_to: date | None,
) -> Window[TimeEntry]:
    rules = scope.narrowed(ctx, "TimeEntry")
    if Rows.EVERY not in rules:
        own = scope.resource_key(ctx)
        if Rows.OWN not in rules or own is None or resource_key not in (None, own):
            return NOTHING
        resource_key = own
    return await timesheets.list_time_entries(
        ctx,
        first,
        after,
        status=status,
        project_id=project_id,
        resource_key=resource_key,
        date_from=date_from,
        date_to=date_to,
    )


async def resources(
    ctx: RequestContext,
    first: int | None,
    after: str | None,
    *,
    practice: str | None,
    skill: str | None,
) -> Window[ResourceView]:
    rules = scope.narrowed(ctx, "Resource")
    if Rows.EVERY in rules:
        return await people.list_resources(ctx, first, after, practice=practice, skill=skill)
    own = scope.resource_key(ctx)
    if Rows.SELF not in rules or own is None:
        return NOTHING  # a client reads its managers' names through its projects only
    view = await links.resource_by_key(ctx, own)
    worker = view.worker if view is not None else None
    if view is None or (
        worker is not None
        and (
            (practice is not None and worker.practice != practice)
            or (skill is not None and skill not in worker.skills)
        )
    ):
        return NOTHING
    return slice_window([view], first, after, ctx.limits)

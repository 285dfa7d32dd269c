"""Which rows the caller may read: `gateway.auth.policy.ROWS` applied to loaded objects.

`admits(ctx, obj)` answers for one object about to leave the gateway (a node, a nested
reference, a subscription's subject); `narrowed(ctx, type)` tells list resolvers how to
cut their query at the source, so a page and its totalCount hold only admitted rows.
Facts the rules need (a consultant's assignments, a client's project managers) are read
once per request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from gateway.auth.policy import Rows, rows
from resolvers import billing, ids, links, people, projects, timesheets
from resolvers.context import RequestContext
from resolvers.links import PSA
from sources.records import Milestone, Project

__all__ = [
    "admits",
    "assigned_project_ids",
    "client_key",
    "narrowed",
    "reads_every",
    "resource_key",
]


def narrowed(ctx: RequestContext, node_type: str) -> frozenset[Rows]:
    """The caller's row rules for `node_type`: {EVERY}, some narrower rules, or none."""
    if not ctx.enforce_policy:
        return frozenset({Rows.EVERY})
    return rows(ctx.principal, node_type)


def reads_every(ctx: RequestContext, node_type: str) -> bool:
    """Whether the caller reads every row of `node_type`, kept for the request
    (`ctx.reads_every`): the policy asks for every row's node and link, and the rules'
    own `Rows.EVERY in ...` costs an enum hash in Python each time."""
    every = ctx.reads_every.get(node_type)
    if every is None:
        every = ctx.reads_every[node_type] = Rows.EVERY in narrowed(ctx, node_type)
    return every


def client_key(ctx: RequestContext) -> str | None:
    """The native key of the Client a portal user is bound to."""
    bound = ctx.principal.client_id if ctx.principal is not None else None
    return _key(bound, "Client")


def resource_key(ctx: RequestContext) -> str | None:
    """The native key of the Resource a consultant is."""
    bound = ctx.principal.resource_id if ctx.principal is not None else None
    return _key(bound, "Resource")


def _key(global_id: str | None, expected: str) -> str | None:
    if not global_id:
        return None
    try:
        return ids.decode(global_id, expected).key
    except ValueError:
        return None  # a token bound to something that is not an id binds to nothing


async def admits(ctx: RequestContext, obj: Any) -> bool:
    """May the caller read `obj`, a schema node (`Project.of(...)`, `Client.of(...)`)?"""
    rules = narrowed(ctx, type(obj).__name__)
    if Rows.EVERY in rules:
        return True
    for rule in rules:
        if await _CHECKS[rule](ctx, obj):
            return True
    return False


async def _own_client(ctx: RequestContext, obj: Any) -> bool:
    return client_key(ctx) is not None and obj.view.key == client_key(ctx)


async def _of_own_client(ctx: RequestContext, obj: Any) -> bool:
    record = obj.record
    if isinstance(record, Milestone):
        project = await projects.project(ctx, record.project_id)
        return project is not None and await _project_of_own_client(ctx, project)
    if isinstance(record, Project):
        return await _project_of_own_client(ctx, record)
    client = await billing.client(ctx, record)
    return client is not None and client.key == client_key(ctx)


async def _project_of_own_client(ctx: RequestContext, project: Project) -> bool:
    client = await projects.client(ctx, project)
    return client is not None and client.key == client_key(ctx)


async def _managing_own_projects(ctx: RequestContext, obj: Any) -> bool:
    return obj.view.key in await _memo(ctx, "managers", _managers_of_own_projects)


async def _managers_of_own_projects(ctx: RequestContext) -> frozenset[str]:
    key = client_key(ctx)
    if key is None:
        return frozenset()
    window = await projects.list_projects(ctx, ctx.limits.max_page_size, None, client_key=key)
    managers = [await projects.manager(ctx, project) for _, project in window.edges]
    return frozenset(view.key for view in managers if view is not None)


async def _self(ctx: RequestContext, obj: Any) -> bool:
    return resource_key(ctx) is not None and obj.view.key == resource_key(ctx)


async def _own(ctx: RequestContext, obj: Any) -> bool:
    person = await timesheets.resource(ctx, obj.record)
    return person is not None and person.key == resource_key(ctx)


async def _assigned(ctx: RequestContext, obj: Any) -> bool:
    return obj.record.id in await assigned_project_ids(ctx)


async def _of_assigned(ctx: RequestContext, obj: Any) -> bool:
    return obj.view.key in await _memo(ctx, "assigned_clients", _clients_of_assigned)


async def assigned_project_ids(ctx: RequestContext) -> frozenset[str]:
    """The PSA ids of the projects the consultant is assigned to."""
    return await _memo(ctx, "assigned", _assigned_projects)


async def _assigned_projects(ctx: RequestContext) -> frozenset[str]:
    key = resource_key(ctx)
    view = await links.resource_by_key(ctx, key) if key is not None else None
    if view is None:
        return frozenset()
    return frozenset(assignment.project_id for assignment in await people.assignments(ctx, view))


async def _clients_of_assigned(ctx: RequestContext) -> frozenset[str]:
    keys = set()
    for project_id in await assigned_project_ids(ctx):
        project = await links.by_id(ctx, PSA, "project", project_id, Project)
        client = await projects.client(ctx, project) if project is not None else None
        if client is not None:
            keys.add(client.key)
    return frozenset(keys)


async def _memo(
    ctx: RequestContext, name: str, compute: Callable[[RequestContext], Awaitable[frozenset[str]]]
) -> frozenset[str]:
    if name not in ctx.row_facts:
        ctx.row_facts[name] = await compute(ctx)
    return ctx.row_facts[name]


_CHECKS: dict[Rows, Callable[[RequestContext, Any], Awaitable[bool]]] = {
    Rows.OWN_CLIENT: _own_client,
    Rows.OF_OWN_CLIENT: _of_own_client,
    Rows.MANAGING_OWN_PROJECTS: _managing_own_projects,
    Rows.SELF: _self,
    Rows.OWN: _own,
    Rows.ASSIGNED: _assigned,
    Rows.OF_ASSIGNED: _of_assigned,
}

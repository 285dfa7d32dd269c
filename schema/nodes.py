"""`node(id)`: any object by its global id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from resolvers import billing, crm, ids, links, projects, timesheets, visibility
from resolvers.context import RequestContext
from resolvers.errors import InvalidInputError
from resolvers.links import PSA
from schema.billing import Invoice
from schema.clients import Client, Opportunity
from schema.common import Node
from schema.people import Resource
from schema.projects import Assignment, Milestone, Project, StaffingRequest
from schema.timesheets import TimeEntry
from schema.visibility import BusinessException
from schema.workflows import Workflow
from sources.records import Assignment as AssignmentRecord
from sources.records import Milestone as MilestoneRecord
from sources.records import StaffingRequest as StaffingRequestRecord

Load = Callable[[RequestContext, str], Awaitable[Any]]


def _psa(entity: str, kind: type[Any]) -> Load:
    async def load(ctx: RequestContext, key: str) -> Any:
        return await links.by_id(ctx, PSA, entity, key, kind)

    return load


async def _workflow(ctx: RequestContext, key: str) -> Any:
    return await ctx.workflows.get(key)


# Every node type, once: the strawberry type (its name is the one global ids carry, and
# `of` shows a loaded object) -> how to read one by the key its id encodes.
NODES: dict[type[Any], Load] = {
    Client: links.client_by_key,
    Opportunity: crm.opportunity,
    Project: projects.project,
    Milestone: _psa("milestone", MilestoneRecord),
    Assignment: _psa("assignment", AssignmentRecord),
    StaffingRequest: _psa("staffing_request", StaffingRequestRecord),
    Resource: links.resource_by_key,
    TimeEntry: timesheets.time_entry,
    Invoice: billing.invoice,
    Workflow: _workflow,
    BusinessException: visibility.exception,
}
_BY_NAME = {kind.__name__: (kind, load) for kind, load in NODES.items()}
if set(_BY_NAME) != ids.NODE_TYPES:
    raise RuntimeError(f"node types {sorted(_BY_NAME)} differ from ids.NODE_TYPES")


async def load_node(ctx: RequestContext, global_id: str, *, argument: str = "id") -> Node | None:
    """The object behind `global_id`, or None if its system has no such object.
    Raises `InvalidInputError` for an id that is not one of ours."""
    decoded = ids.decode(global_id, argument=argument)
    if decoded.type not in _BY_NAME:
        raise InvalidInputError(f"{argument}: {global_id!r} is not a valid id")
    kind, load = _BY_NAME[decoded.type]
    found = await load(ctx, decoded.key)
    node: Node | None = kind.of(found) if found is not None else None
    return node

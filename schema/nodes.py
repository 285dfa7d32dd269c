"""`node(id)`: any object by its global id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from resolvers import billing, crm, ids, links, projects, timesheets
from resolvers.context import RequestContext
from resolvers.links import PSA
from schema.billing import Invoice
from schema.clients import Client, Opportunity
from schema.common import Node
from schema.people import Resource
from schema.projects import Assignment, Milestone, Project, StaffingRequest
from schema.timesheets import TimeEntry
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


# type name -> (how to read it, how to show it)
NODES: dict[str, tuple[Load, Callable[[Any], Node]]] = {
    "Client": (links.client_by_key, Client.of),
    "Opportunity": (crm.opportunity, Opportunity.of),
    "Project": (projects.project, Project.of),
    "Milestone": (_psa("milestone", MilestoneRecord), Milestone.of),
    "Resource": (links.resource_by_key, Resource.of),
    "Assignment": (_psa("assignment", AssignmentRecord), Assignment.of),
    "StaffingRequest": (_psa("staffing_request", StaffingRequestRecord), StaffingRequest.of),
    "TimeEntry": (timesheets.time_entry, TimeEntry.of),
    "Invoice": (billing.invoice, Invoice.of),
    "Workflow": (_workflow, Workflow.of),
}


async def load_node(ctx: RequestContext, global_id: str, *, argument: str = "id") -> Node | None:
    """The object behind `global_id`, or None if its system has no such object.
    Raises `InvalidInputError` for an id that is not one of ours."""
    decoded = ids.decode(global_id, argument=argument)
    load, show = NODES[decoded.type]
    found = await load(ctx, decoded.key)
    return show(found) if found is not None else None

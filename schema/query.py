"""The Query root: every entry point of the read side.

Root lists are nullable, so a source that cannot be reached nulls only the lists it
serves and leaves the rest of the response intact.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from resolvers import crm, ids, scoped_lists, staffing
from resolvers.connections import page_size
from resolvers.errors import InvalidInputError
from schema import read_ahead
from schema.billing import Invoice
from schema.clients import Client, Opportunity
from schema.common import (
    Connection,
    GatewayInfo,
    InvoiceStatus,
    Node,
    OpportunityStage,
    ProjectStatus,
    StaffingRequestStatus,
    TimeEntryStatus,
    arg,
    connection,
    context,
    described,
)
from schema.nodes import load_node
from schema.people import Resource
from schema.policy import readable, readable_events
from schema.projects import Project, StaffingRequest
from schema.timesheets import TimeEntry
from schema.workflows import DomainEvent, Workflow, WorkflowStatus

MAX_EVENT_TYPES = 50


def _key(global_id: strawberry.ID | None, expected: str, argument: str) -> str | None:
    if global_id is None:
        return None
    return ids.decode(str(global_id), expected, argument=argument).key


@strawberry.type
class Query:
    @described("Any object by its global id.")
    async def node(self, info: GatewayInfo, id: strawberry.ID) -> Node | None:
        return await load_node(context(info), str(id))

    @strawberry.field
    async def clients(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[Client] | None:
        window = await scoped_lists.clients(context(info), first, after, search)
        return connection(window, Client.of)

    @strawberry.field
    async def projects(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        status: ProjectStatus | None = None,
        client_id: strawberry.ID | None = None,
        practice: str | None = None,
    ) -> Connection[Project] | None:
        read_ahead.start_health_reads(info, "edges", "node")
        window = await scoped_lists.project_list(
            context(info),
            first,
            after,
            status=arg(status),
            client_key=_key(client_id, "Client", "clientId"),
            practice=practice,
        )
        await read_ahead.read_projects_ahead(info, [project for _, project in window.edges])
        return connection(window, Project.of)

    @strawberry.field
    async def resources(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        practice: str | None = None,
        skill: str | None = None,
    ) -> Connection[Resource] | None:
        read_ahead.start_utilization_reads(info, first)
        window = await scoped_lists.resources(
            context(info), first, after, practice=practice, skill=skill
        )
        await read_ahead.read_resources_ahead(info, [view for _, view in window.edges])
        return connection(window, Resource.of)

    @described("Staffing requests (PSA resource requests), by status and the project's practice.")
    async def staffing_requests(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        status: StaffingRequestStatus | None = None,
        practice: str | None = None,
    ) -> Connection[StaffingRequest] | None:
        window = await staffing.list_requests(
            context(info), first, after, status=arg(status), practice=practice
        )
        return connection(window, StaffingRequest.of)

    @strawberry.field
    async def opportunities(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        stage: OpportunityStage | None = None,
    ) -> Connection[Opportunity] | None:
        window = await crm.list_opportunities(context(info), first, after, stage=arg(stage))
        return connection(window, Opportunity.of)

    @strawberry.field
    async def invoices(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        status: InvoiceStatus | None = None,
        client_id: strawberry.ID | None = None,
    ) -> Connection[Invoice] | None:
        if readable(context(info), "Invoice", "project"):
            read_ahead.start_health_reads(info, "edges", "node", "project")
        window = await scoped_lists.invoices(
            context(info),
            first,
            after,
            status=arg(status),
            client_key=_key(client_id, "Client", "clientId"),
        )
        await read_ahead.read_invoices_ahead(info, [invoice for _, invoice in window.edges])
        return connection(window, Invoice.of)

    @strawberry.field
    async def time_entries(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        status: TimeEntryStatus | None = None,
        project_id: strawberry.ID | None = None,
        resource_id: strawberry.ID | None = None,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
    ) -> Connection[TimeEntry] | None:
        if from_ is not None and to is not None and to < from_:
            raise InvalidInputError(f"to ({to}) is before from ({from_})")
        window = await scoped_lists.time_entries(
            context(info),
            first,
            after,
            status=arg(status),
            project_id=_key(project_id, "Project", "projectId"),
            resource_key=_key(resource_id, "Resource", "resourceId"),
            date_from=from_,
            date_to=to,
        )
        return connection(window, TimeEntry.of)

    @strawberry.field
    async def workflow(self, info: GatewayInfo, id: strawberry.ID) -> Workflow | None:
        key = _key(id, "Workflow", "id")
        view = await context(info).workflows.get(key) if key is not None else None
        return Workflow.of(view) if view is not None else None

    @strawberry.field
    async def workflows(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        status: WorkflowStatus | None = None,
    ) -> Connection[Workflow]:
        ctx = context(info)
        window = await ctx.workflows.page(
            status=arg(status), first=page_size(first, ctx.limits), after=after
        )
        return connection(window, Workflow.of)

    @described("Domain events after a cursor, oldest first.")
    async def events(
        self,
        info: GatewayInfo,
        after: str | None = None,
        types: list[str] | None = None,
        first: int | None = None,
    ) -> list[DomainEvent]:
        ctx = context(info)
        if types is not None and len(types) > MAX_EVENT_TYPES:
            raise InvalidInputError(f"types: at most {MAX_EVENT_TYPES}")
        found = await ctx.events.read(after=after, types=types, limit=page_size(first, ctx.limits))
        return await readable_events(ctx, [DomainEvent.of(event) for event in found])

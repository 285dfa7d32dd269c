"""The Query root: every entry point of the read side.

Root lists are nullable, so a source that cannot be reached nulls only the lists it
serves and leaves the rest of the response intact.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated

import strawberry

from gateway.auth.policy import Rows
from resolvers import billing, crm, health, ids, links, people, scope, scoped_lists, staffing
from resolvers import clients as client_links
from resolvers import projects as project_links
from resolvers.connections import page_size
from resolvers.errors import InvalidInputError
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
    answered_by_the_row,
    arg,
    arguments_at,
    connection,
    context,
    described,
    selected_below,
)
from schema.nodes import load_node
from schema.people import Resource
from schema.policy import readable, readable_events
from schema.projects import ANSWERED_BY_THE_ROW, Project, StaffingRequest
from schema.timesheets import TimeEntry
from schema.workflows import DomainEvent, Workflow, WorkflowStatus
from sources.records import Invoice as InvoiceRecord
from sources.records import Project as ProjectRecord

MAX_EVENT_TYPES = 50


def _start_health_reads(info: GatewayInfo, *rows: str) -> None:
    """When the query asks for the health of the projects at `rows` (a path below the
    list being resolved), start the reads every project's health shares before the list's
    own page is read."""
    figures = _readable_figures(info, *rows)
    if figures:
        health.start_portfolio_reads(context(info), figures)


def _readable_figures(info: GatewayInfo, *rows: str) -> frozenset[str]:
    """The health figures the query asks of the projects at `rows` that the caller may
    read: the others are refused, so nothing is read for them ahead of the rows."""
    ctx = context(info)
    figures = selected_below(info, *rows, "health")
    if not figures or not readable(ctx, "Project", "health"):
        return frozenset()
    return frozenset(figure for figure in figures if readable(ctx, "ProjectHealth", figure))


# What a page of projects can read for all its rows before answering them.
READ_AHEAD = ANSWERED_BY_THE_ROW | {"client", "manager", "financeCode", "health"}
# ...and a page of invoices, for their clients and projects.
CLIENT_READ_AHEAD = answered_by_the_row(Client) | {"creditStatus", "paymentTerms", "receivables"}
INVOICE_READ_AHEAD = answered_by_the_row(Invoice) | {"client", "project"}


async def _read_ahead(
    info: GatewayInfo, rows: list[ProjectRecord], fields: set[str], *at: str
) -> None:
    """Each level of what the rows (at `at`, a path below the list being resolved)
    select read for the whole page, the independent reads side by side; the rows' own
    fields then find them read (`*_if_read`)."""
    ctx = context(info)
    reads = []
    if "client" in fields:
        reads.append(project_links.prefetch_clients(ctx, rows))
    if "manager" in fields:
        managers = [project.manager_user_id for project in rows]
        reads.append(links.read_people_of_psa_users(ctx, managers))
    if "financeCode" in fields:
        reads.append(project_links.read_finance_codes(ctx, rows))
    figures = _readable_figures(info, *at)
    if figures:
        reads.append(health.read_ahead(ctx, rows, figures))
    await asyncio.gather(*reads)


def _invoices_read_ahead(info: GatewayInfo) -> set[str] | None:
    """The fields a page of invoices' rows select, when all of them, and all their
    clients' and projects' fields, can be read for the whole page; else None."""
    fields = selected_below(info, "edges", "node")
    if (
        fields <= INVOICE_READ_AHEAD
        and selected_below(info, "edges", "node", "client") <= CLIENT_READ_AHEAD
        and selected_below(info, "edges", "node", "project") <= READ_AHEAD
    ):
        return fields
    return None


async def _read_invoices_ahead(
    info: GatewayInfo, rows: list[InvoiceRecord], fields: set[str]
) -> None:
    """As `_read_ahead`, for a page of invoices: their clients with what the clients
    select, beside their projects with what the projects select."""
    ctx = context(info)

    async def clients() -> None:
        views = await billing.read_clients(ctx, rows)
        terms = selected_below(info, "edges", "node", "client")
        if terms & {"creditStatus", "paymentTerms", "receivables"}:
            await client_links.read_billing_terms(ctx, views, receivables="receivables" in terms)

    async def projects() -> None:
        found = await billing.read_projects(ctx, rows)
        below = selected_below(info, "edges", "node", "project")
        await _read_ahead(info, found, below, "edges", "node", "project")

    reads = []
    if "client" in fields and readable(ctx, "Invoice", "client"):
        reads.append(clients())
    if "project" in fields and readable(ctx, "Invoice", "project"):
        reads.append(projects())
    await asyncio.gather(*reads)


def _start_utilization_reads(info: GatewayInfo, first: int | None) -> None:
    """When the query asks for the utilization of a page of people, start the TIME reads
    it needs before the page itself is read (see `people.start_utilization_reads`)."""
    ctx = context(info)
    if not readable(ctx, "Resource", "utilization"):
        return
    every = Rows.EVERY in scope.narrowed(ctx, "Resource")
    for arguments in arguments_at(info, "edges", "node", "utilization"):
        start, end = _day(arguments.get("from")), _day(arguments.get("to"))
        if start is not None and end is not None and start <= end:
            rows = page_size(first, ctx.limits) if every else 1
            people.start_utilization_reads(ctx, start, end, rows)


def _day(value: object) -> date | None:
    """A Date argument as given (a variable's parsed date, or a literal's text); None for
    anything else, which the field itself will refuse."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


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
        _start_health_reads(info, "edges", "node")
        window = await scoped_lists.project_list(
            context(info),
            first,
            after,
            status=arg(status),
            client_key=_key(client_id, "Client", "clientId"),
            practice=practice,
        )
        rows = [project for _, project in window.edges]
        fields = selected_below(info, "edges", "node")
        if fields <= READ_AHEAD:
            # Everything the rows read can be read for the page at once: wait, and each
            # row answers at once, without a coroutine per row and field.
            await _read_ahead(info, rows, fields, "edges", "node")
        elif "client" in fields:
            # The rows read other sources too: theirs must not wait for the clients.
            project_links.start_client_reads(context(info), rows)
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
        _start_utilization_reads(info, first)
        window = await scoped_lists.resources(
            context(info), first, after, practice=practice, skill=skill
        )
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
            _start_health_reads(info, "edges", "node", "project")
        window = await scoped_lists.invoices(
            context(info),
            first,
            after,
            status=arg(status),
            client_key=_key(client_id, "Client", "clientId"),
        )
        fields = _invoices_read_ahead(info)
        if fields is not None:
            await _read_invoices_ahead(info, [invoice for _, invoice in window.edges], fields)
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

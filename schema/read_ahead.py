"""What a top-level list reads for its whole page, before its rows would read for
themselves.

- Reads that depend on no row start before the list's own page is read:
  `start_health_reads` (TIME's project summaries and code index, for health figures) and
  `start_utilization_reads` (TIME's users and the range's scans, for utilization).
- Once the page is read, `read_projects_ahead`, `read_invoices_ahead` and
  `read_resources_ahead` read, a level at a time for the whole page and independent
  reads side by side, everything the rows select, when all of it can be read that way
  (`READ_AHEAD`...); the rows' fields then answer without a coroutine each
  (`schema.common.at_once`). When the rows select anything else, each reads for itself,
  as before.

See docs/architecture.md, "Experience API".
"""

from __future__ import annotations

import asyncio
from datetime import date

from resolvers import billing, health, links, people, scope
from resolvers import clients as client_links
from resolvers import projects as project_links
from resolvers.connections import page_size
from resolvers.links import ERP, PSA, ResourceView
from schema.billing import Invoice
from schema.clients import Client
from schema.common import GatewayInfo, answered_by_the_row, arguments_at, context, selected_below
from schema.people import Resource
from schema.policy import readable
from schema.projects import ANSWERED_BY_THE_ROW
from sources.records import Customer, Job
from sources.records import Invoice as InvoiceRecord
from sources.records import Project as ProjectRecord


def start_health_reads(info: GatewayInfo, *rows: str) -> None:
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
TERMS = frozenset({"creditStatus", "paymentTerms", "receivables"})
CLIENT_READ_AHEAD = answered_by_the_row(Client) | TERMS
INVOICE_READ_AHEAD = answered_by_the_row(Invoice) | {"client", "project"}
# ...and a page of people, for their managers and utilization.
RESOURCE_READ_AHEAD = answered_by_the_row(Resource) | {"manager", "utilization"}


async def _read_projects(
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


def _invoice_fields(info: GatewayInfo) -> set[str] | None:
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


async def _read_invoices(info: GatewayInfo, rows: list[InvoiceRecord], fields: set[str]) -> None:
    """As `_read_projects`, for a page of invoices: their clients with what the clients
    select, beside their projects with what the projects select.

    A client's ERP customers are found by its CRM account and a project's ERP jobs by
    its PSA id, a level after the account or project. The invoices' own customers and
    jobs name those accounts and projects and are among what will be found, so those
    reads and the figures of the invoices' customers and jobs are read beside the
    accounts and projects: a level less. Only a second customer of an account, or job of
    a project, found that way still costs its figures a level more."""
    ctx = context(info)

    async def clients() -> None:
        selected = selected_below(info, "edges", "node", "client")
        terms, receivables = bool(selected & TERMS), "receivables" in selected
        customer_ids = (invoice.customer_id for invoice in rows)
        customers = await links.read_by_id(ctx, ERP, "customer", customer_ids, Customer)
        accounts = [customer.crm_account_id for customer in customers]
        beside = [links.prefetch_clients(ctx, accounts)]
        if terms:
            beside.append(links.read_children(ctx, ERP, "customer", "crm_account_id", accounts))
        if receivables:
            beside.append(client_links.read_receivables(ctx, (c.id for c in customers)))
        await asyncio.gather(*beside)
        if terms:
            views = billing.clients_read(ctx, rows)
            await client_links.read_billing_terms(ctx, views, receivables=receivables)

    async def projects() -> None:
        below = selected_below(info, "edges", "node", "project")
        figures = _readable_figures(info, "edges", "node", "project")
        jobs = await links.read_by_id(ctx, ERP, "job", (invoice.job_id for invoice in rows), Job)
        project_ids = [job.psa_project_id for job in jobs]
        beside = [links.settle_all(health.per_job_reads(ctx, (job.id for job in jobs), figures))]
        finance_code = "financeCode" in below and project_links.finance_code_reads_jobs(ctx)
        if finance_code or health.reads_jobs(figures):
            beside.append(links.read_children(ctx, ERP, "job", "psa_project_id", project_ids))
        found, _ = await asyncio.gather(
            links.read_by_id(ctx, PSA, "project", project_ids, ProjectRecord),
            asyncio.gather(*beside),
        )
        await _read_projects(info, found, below, "edges", "node", "project")

    reads = []
    if "client" in fields and readable(ctx, "Invoice", "client"):
        reads.append(clients())
    if "project" in fields and readable(ctx, "Invoice", "project"):
        reads.append(projects())
    await asyncio.gather(*reads)


def start_utilization_reads(info: GatewayInfo, first: int | None) -> None:
    """When the query asks for the utilization of a page of people, start the TIME reads
    it needs before the page itself is read (see `people.start_utilization_reads`)."""
    ctx = context(info)
    if not readable(ctx, "Resource", "utilization"):
        return
    every = scope.reads_every(ctx, "Resource")
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


async def read_projects_ahead(info: GatewayInfo, rows: list[ProjectRecord]) -> None:
    """For `Query.projects`, once its page is read (see the module's docstring)."""
    fields = selected_below(info, "edges", "node")
    if fields <= READ_AHEAD:
        # Everything the rows read can be read for the page at once: wait, and each row
        # answers at once, without a coroutine per row and field.
        await _read_projects(info, rows, fields, "edges", "node")
    elif "client" in fields:
        # The rows read other sources too: theirs must not wait for the clients.
        project_links.start_client_reads(context(info), rows)


async def read_invoices_ahead(info: GatewayInfo, rows: list[InvoiceRecord]) -> None:
    """For `Query.invoices`, once its page is read (see the module's docstring)."""
    fields = _invoice_fields(info)
    if fields is not None:
        await _read_invoices(info, rows, fields)


async def read_resources_ahead(info: GatewayInfo, views: list[ResourceView]) -> None:
    """For `Query.resources`, once its page is read (see the module's docstring): the
    rows' managers beside the hours of each range their utilization is asked over."""
    fields = selected_below(info, "edges", "node")
    if not fields <= RESOURCE_READ_AHEAD:
        return
    ctx = context(info)
    reads = []
    if "manager" in fields and readable(ctx, "Resource", "manager"):
        reads.append(people.read_managers(ctx, views))
    if "utilization" in fields and readable(ctx, "Resource", "utilization"):
        for arguments in arguments_at(info, "edges", "node", "utilization"):
            start, end = _day(arguments.get("from")), _day(arguments.get("to"))
            if start is not None and end is not None:
                reads.append(people.read_utilization(ctx, views, start, end))
    await asyncio.gather(*reads)

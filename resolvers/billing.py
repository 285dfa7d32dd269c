"""Invoices, read from the ERP."""

from __future__ import annotations

from typing import Any

from resolvers import links
from resolvers.connections import Window
from resolvers.context import RequestContext
from resolvers.links import ERP, PSA, ClientView
from resolvers.listing import list_records, nothing
from sources.records import Invoice, Job, Project


async def list_invoices(
    ctx: RequestContext,
    first: int | None,
    after: str | None,
    *,
    status: str | None = None,
    client_key: str | None = None,
) -> Window[Invoice]:
    filters: dict[str, Any] = {"status": status} if status else {}
    if client_key is not None:
        view = await links.client_by_key(ctx, client_key)
        customers = await links.erp_customers(ctx, view) if view is not None else []
        if not customers:
            return nothing()
        filters["customer_id"] = [c.id for c in customers]

    return await list_records(ctx, ERP, "invoice", Invoice, filters, first, after)


async def invoice(ctx: RequestContext, invoice_id: str | None) -> Invoice | None:
    return await links.by_id(ctx, ERP, "invoice", invoice_id, Invoice)


async def client(ctx: RequestContext, invoice: Invoice) -> ClientView | None:
    return await links.client_of_customer(ctx, invoice.customer_id)


async def project(ctx: RequestContext, invoice: Invoice) -> Project | None:
    job = await links.by_id(ctx, ERP, "job", invoice.job_id, Job)
    if job is None:
        return None
    return await links.by_id(ctx, PSA, "project", job.psa_project_id, Project)


def client_if_read(ctx: RequestContext, invoice: Invoice) -> tuple[bool, ClientView | None]:
    """`client(ctx, invoice)` without waiting, when this request has read it."""
    return links.client_of_customer_if_read(ctx, invoice.customer_id)


def project_if_read(ctx: RequestContext, invoice: Invoice) -> tuple[bool, Project | None]:
    """`project(ctx, invoice)` without waiting, when this request has read it."""
    if not invoice.job_id:
        return True, None
    read, job = ctx.loaders.peek(ERP, "job", invoice.job_id)
    if not read or job is None or not job.psa_project_id:
        return read, None
    read, found = ctx.loaders.peek(PSA, "project", job.psa_project_id)
    return (True, found) if read else (False, None)


def clients_read(ctx: RequestContext, page: list[Invoice]) -> list[ClientView]:
    """The clients of a page of invoices that this request has read, each once."""
    found = (client_if_read(ctx, invoice) for invoice in page)
    return list({view.key: view for read, view in found if read and view is not None}.values())

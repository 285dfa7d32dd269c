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

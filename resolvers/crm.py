"""Opportunities, read from the CRM."""

from __future__ import annotations

from resolvers import links
from resolvers.connections import Window
from resolvers.context import RequestContext
from resolvers.links import CRM, PSA, ClientView
from resolvers.listing import list_records
from sources.records import Opportunity, Project


async def list_opportunities(
    ctx: RequestContext, first: int | None, after: str | None, *, stage: str | None = None
) -> Window[Opportunity]:
    filters = {"stage": stage} if stage else {}

    return await list_records(ctx, CRM, "opportunity", Opportunity, filters, first, after)


async def opportunity(ctx: RequestContext, opportunity_id: str | None) -> Opportunity | None:
    return await links.by_id(ctx, CRM, "opportunity", opportunity_id, Opportunity)


async def client(ctx: RequestContext, deal: Opportunity) -> ClientView | None:
    return await links.client(ctx, deal.account_id)


async def project(ctx: RequestContext, deal: Opportunity) -> Project | None:
    """The PSA project made for this deal: PSA's own link, or the one written back."""
    found = await links.children(ctx, PSA, "project", "crm_opportunity_id", deal.id, Project)
    if found:
        return links.first_by_id(found, deal.psa_project_id)
    return await links.by_id(ctx, PSA, "project", deal.psa_project_id, Project)

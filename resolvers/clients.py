"""Clients: the CRM account merged with its ERP customer(s)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, cast

from resolvers import links
from resolvers.authority import Conflict
from resolvers.connections import Window, slice_window, vendor_window
from resolvers.context import Report, RequestContext
from resolvers.links import CRM, ERP, PSA, ClientView
from resolvers.loaders import settle
from resolvers.values import Money, SystemRef, ref
from sources.errors import SourceError
from sources.records import Account, Customer, Invoice, Opportunity, Project

RECEIVABLES_DEPEND_ON = frozenset({"invoice", "payment"})


async def list_clients(
    ctx: RequestContext, first: int | None, after: str | None, search: str | None
) -> Window[ClientView]:
    filters = {"search": search} if search else {}

    fetch = ctx.loaders.pages(CRM, "account", filters)
    ahead = ctx.loaders.pages_ahead(CRM, "account", filters)
    window = await vendor_window(fetch, first, after, ctx.limits, ahead=ahead)
    ctx.loaders.listed(CRM, "account", [account for _, account in window.edges])
    return window.map(lambda account: ClientView(account.id, cast(Account, account)))


async def primary_customer(ctx: RequestContext, view: ClientView) -> Customer | None:
    """The ERP customer whose billing terms the client shows (the lowest id when the
    ERP holds duplicates; `conflicts` lists the others)."""
    customers = await links.erp_customers(ctx, view)
    return customers[0] if customers else None


def primary_customer_if_read(ctx: RequestContext, view: ClientView) -> tuple[bool, Customer | None]:
    """`primary_customer(ctx, view)` without waiting, when this request has read it."""
    read, customers = links.erp_customers_if_read(ctx, view)
    return read, (customers[0] if customers else None)


async def receivables(ctx: RequestContext, view: ClientView) -> Money | None:
    customers = await links.erp_customers(ctx, view)
    if not customers:
        return None
    amounts = await _receivables(ctx).load_many([c.id for c in customers])
    return _owed(customers, amounts)


def receivables_if_read(ctx: RequestContext, view: ClientView) -> tuple[bool, Money | None]:
    """`receivables(ctx, view)` without waiting, when this request has read them."""
    read, customers = links.erp_customers_if_read(ctx, view)
    if not read or not customers:
        return read, None
    amounts = []
    for customer in customers:
        read, amount = ctx.loaders.peek_aggregate(ERP, "receivables", customer.id)
        if not read:
            return False, None
        amounts.append(amount)
    return True, _owed(customers, amounts)


async def read_billing_terms(
    ctx: RequestContext, views: list[ClientView], *, receivables: bool
) -> None:
    """What `primary_customer` and, when asked, `receivables` read for clients `views`,
    a level each for all of them (see `links.prefetch_clients`)."""
    await links.read_erp_customers(ctx, views)
    if receivables:
        found = (c.id for view in views for c in links.erp_customers_if_read(ctx, view)[1])
        await read_receivables(ctx, found)


async def read_receivables(ctx: RequestContext, customer_ids: Iterable[str]) -> None:
    """What `receivables` reads for ERP customers `customer_ids`, in one read."""
    loader = _receivables(ctx)
    await links.settle_all([loader.load(customer_id) for customer_id in set(customer_ids)])


def _receivables(ctx: RequestContext) -> Any:
    return ctx.loaders.aggregate_by_id(ERP, "receivables", depends_on=RECEIVABLES_DEPEND_ON)


def _owed(customers: list[Customer], amounts: list[Any]) -> Money:
    total = sum((a for a in amounts if a is not None), Decimal("0"))
    return Money(total, customers[0].currency)


async def conflicts(ctx: RequestContext, view: ClientView) -> list[Conflict]:
    """Where the client's ERP customers disagree with its CRM account, and duplicate ERP
    customers (on the field `customerId`): a second customer linked to the same account,
    or one with no link to the CRM under the same company name."""
    if view.account is None:
        return []
    customers, unlinked = await settle(
        links.erp_customers(ctx, view), links.unlinked_namesakes(ctx, view.account.name)
    )
    found: list[Conflict] = []
    for customer in customers:
        found.extend(
            ctx.authority.conflicts("client", "name", {CRM: view.account.name, ERP: customer.name})
        )
    duplicates = customers[1:] + unlinked
    if duplicates:
        keep = customers[0].id if customers else None
        found.extend(Conflict("customerId", ERP, keep, ERP, d.id) for d in duplicates)
    return found


async def system_refs(ctx: RequestContext, view: ClientView, report: Report) -> list[SystemRef]:
    refs = [ref(CRM, view.account)] if view.account is not None else []
    try:
        refs.extend(ref(ERP, c) for c in await links.erp_customers(ctx, view))
    except SourceError as error:
        report(error)
    return refs


async def opportunities(
    ctx: RequestContext, view: ClientView, first: int | None, after: str | None
) -> Window[Opportunity]:
    account_id = view.account.id if view.account is not None else None
    found = await links.children(ctx, CRM, "opportunity", "account_id", account_id, Opportunity)
    return slice_window(sorted(found, key=lambda o: o.id), first, after, ctx.limits)


async def projects(
    ctx: RequestContext,
    view: ClientView,
    first: int | None,
    after: str | None,
    status: str | None,
) -> Window[Project]:
    account_id = view.account.id if view.account is not None else None
    filters = {"status": status} if status else {}
    found = await links.children(
        ctx, PSA, "project", "crm_account_id", account_id, Project, **filters
    )
    return slice_window(sorted(found, key=lambda p: p.code), first, after, ctx.limits)


async def invoices(
    ctx: RequestContext,
    view: ClientView,
    first: int | None,
    after: str | None,
    status: str | None,
) -> Window[Invoice]:
    customers = await links.erp_customers(ctx, view)
    filters = {"status": status} if status else {}
    groups = await settle(
        *(
            links.children(ctx, ERP, "invoice", "customer_id", c.id, Invoice, **filters)
            for c in customers
        )
    )
    found = [invoice for group in groups for invoice in group]
    return slice_window(_newest_first(found), first, after, ctx.limits)


def _newest_first(invoices: list[Invoice]) -> list[Invoice]:
    return sorted(
        invoices, key=lambda i: (i.issue_date is not None, i.issue_date, i.id), reverse=True
    )

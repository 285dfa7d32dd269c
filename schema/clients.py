"""Client (CRM account + ERP customer) and Opportunity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from operator import attrgetter
from typing import Annotated

import strawberry

from resolvers import clients as resolve
from resolvers import crm, ids
from resolvers.context import RequestContext
from resolvers.links import CRM, ClientView, dangling
from resolvers.values import ref
from schema.common import (
    Connection,
    FieldConflict,
    GatewayInfo,
    InvoiceStatus,
    Money,
    Node,
    OpportunityStage,
    ProjectStatus,
    SystemRef,
    arg,
    at_once,
    conflicts,
    connection,
    context,
    described,
    enum_value,
    money,
    refs,
)
from schema.shared_views import shared
from sources.records import Customer
from sources.records import Opportunity as OpportunityRecord

ProjectRef = Annotated["Project", strawberry.lazy("schema.projects")]
InvoiceRef = Annotated["Invoice", strawberry.lazy("schema.billing")]


@strawberry.type(description="A client: the CRM account, with billing terms from the ERP.")
class Client(Node):
    name: str
    industry: str | None
    region: str | None
    account_owner: str | None
    view: strawberry.Private[ClientView]

    @classmethod
    @shared(lambda view: (view.account, view.customer))
    def of(cls, view: ClientView) -> Client:
        account, customer = view.account, view.customer
        if account is not None:
            return cls(
                id=strawberry.ID(ids.encode("Client", view.key)),
                name=account.name,
                industry=account.industry,
                region=account.region,
                account_owner=account.owner,
                view=view,
            )
        assert customer is not None  # a view has one or the other
        return cls(
            id=strawberry.ID(ids.encode("Client", view.key)),
            name=customer.name,
            industry=None,
            region=None,
            account_owner=None,
            view=view,
        )

    # The billing terms and receivables are not `async` (see `at_once`).
    @described("ERP-owned.")
    def payment_terms(self, info: GatewayInfo) -> str | None:
        return self._term(context(info), attrgetter("payment_terms"))

    @described("ERP-owned.")
    def credit_status(self, info: GatewayInfo) -> str | None:
        return self._term(context(info), attrgetter("credit_status"))

    def _term(self, ctx: RequestContext, term: Callable[[Customer], str | None]) -> str | None:
        found = resolve.primary_customer_if_read(ctx, self.view)
        return at_once(found, term, self._term_read, ctx, term)

    async def _term_read(
        self, ctx: RequestContext, term: Callable[[Customer], str | None]
    ) -> str | None:
        customer = await resolve.primary_customer(ctx, self.view)
        return term(customer) if customer is not None else None

    @described(
        "The client's id in each system; a system that cannot be reached is "
        "left out and named in the response's errors."
    )
    async def system_refs(self, info: GatewayInfo) -> list[SystemRef]:
        ctx = context(info)
        found = await resolve.system_refs(ctx, self.view, ctx.reporter(info.path.as_list()))
        return refs(found)

    @described("Where the CRM and the ERP disagree about this client.")
    async def conflicts(self, info: GatewayInfo) -> list[FieldConflict] | None:
        return conflicts(await resolve.conflicts(context(info), self.view))

    @strawberry.field
    async def opportunities(
        self, info: GatewayInfo, first: int | None = None, after: str | None = None
    ) -> Connection[Opportunity] | None:
        window = await resolve.opportunities(context(info), self.view, first, after)
        return connection(window, Opportunity.of)

    @strawberry.field
    async def projects(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        status: ProjectStatus | None = None,
    ) -> Connection[ProjectRef] | None:
        window = await resolve.projects(context(info), self.view, first, after, arg(status))
        return connection(window, Project.of)

    @strawberry.field
    async def invoices(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        status: InvoiceStatus | None = None,
    ) -> Connection[InvoiceRef] | None:
        window = await resolve.invoices(context(info), self.view, first, after, arg(status))
        return connection(window, Invoice.of)

    @described("Open AR balance from the ERP.")
    def receivables(self, info: GatewayInfo) -> Money | None:
        ctx = context(info)
        return at_once(
            resolve.receivables_if_read(ctx, self.view), Money.of, self._receivables, ctx
        )

    async def _receivables(self, ctx: RequestContext) -> Money | None:
        return Money.of(await resolve.receivables(ctx, self.view))


@strawberry.type
class Opportunity(Node):
    name: str
    stage: OpportunityStage
    amount: Money | None
    close_date: date | None
    practice: str | None
    region: str | None
    system_refs: list[SystemRef]
    record: strawberry.Private[OpportunityRecord]

    @classmethod
    def of(cls, deal: OpportunityRecord) -> Opportunity:
        return cls(
            id=strawberry.ID(ids.encode("Opportunity", deal.id)),
            name=deal.name,
            stage=enum_value(OpportunityStage, deal.stage, CRM),
            amount=money(deal.amount, deal.currency),
            close_date=deal.close_date,
            practice=deal.practice,
            region=deal.region,
            system_refs=[SystemRef.of(ref(CRM, deal))],
            record=deal,
        )

    @strawberry.field
    async def client(self, info: GatewayInfo) -> Client:
        view = await crm.client(context(info), self.record)
        if view is None:
            raise dangling(
                CRM, f"opportunity {self.record.id} names account {self.record.account_id}"
            )
        return Client.of(view)

    @described("Null until a project exists for it.")
    async def project(self, info: GatewayInfo) -> ProjectRef | None:
        found = await crm.project(context(info), self.record)
        return Project.of(found) if found is not None else None


# Below the classes: these modules and this one refer to one another's types, and a row's
# field imported them on every call (~1 µs each, a few per row on a 1,000-row board).
from schema.billing import Invoice  # noqa: E402
from schema.projects import Project  # noqa: E402

"""Invoice, from the ERP."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from resolvers import billing as resolve
from resolvers import ids
from resolvers.context import RequestContext
from resolvers.links import ERP
from resolvers.values import ref
from schema.common import (
    GatewayInfo,
    InvoiceStatus,
    Money,
    Node,
    SystemRef,
    at_once,
    context,
    described,
    enum_value,
)
from schema.shared_views import shared
from sources.records import Invoice as InvoiceRecord

ClientRef = Annotated["Client", strawberry.lazy("schema.clients")]
ProjectRef = Annotated["Project", strawberry.lazy("schema.projects")]


@strawberry.type
class Invoice(Node):
    number: str | None
    status: InvoiceStatus
    amount: Money
    issue_date: date | None
    due_date: date | None
    paid_at: datetime | None
    blocked_reason: str | None
    system_refs: list[SystemRef]
    record: strawberry.Private[InvoiceRecord]

    @classmethod
    @shared()
    def of(cls, invoice: InvoiceRecord) -> Invoice:
        return cls(
            id=strawberry.ID(ids.encode("Invoice", invoice.id)),
            number=invoice.number,
            status=enum_value(InvoiceStatus, invoice.status, ERP),
            amount=Money(amount=invoice.amount, currency=invoice.currency),
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            paid_at=invoice.paid_at,
            blocked_reason=invoice.blocked_reason,
            system_refs=[SystemRef.of(ref(ERP, invoice))],
            record=invoice,
        )

    # `client` and `project` are not `async` (see `at_once`).
    @described("Null when the CRM cannot be reached.")
    def client(self, info: GatewayInfo) -> ClientRef | None:
        ctx = context(info)
        return at_once(resolve.client_if_read(ctx, self.record), Client.of, self._client, ctx)

    async def _client(self, ctx: RequestContext) -> ClientRef | None:
        view = await resolve.client(ctx, self.record)
        return Client.of(view) if view is not None else None

    @strawberry.field
    def project(self, info: GatewayInfo) -> ProjectRef | None:
        ctx = context(info)
        return at_once(resolve.project_if_read(ctx, self.record), Project.of, self._project, ctx)

    async def _project(self, ctx: RequestContext) -> ProjectRef | None:
        found = await resolve.project(ctx, self.record)
        return Project.of(found) if found is not None else None


# Below the classes: these modules and this one refer to one another's types, and a row's
# field imported them on every call (~1 µs each, a few per row on a 1,000-row board).
from schema.clients import Client  # noqa: E402
from schema.projects import Project  # noqa: E402

"""Business visibility: `Query.exceptions`, `Query.kpis`, `acknowledgeException`,
`remediateException` and `Subscription.exceptionsChanged` (merge the roots in with
`strawberry.tools.merge_types`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, Callable
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, TypeVar, cast

import strawberry

from gateway.store.records import BusinessExceptionRow
from gateway.visibility.findings import ExceptionKind
from gateway.visibility.kpis import DurationStats as DurationFigures
from gateway.visibility.kpis import Kpis as KpiFigures
from resolvers import ids
from resolvers import visibility as resolve
from resolvers.connections import slice_window
from schema.common import (
    Connection,
    GatewayInfo,
    Money,
    Node,
    SourceSystem,
    connection,
    context,
    described,
)
from schema.workflows import Workflow

F = TypeVar("F", bound=Callable[..., Any])


def _mutation(description: str) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.mutation(description=description))


def _subscription(description: str) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.subscription(description=description))


# The kinds are the monitor's own (gateway.visibility.findings), named once.
strawberry.enum(ExceptionKind)


@strawberry.enum
class ExceptionStatus(Enum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"


@strawberry.enum
class Team(Enum):
    FINANCE = "FINANCE"
    PMO = "PMO"
    INTEGRATION = "INTEGRATION"


@strawberry.type(description="A business condition found in the sources that needs a person.")
class BusinessException(Node):
    kind: ExceptionKind
    status: ExceptionStatus
    owner_team: Team
    priority: int = strawberry.field(description="Higher first; from revenueAtRisk and age.")
    revenue_at_risk: Money | None
    summary: str
    suggested_action: str | None
    source: SourceSystem | None
    detected_at: dt.datetime
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None = strawberry.field(
        description="Set when the condition clears, by whatever means."
    )
    row: strawberry.Private[BusinessExceptionRow]

    @classmethod
    def of(cls, row: BusinessExceptionRow) -> BusinessException:
        amount = Decimal(row.amount_at_risk) if row.amount_at_risk is not None else None
        return cls(
            id=strawberry.ID(ids.encode("BusinessException", row.id)),
            kind=ExceptionKind(row.kind),
            status=ExceptionStatus(row.status),
            owner_team=Team(row.owner_team),
            priority=resolve.rank(row, dt.datetime.now(dt.UTC)),
            revenue_at_risk=Money(amount=amount, currency=row.currency or "USD")
            if amount is not None
            else None,
            summary=row.summary,
            suggested_action=row.suggested_action,
            source=SourceSystem(row.source) if row.source else None,
            detected_at=row.detected_at,
            acknowledged_at=row.acknowledged_at,
            resolved_at=row.resolved_at,
            row=row,
        )

    @described("The project, invoice, client, time entry or workflow it is about.")
    async def subject(self, info: GatewayInfo) -> Node | None:
        from schema.nodes import load_node  # nodes imports every node type, this one too

        if not self.row.subject_type or not self.row.subject_key:
            return None
        global_id = ids.encode(self.row.subject_type, self.row.subject_key)
        return await load_node(context(info), global_id)


@strawberry.type
class DurationStats:
    count: int
    p50_seconds: float | None
    p90_seconds: float | None
    max_seconds: float | None

    @classmethod
    def of(cls, figures: DurationFigures) -> DurationStats:
        return cls(
            count=figures.count,
            p50_seconds=figures.p50_seconds,
            p90_seconds=figures.p90_seconds,
            max_seconds=figures.max_seconds,
        )


@strawberry.type(description="Business KPIs over [from, to], from the event log and sources.")
class Kpis:
    start: dt.date = strawberry.field(name="from")
    end: dt.date = strawberry.field(name="to")
    quote_to_project_cycle_time: DurationStats = strawberry.field(
        description="Deal closed-won (CRM) -> project with billing schedule (PSA + ERP)."
    )
    approved_time_to_erp_latency: DurationStats = strawberry.field(
        description="Time approved (TIME) -> posted to the ERP."
    )
    approved_time_to_invoice_latency: DurationStats = strawberry.field(
        description="Time approved (TIME) -> on an ERP invoice."
    )
    unbilled_approved_hours: float
    unbilled_approved_amount: Money | None
    invoices_blocked_share: float = strawberry.field(description="Blocked / open invoices.")
    utilization_freshness_seconds: float | None = strawberry.field(
        description="Age of the data behind utilization."
    )
    projects_missing_finance_code: int
    contracts_without_billing_schedule: int
    open_exceptions: int
    integration_incident_resolution: DurationStats = strawberry.field(
        description="Source degraded -> healthy again."
    )

    @classmethod
    def of(cls, figures: KpiFigures) -> Kpis:
        amount = figures.unbilled_approved_amount
        return cls(
            start=figures.start,
            end=figures.end,
            quote_to_project_cycle_time=DurationStats.of(figures.quote_to_project_cycle_time),
            approved_time_to_erp_latency=DurationStats.of(figures.approved_time_to_erp_latency),
            approved_time_to_invoice_latency=DurationStats.of(
                figures.approved_time_to_invoice_latency
            ),
            unbilled_approved_hours=figures.unbilled_approved_hours,
            unbilled_approved_amount=Money(amount=amount, currency=figures.unbilled_currency or "")
            if amount is not None
            else None,
            invoices_blocked_share=figures.invoices_blocked_share,
            utilization_freshness_seconds=figures.utilization_freshness_seconds,
            projects_missing_finance_code=figures.projects_missing_finance_code,
            contracts_without_billing_schedule=figures.contracts_without_billing_schedule,
            open_exceptions=figures.open_exceptions,
            integration_incident_resolution=DurationStats.of(
                figures.integration_incident_resolution
            ),
        )


def _value(option: Enum | None) -> str | None:
    return None if option is None else str(option.value)


@strawberry.type
class VisibilityQuery:
    @described("Business KPIs over [from, to] (default: the last 30 days).")
    async def kpis(
        self,
        info: GatewayInfo,
        start: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
        end: Annotated[dt.date | None, strawberry.argument(name="to")] = None,
    ) -> Kpis:
        return Kpis.of(await resolve.kpis(context(info), start, end))

    @described("The exceptions queue: by priority (highest first), then detectedAt.")
    async def exceptions(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        kind: ExceptionKind | None = None,
        status: ExceptionStatus | None = None,
        owner_team: Team | None = None,
    ) -> Connection[BusinessException]:
        ctx = context(info)
        rows = await resolve.exceptions(ctx, _value(kind), _value(status), _value(owner_team))
        return connection(slice_window(rows, first, after, ctx.limits), BusinessException.of)


@strawberry.type
class VisibilityMutation:
    @_mutation("Record who saw the exception and when (and a note); it stays in the queue.")
    async def acknowledge_exception(
        self, info: GatewayInfo, id: strawberry.ID, note: str | None = None
    ) -> BusinessException:
        return BusinessException.of(await resolve.acknowledge(context(info), str(id), note))

    @_mutation(
        "Start the workflow that fixes the exception (missing finance code: create and link "
        "the ERP job; no billing schedule: create it; approved time not posted: post it; "
        "parked workflow: retry it); returns that workflow."
    )
    async def remediate_exception(
        self, info: GatewayInfo, id: strawberry.ID, idempotency_key: str
    ) -> Workflow:
        return Workflow.of(await resolve.remedy(context(info), str(id), idempotency_key))


@strawberry.type
class VisibilitySubscription:
    @_subscription("Each exception (of the team) as it opens, resolves or is acknowledged.")
    async def exceptions_changed(
        self, info: GatewayInfo, owner_team: Team | None = None
    ) -> AsyncGenerator[BusinessException, None]:
        async for row in resolve.changes(context(info), _value(owner_team)):
            yield BusinessException.of(row)

"""Business visibility for the experience API: the exceptions queue, acknowledging and
remedying one, the live feed of changes, and the KPIs (`gateway.visibility`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import TYPE_CHECKING

from graphql import GraphQLError

from gateway.events.bus import SlowConsumerError
from gateway.store import IdempotencyConflictError
from gateway.store.records import BusinessExceptionRow
from gateway.visibility import kpis as kpi
from gateway.visibility.findings import ExceptionKind
from gateway.visibility.monitor import CHANNEL
from gateway.visibility.priority import priority
from gateway.visibility.remedy import NoRemedyError, remediate
from gateway.workflows import WorkflowNotFoundError, WorkflowStateError
from gateway.workflows.quote_to_project import KIND as QUOTE_TO_PROJECT
from resolvers import ids
from resolvers.context import RequestContext
from resolvers.events import SLOW_CONSUMER
from resolvers.mutations import ANONYMOUS, MutationError, commands, principal
from resolvers.workflow_store import workflow_view
from resolvers.workflows import WorkflowView
from sources.records import SourceSystem

if TYPE_CHECKING:
    from gateway.visibility.monitor import ExceptionMonitor

DEFAULT_KPI_DAYS = 30
MAX_QUOTE_WORKFLOWS = 10_000


def monitor(ctx: RequestContext) -> ExceptionMonitor:
    if ctx.visibility is None:
        raise MutationError(
            "VISIBILITY_UNAVAILABLE", "this gateway runs without the exceptions monitor"
        )
    return ctx.visibility


def who(ctx: RequestContext) -> str:
    """The caller's subject (the token's `sub`): who acknowledged an exception."""
    return ctx.principal.subject if ctx.principal is not None else ANONYMOUS


def rank(row: BusinessExceptionRow, now: dt.datetime) -> int:
    amount = Decimal(row.amount_at_risk) if row.amount_at_risk is not None else None
    return priority(ExceptionKind(row.kind), amount, row.since or row.detected_at, now)


async def exceptions(
    ctx: RequestContext, kind: str | None, status: str | None, owner_team: str | None
) -> list[BusinessExceptionRow]:
    """Ordered by priority (highest first), then detectedAt (oldest first)."""
    rows = await monitor(ctx).store.exceptions.all(kinds=[kind] if kind else None)
    chosen = [
        row
        for row in rows
        if (status is None or row.status == status)
        and (owner_team is None or row.owner_team == owner_team)
    ]
    now = dt.datetime.now(dt.UTC)
    chosen.sort(key=lambda row: (-rank(row, now), row.detected_at, row.id))
    return chosen


async def exception(ctx: RequestContext, key: str) -> BusinessExceptionRow | None:
    return await monitor(ctx).store.exceptions.get(key)


def _key(global_id: str) -> str:
    return ids.decode(global_id, "BusinessException").key


async def acknowledge(
    ctx: RequestContext, global_id: str, note: str | None
) -> BusinessExceptionRow:
    row = await monitor(ctx).acknowledge(_key(global_id), who(ctx), note, audit_as=principal(ctx))
    if row is None:
        raise MutationError("NOT_FOUND", f"no business exception {global_id!r}")
    return row


async def remedy(ctx: RequestContext, global_id: str, idempotency_key: str) -> WorkflowView:
    watcher = monitor(ctx)
    row = await watcher.store.exceptions.get(_key(global_id))
    if row is None:
        raise MutationError("NOT_FOUND", f"no business exception {global_id!r}")
    key = idempotency_key.strip()
    if not key:
        raise MutationError("BAD_USER_INPUT", "idempotencyKey: give a key")
    workflows = commands(ctx)
    try:
        record = await remediate(row, key, workflows, watcher.store, principal(ctx))
    except NoRemedyError as error:
        raise MutationError("NO_REMEDY", str(error)) from error
    except IdempotencyConflictError as error:
        raise MutationError("IDEMPOTENCY_CONFLICT", str(error)) from error
    except WorkflowNotFoundError as error:
        raise MutationError("NOT_FOUND", str(error)) from error
    except WorkflowStateError as error:
        raise MutationError("WORKFLOW_STATE", str(error)) from error
    found = await workflows.get(record.id)
    if found is None:
        raise MutationError("NOT_FOUND", f"workflow {record.id} disappeared")
    return workflow_view(*found)


async def changes(
    ctx: RequestContext, owner_team: str | None
) -> AsyncIterator[BusinessExceptionRow]:
    """Each exception as it opens, resolves or is acknowledged, from now on."""
    watcher = monitor(ctx)
    if ctx.live is None:
        raise MutationError("EVENTS_UNAVAILABLE", "this gateway runs without the event bus")
    async with ctx.live.bus.subscribe(CHANNEL) as messages:
        try:
            async for message in messages:
                row = await watcher.store.exceptions.get(message.payload)
                if row is not None and (owner_team is None or row.owner_team == owner_team):
                    yield row
        except SlowConsumerError as error:
            # Ending quietly would read as "nothing more will change"; the subscriber must
            # learn it missed some, to read the queue again.
            raise GraphQLError(
                f"{error}: some changes were missed; read `exceptions` again and resubscribe",
                extensions={"code": SLOW_CONSUMER},
            ) from error


async def kpis(ctx: RequestContext, start: dt.date | None, end: dt.date | None) -> kpi.Kpis:
    watcher = monitor(ctx)
    today = watcher.config.today or dt.date.today()
    end = end or today
    start = start or end - dt.timedelta(days=DEFAULT_KPI_DAYS)
    if start > end:
        raise MutationError("BAD_USER_INPUT", "from: must not be after to")
    quotes = await watcher.store.workflows.find(kind=QUOTE_TO_PROJECT, limit=MAX_QUOTE_WORKFLOWS)
    opportunity_of = {
        w.id: ids.encode("Opportunity", str(w.input.get("opportunity_id")))
        for w in quotes
        if isinstance(w.input, dict) and w.input.get("opportunity_id")
    }
    return await kpi.compute(
        watcher.store,
        watcher.connectors,
        ctx.health,
        start,
        end,
        dt.datetime.now(dt.UTC),
        opportunity_of_workflow=opportunity_of,
    )


def source_of(row: BusinessExceptionRow) -> SourceSystem | None:
    return SourceSystem(row.source) if row.source else None

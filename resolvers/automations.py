"""`Query.automations`: what the gateway does by itself, and how often it has."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gateway.events.triggers import principal
from resolvers.context import RequestContext


@dataclass(frozen=True)
class AutomationView:
    name: str
    on: list[str]
    workflow: str
    enabled: bool
    runs: int
    last_run_at: dt.datetime | None


async def automations(ctx: RequestContext) -> list[AutomationView]:
    """Every configured automation with the workflows it started; none without events."""
    if ctx.live is None:
        return []
    configured = ctx.live.settings.events.automations
    started = await ctx.live.store.workflows.started_by([principal(a.name) for a in configured])
    views = []
    for automation in configured:
        runs, last = started.get(principal(automation.name), (0, None))
        views.append(
            AutomationView(
                automation.name,
                list(automation.on),
                automation.workflow,
                automation.enabled,
                runs,
                last,
            )
        )
    return views

"""Automation: a configured rule that starts a workflow when a domain event arrives.

Merge `AutomationsQuery` into the query root (`strawberry.tools.merge_types`).
"""

from __future__ import annotations

import datetime as dt

import strawberry

from resolvers import automations as resolve
from resolvers.automations import AutomationView
from schema.common import GatewayInfo, context, described


@strawberry.type
class Automation:
    name: str
    on: list[str]
    workflow: str
    enabled: bool
    last_run_at: dt.datetime | None
    runs: int = strawberry.field(description="Workflows it started.")

    @classmethod
    def of(cls, view: AutomationView) -> Automation:
        return cls(
            name=view.name,
            on=view.on,
            workflow=view.workflow,
            enabled=view.enabled,
            last_run_at=view.last_run_at,
            runs=view.runs,
        )


@strawberry.type
class AutomationsQuery:
    @described("What the gateway does by itself when a system changes, and how often it has.")
    async def automations(self, info: GatewayInfo) -> list[Automation]:
        return [Automation.of(view) for view in await resolve.automations(context(info))]

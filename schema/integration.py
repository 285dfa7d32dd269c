"""Integration health: `Query.integrationHealth`, one `SourceHealth` per configured source.

Merge `IntegrationQuery` into the query root (`strawberry.tools.merge_types`).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

import strawberry

from resolvers.integration import integration_health
from schema.common import GatewayInfo, SourceSystem, context, described

if TYPE_CHECKING:
    from gateway.observability.health import SourceHealthReport


@strawberry.enum
class SourceStatus(Enum):
    UP = "UP"
    DEGRADED = "DEGRADED"
    DOWN = "DOWN"


@strawberry.type(description="How a source system answers the gateway now and lately.")
class SourceHealth:
    system: SourceSystem
    status: SourceStatus
    breaker: str = strawberry.field(description="closed | open | half-open")
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    error_rate: float = strawberry.field(description="Failed calls / calls, last 5 minutes.")
    retries: int = strawberry.field(description="Retried attempts, last 5 minutes.")
    last_success_at: datetime | None
    last_change_captured_at: datetime | None
    capture_lag_seconds: float | None = strawberry.field(
        description="Age of the oldest change-scan position: how late a change may be seen."
    )
    quota_remaining: float | None = strawberry.field(
        description="Share of the vendor's rate or daily quota left, where it says."
    )

    @classmethod
    def of(cls, report: SourceHealthReport) -> SourceHealth:
        return cls(
            system=SourceSystem(report.system.value),
            status=SourceStatus(report.status.value),
            breaker=report.breaker,
            latency_p50_ms=report.latency_p50_ms,
            latency_p95_ms=report.latency_p95_ms,
            error_rate=report.error_rate,
            retries=report.retries,
            last_success_at=report.last_success_at,
            last_change_captured_at=report.last_change_captured_at,
            capture_lag_seconds=report.capture_lag_seconds,
            quota_remaining=report.quota_remaining,
        )


@strawberry.type
class IntegrationQuery:
    @described("Each configured source's status, breaker, latency, errors and capture lag.")
    def integration_health(self, info: GatewayInfo) -> list[SourceHealth]:
        # The GraphQL enum is the contract's five: a system added by its own package is in
        # /healthz, /readyz and the metrics, not here (docs/architecture.md, "Adding a system").
        return [
            SourceHealth.of(report)
            for report in integration_health(context(info))
            if report.system.value in SourceSystem.__members__
        ]

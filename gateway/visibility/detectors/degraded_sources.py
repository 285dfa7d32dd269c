"""SOURCE_DEGRADED: a source system down, failing or throttling, as the gateway's own
health tracking (`gateway.observability.health`) sees it now."""

from __future__ import annotations

from gateway.observability.health import SourceStatus
from gateway.visibility.detectors.base import Detector, ScanContext
from gateway.visibility.findings import ExceptionKind, Finding

KIND = ExceptionKind.SOURCE_DEGRADED


async def detect(ctx: ScanContext) -> list[Finding]:
    if ctx.health is None:
        return []
    return [
        Finding(
            KIND,
            None,
            report.system.value,
            report.system,
            f"{report.system.value} is {report.status.value.lower()}: breaker {report.breaker}, "
            f"{report.error_rate:.0%} of calls failing",
            "Check the vendor's status and the gateway's integration health",
            None,
            None,
            report.last_success_at,
        )
        for report in ctx.health.reports()
        if report.status is not SourceStatus.UP
    ]


DETECTOR = Detector(KIND, detect, on_events=frozenset({"SourceHealthChanged"}))

"""`integrationHealth`: each configured source's health as the gateway sees it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers.context import RequestContext

if TYPE_CHECKING:
    from gateway.observability.health import SourceHealthReport


def integration_health(context: RequestContext) -> list[SourceHealthReport]:
    """One report per configured source; none when the gateway does not track health."""
    return context.health.reports() if context.health is not None else []

"""One gateway's observability, assembled: metrics, traces and source health, and the
observers the rest of the gateway is handed.

    observability = Observability(settings.observability, upstream, span_exporter=None)
    schema = build_schema(..., extensions=[observability.operation_extension()])
    EventsService(..., capture_observer=observability.capture)
    bootstrap(store, connectors, observer=observability.workflows)
    await observability.metrics.render()    # GET /metrics
    observability.health.reports()         # Query.integrationHealth, SOURCE_DEGRADED
    observability.metrics.set_open_exceptions({"INVOICE_BLOCKED": 3})
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from opentelemetry.sdk.trace.export import SpanExporter

from gateway.observability.health import SourceHealthTracker
from gateway.observability.metrics import Metrics
from gateway.observability.operations import OperationObserver, operation_extension
from gateway.observability.tracing import Tracing
from gateway.observability.upstream import UpstreamObserver
from gateway.observability.watchers import CacheWatcher, CaptureWatcher, WorkflowWatcher
from gateway.settings import ObservabilityConfig
from gateway.store import Store
from resolvers.upstream import Upstream
from sources.records import SourceSystem


class Observability:
    def __init__(
        self,
        config: ObservabilityConfig,
        upstream: Upstream,
        *,
        span_exporter: SpanExporter | None = None,
    ) -> None:
        """Watches every HTTP client of `upstream`'s connectors and its cache;
        `span_exporter` replaces the configured exporter (tests: in-memory)."""
        self.config = config
        self.metrics = Metrics()
        self.tracing = Tracing(config.tracing, exporter=span_exporter)
        self._upstream = upstream
        self.health = SourceHealthTracker(
            {system: partial(self._breaker, system) for system in upstream.connectors},
            window_s=config.health_window_s,
        )
        self.calls = UpstreamObserver(self.metrics, self.health, self.tracing.tracer)
        self.capture = CaptureWatcher(self.metrics, self.health)
        self.workflows = WorkflowWatcher(self.metrics, self.tracing.tracer)
        self.store: Store | None = None  # set while the gateway's store is open
        self._workflow_series: set[tuple[str, str]] = set()
        for client in upstream.clients():
            client.observer = self.calls
        upstream.cache.on_lookup = CacheWatcher(self.metrics)
        self.metrics.on_scrape(self._refresh_breakers)
        self.metrics.on_scrape(self.capture.refresh)
        self.metrics.on_scrape(self._refresh_workflows)

    def operation_extension(self) -> Callable[[], OperationObserver]:
        return operation_extension(self.metrics, self.tracing.tracer)

    def shutdown(self) -> None:
        self.tracing.shutdown()

    def _breaker(self, system: SourceSystem) -> str | None:
        return self._upstream.states()[system].breaker

    def _refresh_breakers(self) -> None:
        self.metrics.set_breakers(
            {system.value: self.health.breaker(system) for system in self.health.systems}
        )

    async def _refresh_workflows(self) -> None:
        if self.store is None:
            return
        counts = {
            (kind, status.value): n
            for (kind, status), n in (await self.store.workflows.counts()).items()
        }
        # A (kind, status) with no workflow left is absent from the counts: it reads 0.
        for series in self._workflow_series | set(counts):
            self.metrics.workflows.labels(*series).set(counts.get(series, 0))
        self._workflow_series |= set(counts)

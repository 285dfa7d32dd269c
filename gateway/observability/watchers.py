"""What change capture, the workflow engine and the read cache report, as metrics, health
and spans (they implement `gateway.events.capture.CaptureObserver`,
`gateway.workflows.observe.WorkflowObserver` and `resolvers.cache.Lookup`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from gateway.observability.health import SourceHealthTracker
from gateway.observability.metrics import Metrics
from resolvers.cache import Namespace
from sources.errors import SourceError
from sources.records import SourceSystem


class CaptureWatcher:
    def __init__(self, metrics: Metrics, health: SourceHealthTracker) -> None:
        self._metrics = metrics
        self._health = health

    def scanned(self, system: SourceSystem, entity: str, started_at: float, changes: int) -> None:
        self._metrics.capture_scans.labels(system.value, entity, "ok").inc()
        self._health.scanned(system, entity, started_at, changes)

    def scan_failed(self, system: SourceSystem, entity: str, error: SourceError) -> None:
        self._metrics.capture_scans.labels(system.value, entity, error.code).inc()

    def refresh(self) -> None:
        """Capture lag is a duration up to now: set it at each scrape (and drop it when
        this gateway no longer runs capture)."""
        lags = self._health.capture_lags()
        if not lags:
            self._metrics.capture_lag.clear()
        for (system, entity), lag in lags.items():
            self._metrics.capture_lag.labels(system.value, entity).set(lag)


class WorkflowWatcher:
    def __init__(self, metrics: Metrics, tracer: trace.Tracer | None) -> None:
        self._metrics = metrics
        self._tracer = tracer

    def run(self, kind: str, workflow_id: str) -> AbstractContextManager[object]:
        if self._tracer is None:
            return nullcontext()
        # Runs start in the engine's worker, not in a request: each is the root of its
        # own trace, and its steps' upstream calls are its descendants.
        return self._tracer.start_as_current_span(
            f"workflow {kind}",
            context=trace.set_span_in_context(trace.INVALID_SPAN),
            attributes={"psgraph.workflow.kind": kind, "psgraph.workflow.id": workflow_id},
        )

    @contextmanager
    def step(self, kind: str, step: str, attempt: int) -> Iterator[None]:
        span = None
        if self._tracer is not None:
            span = self._tracer.start_span(
                f"step {step}",
                attributes={
                    "psgraph.workflow.kind": kind,
                    "psgraph.workflow.step": step,
                    "psgraph.workflow.attempt": attempt,
                },
            )
        outcome = "error"
        try:
            if span is None:
                yield
            else:
                with trace.use_span(span, end_on_exit=False, record_exception=True):
                    yield
            outcome = "ok"
        finally:
            self._metrics.workflow_steps.labels(kind, step, outcome).inc()
            if span is not None:
                if outcome != "ok":
                    span.set_status(Status(StatusCode.ERROR))
                span.end()

    def ended(self, kind: str, status: str) -> None:
        self._metrics.workflow_runs.labels(kind, status).inc()


class CacheWatcher:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def __call__(self, namespace: Namespace, hits: int, shared: int, misses: int) -> None:
        source, entity = namespace.system.value, namespace.entity
        for result, count in (("hit", hits), ("shared", shared), ("miss", misses)):
            if count:
                self._metrics.cache.labels(source, entity, result).inc(count)

"""What every upstream call reports (`sources.observe.CallObserver`), turned into metrics,
source health and, when tracing is on, one client span per logical call.

The span is a child of whatever span is current where the call starts (the GraphQL
operation, a workflow step, a change scan's none) and carries `psgraph.source`,
`http.route`, `http.request.method`, `http.response.status_code`, `psgraph.retries`
and, on failure, `error.type` (the `SourceError` code).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from gateway.observability.health import SourceHealthTracker
from gateway.observability.metrics import Metrics
from gateway.observability.tracing import inject
from sources.observe import CANCELLED, ObservedCall
from sources.records import SourceSystem

NO_ANSWER = "none"  # the status label of an attempt that got no HTTP answer


class UpstreamObserver:
    def __init__(
        self,
        metrics: Metrics,
        health: SourceHealthTracker,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self.metrics = metrics
        self.health = health
        self.tracer = tracer

    def begin(self, system: SourceSystem, method: str, route: str) -> ObservedCall:
        span = None
        if self.tracer is not None:
            span = self.tracer.start_span(
                f"{system.value} {method} {route}",
                kind=SpanKind.CLIENT,
                attributes={
                    "psgraph.source": system.value,
                    "http.request.method": method,
                    "http.route": route,
                },
            )
        return _Call(self, system, method, route, span)


class _Call:
    __slots__ = ("_method", "_observer", "_retries", "_route", "_source", "_span", "_system")

    def __init__(
        self,
        observer: UpstreamObserver,
        system: SourceSystem,
        method: str,
        route: str,
        span: trace.Span | None,
    ) -> None:
        self._observer = observer
        self._system = system
        self._source = system.value
        self._method = method
        self._route = route
        self._span = span
        self._retries = 0

    def propagate(self, headers: MutableMapping[str, str]) -> None:
        if self._span is not None:
            inject(self._span, headers)

    def paced(self, seconds: float) -> None:
        if seconds <= 0.001:  # the bucket had a token: no wait worth counting
            return
        metrics = self._observer.metrics
        metrics.rate_limit_waits.labels(self._source, "pacing").inc()
        metrics.rate_limit_wait_seconds.labels(self._source, "pacing").inc(seconds)

    def attempted(
        self,
        status: int | None,
        error: str | None,
        seconds: float,
        headers: Mapping[str, str] | None,
    ) -> None:
        label = str(status) if status is not None else NO_ANSWER
        self._observer.metrics.upstream.labels(
            self._source, self._method, self._route, label
        ).observe(seconds)
        self._observer.health.attempt(self._system, seconds, headers)
        if self._span is not None and status is not None:
            self._span.set_attribute("http.response.status_code", status)

    def rejected(self, error: str) -> None:
        self._observer.metrics.upstream.labels(
            self._source, self._method, self._route, "breaker_open"
        ).observe(0.0)

    def retrying(self, error: str, delay: float) -> None:
        self._retries += 1
        metrics = self._observer.metrics
        metrics.retries.labels(self._source, error).inc()
        if error == "RATE_LIMITED":
            metrics.rate_limit_waits.labels(self._source, "retry_after").inc()
            metrics.rate_limit_wait_seconds.labels(self._source, "retry_after").inc(delay)
        self._observer.health.retried(self._system, error)
        if self._span is not None:
            self._span.add_event("retry", {"error.type": error, "psgraph.delay_s": delay})

    def finished(self, error: str | None) -> None:
        if error != CANCELLED:
            self._observer.health.call(self._system, error)
        span = self._span
        if span is None:
            return
        span.set_attribute("psgraph.retries", self._retries)
        if error == CANCELLED:
            span.set_attribute("psgraph.cancelled", True)
        elif error is not None:
            span.set_attribute("error.type", error)
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()

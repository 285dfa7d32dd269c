"""The gateway's Prometheus metrics, on a registry of its own.

Each app builds its own `Metrics` (tests build many apps in one process, and the global
registry would refuse the second), and `GET /metrics` renders it. Series:

| metric | labels |
| --- | --- |
| `psgraph_graphql_operation_duration_seconds` (histogram) | operation, type, outcome |
| `psgraph_upstream_request_duration_seconds` (per attempt) | source, method, route, status |
| `psgraph_upstream_retries_total` | source, reason |
| `psgraph_upstream_breaker_state` (1 for the current state) | source, state |
| `psgraph_upstream_rate_limit_waits_total`, `..._wait_seconds_total` | source, kind |
| `psgraph_cache_requests_total` | source, entity, result (hit, miss) |
| `psgraph_capture_lag_seconds` | source, entity |
| `psgraph_capture_scans_total` | source, entity, outcome |
| `psgraph_workflow_steps_total` | kind, step, outcome |
| `psgraph_workflow_runs_total` (runs this process ended, by the status reached) | kind, status |
| `psgraph_workflows` (workflows in the store, by status) | kind, status |
| `psgraph_open_exceptions` (set by the exceptions engine) | kind |

Labels are bounded: operation names come from the clients' documents (anonymous ones
are "anonymous"), routes are templated (`sources.observe.route_template`), statuses are
HTTP codes or a failure class.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
BREAKER_STATES = ("closed", "half-open", "open")

# Upstream calls are milliseconds to seconds; whole operations up to tens of seconds.
UPSTREAM_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OPERATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

Refresh = Callable[[], Awaitable[None] | None]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.operations = Histogram(
            "psgraph_graphql_operation_duration_seconds",
            "GraphQL operations, by name, type and outcome (ok, partial, error)",
            ["operation", "type", "outcome"],
            buckets=OPERATION_BUCKETS,
            registry=r,
        )
        self.upstream = Histogram(
            "psgraph_upstream_request_duration_seconds",
            "HTTP attempts to the sources, by source, templated route and status",
            ["source", "method", "route", "status"],
            buckets=UPSTREAM_BUCKETS,
            registry=r,
        )
        self.retries = Counter(
            "psgraph_upstream_retries",
            "Upstream attempts retried, by source and the error that caused it",
            ["source", "reason"],
            registry=r,
        )
        self.breaker = Gauge(
            "psgraph_upstream_breaker_state",
            "1 for each source's current circuit breaker state",
            ["source", "state"],
            registry=r,
        )
        self.rate_limit_waits = Counter(
            "psgraph_upstream_rate_limit_waits",
            "Waits for a rate limit: client-side pacing, or a source's 429 / Retry-After",
            ["source", "kind"],
            registry=r,
        )
        self.rate_limit_wait_seconds = Counter(
            "psgraph_upstream_rate_limit_wait_seconds",
            "Seconds spent waiting for rate limits",
            ["source", "kind"],
            registry=r,
        )
        self.cache = Counter(
            "psgraph_cache_requests",
            "Shared read cache look-ups, by source, entity and result (hit, miss)",
            ["source", "entity", "result"],
            registry=r,
        )
        self.capture_lag = Gauge(
            "psgraph_capture_lag_seconds",
            "Seconds since each (source, entity) was last scanned for changes successfully",
            ["source", "entity"],
            registry=r,
        )
        self.capture_scans = Counter(
            "psgraph_capture_scans",
            "Change scans, by source, entity and outcome (ok, or the error code)",
            ["source", "entity", "outcome"],
            registry=r,
        )
        self.workflow_steps = Counter(
            "psgraph_workflow_steps",
            "Workflow step attempts, by workflow kind, step and outcome",
            ["kind", "step", "outcome"],
            registry=r,
        )
        self.workflow_runs = Counter(
            "psgraph_workflow_runs",
            "Workflow runs this process ended, by kind and the status they ended in",
            ["kind", "status"],
            registry=r,
        )
        self.workflows = Gauge(
            "psgraph_workflows",
            "Workflows in the store, by kind and status",
            ["kind", "status"],
            registry=r,
        )
        self.open_exceptions = Gauge(
            "psgraph_open_exceptions",
            "Open business exceptions, by kind (set by the exceptions engine)",
            ["kind"],
            registry=r,
        )
        self._refresh: list[Refresh] = []

    def on_scrape(self, refresh: Refresh) -> None:
        """Call `refresh` (sync or async) before each rendering, to set gauges whose
        value is read rather than counted (breaker states, capture lag, store counts)."""
        self._refresh.append(refresh)

    async def render(self) -> bytes:
        for refresh in self._refresh:
            pending = refresh()
            if pending is not None:
                await pending
        return generate_latest(self.registry)

    # --- what other parts set ---------------------------------------------------------

    def set_open_exceptions(self, counts: Mapping[str, int]) -> None:
        """The exceptions engine's hook: open exceptions by kind now. Kinds missing from
        `counts` read 0 (a kind that had some and has none left must not keep its value)."""
        known = {
            sample.labels["kind"]
            for family in self.open_exceptions.collect()
            for sample in family.samples
        }
        for kind in known - set(counts):
            self.open_exceptions.labels(kind).set(0)
        for kind, count in counts.items():
            self.open_exceptions.labels(kind).set(count)

    def set_breakers(self, states: Mapping[str, str]) -> None:
        for source, current in states.items():
            for state in BREAKER_STATES:
                self.breaker.labels(source, state).set(1.0 if state == current else 0.0)

"""One span and one histogram observation per GraphQL operation (never per field).

`OperationObserver` is a strawberry schema extension; `operation_extension(...)` makes the
factory `build_schema(extensions=...)` wants. The span is current while the operation
executes, so the upstream calls its resolvers make become its children; it continues a
trace the client sent in `traceparent`.

Outcome: `ok` (no errors), `partial` (data with errors: a source failed), `error` (no
data: the request was refused or every field failed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from graphql import GraphQLError
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from strawberry.extensions import SchemaExtension

from gateway.observability.metrics import Metrics
from gateway.observability.tracing import extract
from resolvers.context import RequestContext

ANONYMOUS = "anonymous"
OTHER = "other"
MAX_OPERATION_NAMES = 200  # distinct names kept as labels; later ones count as "other"


class OperationNames:
    """Bounds the `operation` label: clients choose operation names, and a label per
    name a client makes up would grow the metrics without end."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def label(self, name: str | None) -> str:
        if not name:
            return ANONYMOUS
        if name in self._seen:
            return name
        if len(self._seen) >= self._limit:
            return OTHER
        self._seen.add(name)
        return name


class OperationObserver(SchemaExtension):
    def __init__(
        self, *, metrics: Metrics, names: OperationNames, tracer: trace.Tracer | None
    ) -> None:
        self._metrics = metrics
        self._names = names
        self._tracer = tracer

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        span = token = None
        if self._tracer is not None:
            span = self._tracer.start_span(
                "graphql.operation", context=self._caller_context(), kind=SpanKind.SERVER
            )
            token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            name, kind, outcome = self._describe()
            self._metrics.operations.labels(self._names.label(name), kind, outcome).observe(elapsed)
            if span is not None and token is not None:
                otel_context.detach(token)
                span.update_name(f"{kind} {name or ANONYMOUS}")
                span.set_attribute("graphql.operation.type", kind)
                span.set_attribute("graphql.operation.name", name or ANONYMOUS)
                span.set_attribute("psgraph.outcome", outcome)
                if outcome != "ok":
                    span.set_status(Status(StatusCode.ERROR, outcome))
                span.end()

    def _caller_context(self) -> otel_context.Context | None:
        context = self.execution_context.context
        request = context.request if isinstance(context, RequestContext) else None
        headers = getattr(request, "headers", None)
        return extract(headers) if headers is not None else None

    def _describe(self) -> tuple[str | None, str, str]:
        execution = self.execution_context
        try:
            kind = execution.operation_type.value
        except (RuntimeError, GraphQLError):  # the document did not parse
            kind = "unknown"
        name = execution.operation_name
        result = execution.result
        context = execution.context
        partial = isinstance(context, RequestContext) and bool(context.partial_errors)
        # Not `pre_execution_errors`: strawberry also puts execution errors there.
        if result is None or (result.errors and not result.data):
            return name, kind, "error"
        if result.errors or partial:
            return name, kind, "partial"
        return name, kind, "ok"


def operation_extension(
    metrics: Metrics, tracer: trace.Tracer | None
) -> Callable[[], OperationObserver]:
    """The factory `build_schema(extensions=[...])` takes: one observer per operation."""
    names = OperationNames()
    return lambda: OperationObserver(metrics=metrics, names=names, tracer=tracer)

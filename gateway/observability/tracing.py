"""OpenTelemetry traces for one gateway: a tracer provider of its own, or none at all.

With `observability.tracing.exporter: none` (the default) no provider is built and
`Tracing.tracer` is None: every place that would make a span checks that once and does
nothing else, so tracing off costs a comparison per operation, upstream call and
workflow step. With `otlp`, spans are batched to the collector at `otlp_endpoint`.
Tests pass an exporter of their own (the SDK's in-memory one), exported synchronously.

The provider is this gateway's, not the process-wide one, so that several gateways in
one process (tests) keep their spans apart. Trace context crosses to the sources with
W3C `traceparent` headers (`opentelemetry.propagate`, tracecontext by default).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from gateway.settings import TracingConfig

INSTRUMENTATION = "psgraph"


class Tracing:
    def __init__(self, config: TracingConfig, *, exporter: SpanExporter | None = None) -> None:
        """`exporter` replaces the one `config` names (and turns tracing on)."""
        self._provider: TracerProvider | None = None
        self.tracer: trace.Tracer | None = None
        if exporter is None and config.exporter == "none":
            return
        provider = TracerProvider(
            resource=Resource.create({"service.name": config.service_name}),
            sampler=ParentBased(TraceIdRatioBased(config.sample_ratio)),
        )
        if exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        else:
            # Imported here: the exporter pulls in protobuf, which a gateway without
            # tracing has no reason to load.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=config.otlp_endpoint))
            )
        self._provider = provider
        self.tracer = provider.get_tracer(INSTRUMENTATION)

    @property
    def enabled(self) -> bool:
        return self.tracer is not None

    def shutdown(self) -> None:
        """Flush what is batched and stop exporting."""
        if self._provider is not None:
            self._provider.shutdown()


def inject(span: trace.Span, headers: MutableMapping[str, str]) -> None:
    """Add `span`'s trace context (W3C `traceparent`, `tracestate`) to `headers`."""
    propagate.inject(headers, context=trace.set_span_in_context(span))


def extract(headers: Mapping[str, str]) -> Context | None:
    """The trace context a caller sent, if any (the operation span continues it)."""
    if "traceparent" not in headers:
        return None
    return propagate.extract(headers)

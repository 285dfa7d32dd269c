"""Tracing from settings: none builds nothing; otlp builds a provider of the gateway's own."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import ValidationError

from gateway.observability.tracing import Tracing, extract, inject
from gateway.settings import Settings, TracingConfig


def test_tracing_is_off_by_default_and_then_builds_nothing() -> None:
    config = Settings().observability.tracing
    assert config.exporter == "none"
    tracing = Tracing(config)
    assert tracing.tracer is None
    assert not tracing.enabled
    tracing.shutdown()


def test_otlp_builds_a_provider_that_is_not_the_process_wide_one() -> None:
    tracing = Tracing(TracingConfig(exporter="otlp", otlp_endpoint="http://127.0.0.1:9/v1/traces"))
    try:
        assert tracing.enabled
        assert trace.get_tracer_provider() is not getattr(tracing, "_provider", None)
    finally:
        tracing.shutdown()


def test_the_exporter_is_chosen_by_name_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("PSGRAPH_OBSERVABILITY__TRACING__EXPORTER", "otlp")
    assert Settings().observability.tracing.exporter == "otlp"
    monkeypatch.setenv("PSGRAPH_OBSERVABILITY__TRACING__EXPORTER", "jaeger")
    with pytest.raises(ValidationError):
        Settings()


def test_trace_context_goes_out_in_w3c_headers_and_comes_back() -> None:
    tracing = Tracing(TracingConfig(), exporter=InMemorySpanExporter())
    assert tracing.tracer is not None
    span = tracing.tracer.start_span("call")
    headers: dict[str, str] = {}
    inject(span, headers)
    span.end()
    version, trace_id, span_id, flags = headers["traceparent"].split("-")
    assert version == "00"
    assert int(flags, 16) & 1  # sampled
    assert trace_id == f"{span.get_span_context().trace_id:032x}"
    context = extract(headers)
    assert context is not None
    assert trace.get_current_span(context).get_span_context().span_id == int(span_id, 16)
    assert extract({}) is None

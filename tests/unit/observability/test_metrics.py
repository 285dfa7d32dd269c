"""The metrics registry: one per gateway, rendered in Prometheus text, gauges set from
outside (open exceptions by kind) and refreshed at each scrape."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from gateway.observability.metrics import Metrics
from gateway.observability.operations import ANONYMOUS, OTHER, OperationNames


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


async def test_two_gateways_in_one_process_keep_their_own_series() -> None:
    first, second = Metrics(), Metrics()
    first.retries.labels("ERP", "SOURCE_TIMEOUT").inc()
    assert (
        "psgraph_upstream_retries_total",
        (("reason", "SOURCE_TIMEOUT"), ("source", "ERP")),
    ) in (samples(await first.render()))
    assert not any(n == "psgraph_upstream_retries_total" for n, _ in samples(await second.render()))


async def test_open_exceptions_are_set_by_kind_and_a_cleared_kind_reads_zero() -> None:
    metrics = Metrics()
    metrics.set_open_exceptions({"INVOICE_BLOCKED": 3, "SOURCE_DEGRADED": 1})
    metrics.set_open_exceptions({"INVOICE_BLOCKED": 2})
    found = samples(await metrics.render())
    assert found[("psgraph_open_exceptions", (("kind", "INVOICE_BLOCKED"),))] == 2
    assert found[("psgraph_open_exceptions", (("kind", "SOURCE_DEGRADED"),))] == 0


async def test_gauges_read_at_scrape_time_are_refreshed_first() -> None:
    metrics = Metrics()
    states = {"ERP": "closed"}
    metrics.on_scrape(lambda: metrics.set_breakers(states))

    async def lag() -> None:
        metrics.capture_lag.labels("TIME", "time_entry").set(7)

    metrics.on_scrape(lag)
    states["ERP"] = "open"
    found = samples(await metrics.render())
    assert found[("psgraph_upstream_breaker_state", (("source", "ERP"), ("state", "open")))] == 1
    assert found[("psgraph_upstream_breaker_state", (("source", "ERP"), ("state", "closed")))] == 0
    assert (
        found[("psgraph_capture_lag_seconds", (("entity", "time_entry"), ("source", "TIME")))] == 7
    )


def test_operation_names_are_a_bounded_label() -> None:
    names = OperationNames(limit=2)
    assert [names.label(n) for n in (None, "A", "B", "C", "A")] == [ANONYMOUS, "A", "B", OTHER, "A"]

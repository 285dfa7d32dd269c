"""Metrics, traces and integration health of a gateway reading the real sandboxes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from gateway.settings import Settings
from sandboxes.harness.identity import Identity
from sandboxes.world.model import World
from sources.config import BreakerPolicy, Timeouts
from tests.conftest import reset
from tests.integration.gateway.conftest import QUICK, Gateway, gateway_settings

PROJECTS = """
query Projects {
  projects(first: 5) { edges { node { name financeCode client { name } } } }
}
"""

HEALTH = """
query Health {
  integrationHealth {
    system status breaker latencyP50Ms latencyP95Ms errorRate retries
    lastSuccessAt lastChangeCapturedAt captureLagSeconds quotaRemaining
  }
}
"""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(gateway: Any) -> Samples:
    response = await gateway.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(value for (n, have), value in samples.items() if n == name and wanted <= have)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


def health_of(body: dict[str, Any], system: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        h for h in body["data"]["integrationHealth"] if h["system"] == system
    ]
    assert len(found) == 1
    return found[0]


async def test_metrics_move_when_a_query_runs(gateway: Any) -> None:
    before = await scrape(gateway)
    body = await gateway.query(PROJECTS)
    assert "errors" not in body
    after = await scrape(gateway)

    operations = "psgraph_graphql_operation_duration_seconds_count"
    assert moved(before, after, operations, operation="Projects", type="query", outcome="ok") == 1
    upstream = "psgraph_upstream_request_duration_seconds_count"
    assert moved(before, after, upstream, source="PSA", status="200") >= 1
    assert moved(before, after, upstream, source="CRM", status="200") >= 1
    routes = {dict(labels)["route"] for (name, labels) in after if name == upstream}
    assert all("{id}" in r or not any(ch.isdigit() for ch in r.split("/")[-1]) for r in routes)
    assert moved(before, after, "psgraph_cache_requests_total", result="miss") >= 1
    for source in ("CRM", "PSA", "HCM", "ERP", "TIME"):
        assert total(after, "psgraph_upstream_breaker_state", source=source, state="closed") == 1

    await gateway.query(PROJECTS)
    again = await scrape(gateway)
    assert moved(after, again, "psgraph_cache_requests_total", result="hit") >= 1


async def test_metrics_move_when_a_source_fails(open_gateway: Any, faults: Any) -> None:
    # Both 503s are counted: a first attempt that a busy machine slowed past a short read
    # timeout or deadline would count as a timeout, or leave no time to retry (seen once
    # in a parallel run).
    patient = {**QUICK, "timeouts": Timeouts(connect=2.0, read=2.0, total=10.0)}
    async with open_gateway(overrides={"erp": patient}) as gateway:
        before = await scrape(gateway)
        with faults("erp", outage=True):
            body = await gateway.query(PROJECTS)
        after = await scrape(gateway)

    assert body["data"]["projects"] is not None
    assert any(e["extensions"]["source"] == "ERP" for e in body["errors"])
    operations = "psgraph_graphql_operation_duration_seconds_count"
    assert moved(before, after, operations, operation="Projects", outcome="partial") == 1
    upstream = "psgraph_upstream_request_duration_seconds_count"
    assert moved(before, after, upstream, source="ERP", status="503") >= 2  # first try + retry
    retries = "psgraph_upstream_retries_total"
    assert moved(before, after, retries, source="ERP", reason="SOURCE_UNAVAILABLE") >= 1


async def test_a_throttling_source_shows_as_rate_limit_waits(
    open_gateway: Any, faults: Any
) -> None:
    async with open_gateway() as gateway:
        before = await scrape(gateway)
        with faults("time", rate_limit_per_s=0.001):  # every request answered 429
            await gateway.query("{ timeEntries(first: 3) { edges { node { hours } } } }")
        after = await scrape(gateway)
        health = await gateway.query(HEALTH)

    waits = "psgraph_upstream_rate_limit_waits_total"
    assert moved(before, after, waits, source="TIME", kind="retry_after") >= 1
    assert moved(before, after, "psgraph_upstream_request_duration_seconds_count", status="429")
    assert health_of(health, "TIME")["status"] == "DEGRADED"


async def test_one_query_makes_one_operation_span_with_a_child_per_upstream_call(
    open_gateway: Any, sandboxes: Any
) -> None:
    exporter = InMemorySpanExporter()
    async with open_gateway(span_exporter=exporter) as gateway:
        body = await gateway.query(PROJECTS)
    assert "errors" not in body

    spans = exporter.get_finished_spans()
    (operation,) = [s for s in spans if s.name == "query Projects"]
    assert operation.parent is None
    calls = [s for s in spans if s is not operation]
    assert calls, "no upstream call was traced"
    assert {s.attributes["psgraph.source"] for s in calls} >= {"PSA", "CRM"}  # type: ignore[index]
    for call in calls:
        assert call.parent is not None
        assert call.parent.span_id == operation.context.span_id
        assert call.context.trace_id == operation.context.trace_id
        attributes = call.attributes or {}
        assert attributes["http.route"]
        assert attributes["http.response.status_code"] == 200
        assert call.name.startswith(str(attributes["psgraph.source"]) + " ")

    trace_id = f"{operation.context.trace_id:032x}"
    stats = httpx.get(f"{sandboxes['psa'].url}/_sandbox/stats").json()
    assert any(tp.split("-")[1] == trace_id for tp in stats["traceparents"])


async def test_a_query_continues_the_trace_its_caller_sent(open_gateway: Any) -> None:
    exporter = InMemorySpanExporter()
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    async with open_gateway(span_exporter=exporter) as gateway:
        response = await gateway.http.post(
            "/graphql", json={"query": PROJECTS}, headers={"traceparent": caller}
        )
    assert response.status_code == 200
    (operation,) = [s for s in exporter.get_finished_spans() if s.name == "query Projects"]
    assert f"{operation.context.trace_id:032x}" == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert operation.parent is not None
    assert f"{operation.parent.span_id:016x}" == "00f067aa0ba902b7"


async def test_without_an_exporter_no_trace_context_is_sent(gateway: Any, sandboxes: Any) -> None:
    reset(sandboxes, "psa")
    await gateway.query(PROJECTS)
    stats = httpx.get(f"{sandboxes['psa'].url}/_sandbox/stats").json()
    assert stats["total"] >= 1
    assert stats["traceparents"] == []


async def test_integration_health_follows_a_source_down_and_back(
    open_gateway: Any, faults: Any
) -> None:
    quick_breaker = BreakerPolicy(failure_threshold=2, reset_after=1.0)
    async with open_gateway(overrides={"erp": {**QUICK, "breaker": quick_breaker}}) as gateway:
        await gateway.query(PROJECTS)
        healthy = await gateway.query(HEALTH)
        assert [h["system"] for h in healthy["data"]["integrationHealth"]] == [
            "CRM",
            "PSA",
            "HCM",
            "ERP",
            "TIME",
        ]
        erp = health_of(healthy, "ERP")
        assert (erp["status"], erp["breaker"]) == ("UP", "closed")
        assert erp["lastSuccessAt"] is not None
        assert erp["latencyP50Ms"] is not None
        assert erp["latencyP95Ms"] >= erp["latencyP50Ms"]
        assert health_of(healthy, "CRM")["quotaRemaining"] is not None  # Sforce-Limit-Info

        cache = gateway.app.state.gateway.upstream.cache
        cache.clear()  # so that the next reads go to the source
        with faults("erp", outage=True):
            await gateway.query(PROJECTS)
            down = health_of(await gateway.query(HEALTH), "ERP")
            while_down = await scrape(gateway)
        assert (down["status"], down["breaker"]) == ("DOWN", "open")
        assert down["errorRate"] > 0
        assert down["retries"] >= 1
        assert health_of(await gateway.query(HEALTH), "PSA")["status"] == "UP"
        breaker = "psgraph_upstream_breaker_state"
        assert total(while_down, breaker, source="ERP", state="open") == 1
        assert total(while_down, breaker, source="ERP", state="closed") == 0

        await asyncio.sleep(quick_breaker.reset_after + 0.2)  # the breaker lets a probe through
        await gateway.http.get("/readyz", params={"probe": "true"})  # one call: the probe
        cache.clear()
        await gateway.query(PROJECTS)
        back = health_of(await gateway.query(HEALTH), "ERP")
    assert (back["status"], back["breaker"]) == ("UP", "closed")
    assert back["lastSuccessAt"] > erp["lastSuccessAt"]


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Gateway]:
    app = create_app(settings)
    admin = Identity.from_settings(settings).headers_for("admin")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw", headers=admin
        ) as http,
    ):
        yield Gateway(app, http)


async def test_metrics_can_require_a_token_of_their_own(
    demo_settings: Settings, sandboxes: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("PSGRAPH_TEST_METRICS_TOKEN", "s3cret")
    settings = gateway_settings(demo_settings, sandboxes, store=tmp_path / "gateway.db")
    observability = settings.observability.model_copy(
        update={"metrics_token_env": "PSGRAPH_TEST_METRICS_TOKEN"}
    )
    async with serving(settings.model_copy(update={"observability": observability})) as gateway:
        refused = await gateway.http.get("/metrics")
        allowed = await gateway.http.get("/metrics", headers={"authorization": "Bearer s3cret"})
        graphql = await gateway.query("{ integrationHealth { system } }")
    assert refused.status_code == 401
    assert allowed.status_code == 200
    assert graphql["data"]["integrationHealth"]


async def test_change_capture_shows_its_lag_and_last_change(
    demo_settings: Settings, sandboxes: Any, world: World, tmp_path: Path
) -> None:
    settings = gateway_settings(demo_settings, sandboxes, store=tmp_path / "gateway.db")
    events = settings.events.model_copy(
        update={"capture": True, "poll": {"time": {"time_entry": 0.2}}, "baseline": {}}
    )

    async def time_health_once(field: str) -> dict[str, Any]:
        """TIME's health, as soon as `field` has a value."""
        while True:
            found = health_of(await gateway.query(HEALTH), "TIME")
            if found[field] is not None:
                return found
            await asyncio.sleep(0.1)

    async with serving(settings.model_copy(update={"events": events})) as gateway:
        async with asyncio.timeout(20):
            first = await time_health_once("captureLagSeconds")
            assert first["lastChangeCapturedAt"] is None  # the first scan only takes a cursor
            touched = httpx.post(
                f"{sandboxes['time'].url}/_sandbox/touch",
                json={"entity": "time_entry", "ids": [world.time_entries[0].time_id]},
            )
            assert touched.json() == {"touched": 1}
            time = await time_health_once("lastChangeCapturedAt")
        samples = await scrape(gateway)

    assert 0 <= time["captureLagSeconds"] < 10
    lag = "psgraph_capture_lag_seconds"
    (time_lag,) = [
        v for (n, labels), v in samples.items() if n == lag and ("source", "TIME") in labels
    ]
    assert 0 <= time_lag < 10
    scans = "psgraph_capture_scans_total"
    assert total(samples, scans, source="TIME", entity="time_entry", outcome="ok") >= 2

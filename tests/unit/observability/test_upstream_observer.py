"""What the gateway makes of each upstream call: histogram per attempt, retries, waits for
rate limits (the client's own pacing and the source's Retry-After), and source health."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gateway.observability.health import SourceHealthTracker, SourceStatus
from gateway.observability.metrics import Metrics
from gateway.observability.upstream import UpstreamObserver
from sources.config import RetryPolicy, SourceSettings
from sources.http import SourceClient
from sources.records import SourceSystem

TIME = SourceSystem.TIME


def totals(text: bytes, name: str, **labels: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


def watched(
    handler: object, **settings: object
) -> tuple[SourceClient, Metrics, SourceHealthTracker]:
    metrics = Metrics()
    health = SourceHealthTracker({TIME: lambda: "closed"})
    client = SourceClient(
        TIME,
        SourceSettings(
            base_url="http://time.test",
            retry=RetryPolicy(attempts=2, backoff_initial=0.001, jitter=0.001),
            **settings,
        ),
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
    )
    client.observer = UpstreamObserver(metrics, health)
    return client, metrics, health


async def test_pacing_waits_are_counted() -> None:
    client, metrics, _ = watched(lambda request: httpx.Response(200), rate_limit_per_s=20)
    for _ in range(25):  # a second's worth of tokens, then waits
        await client.request("GET", "/v2/users")
    await client.aclose()
    text = await metrics.render()
    assert totals(text, "psgraph_upstream_rate_limit_waits_total", kind="pacing") >= 1
    assert totals(text, "psgraph_upstream_rate_limit_wait_seconds_total", kind="pacing") > 0


async def test_a_429_is_a_retry_a_wait_and_a_throttled_source() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "0.01"}), httpx.Response(200)])
    client, metrics, health = watched(lambda request: next(answers))
    await client.request("GET", "/v2/time_entries/42")
    await client.aclose()
    text = await metrics.render()
    attempts = "psgraph_upstream_request_duration_seconds_count"
    route = "/v2/time_entries/{id}"
    assert totals(text, attempts, source="TIME", route=route, status="429") == 1
    assert totals(text, attempts, source="TIME", route=route, status="200") == 1
    assert totals(text, "psgraph_upstream_retries_total", reason="RATE_LIMITED") == 1
    assert totals(text, "psgraph_upstream_rate_limit_waits_total", kind="retry_after") == 1
    report = health.report(TIME)
    assert report.status is SourceStatus.DEGRADED  # throttled within the last minute
    assert report.retries == 1
    assert report.error_rate == 0.0  # the call itself succeeded

"""What a SourceClient tells its observer: attempts, retries, waits, the call's end; and
the route labels it names calls by."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from dataclasses import dataclass, field

import httpx
import pytest

from sources.config import BreakerPolicy, RetryPolicy, SourceSettings
from sources.errors import RateLimited, SourceUnavailable
from sources.http import SourceClient
from sources.observe import CANCELLED, route_template
from sources.records import SourceSystem


@pytest.mark.parametrize(
    ("url", "route"),
    [
        pytest.param("/v2/time_entries/123", "/v2/time_entries/{id}", id="harvest-id"),
        pytest.param("/v2/time_entries?page=2", "/v2/time_entries", id="query-dropped"),
        pytest.param(
            "/services/data/v59.0/sobjects/Opportunity/006Dn000004QZ1xIAG",
            "/services/data/v59.0/sobjects/Opportunity/{id}",
            id="salesforce-id-kept-version",
        ),
        pytest.param("/record/v1/job/eid:PRJ-0042", "/record/v1/job/eid:{id}", id="netsuite-eid"),
        pytest.param("/api/v1/workspaces/1234.json", "/api/v1/workspaces/{id}", id="kantata"),
        pytest.param("http://host:8101/query/v1/suiteql", "/query/v1/suiteql", id="absolute"),
    ],
)
def test_routes_are_templated(url: str, route: str) -> None:
    assert route_template(url) == route


@dataclass
class Recorder:
    events: list[tuple[object, ...]] = field(default_factory=list)

    def begin(self, system: SourceSystem, method: str, route: str) -> Recorder:
        self.events.append(("begin", system, method, route))
        return self

    def propagate(self, headers: MutableMapping[str, str]) -> None:
        headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    def paced(self, seconds: float) -> None:
        self.events.append(("paced",))

    def attempted(
        self, status: int | None, error: str | None, seconds: float, headers: object
    ) -> None:
        assert seconds >= 0
        self.events.append(("attempt", status, error))

    def rejected(self, error: str) -> None:
        self.events.append(("rejected", error))

    def retrying(self, error: str, delay: float) -> None:
        self.events.append(("retry", error))

    def finished(self, error: str | None) -> None:
        self.events.append(("end", error))


def observed(handler: object, **settings: object) -> tuple[SourceClient, Recorder]:
    base: dict[str, object] = {
        "base_url": "http://source.test",
        "retry": RetryPolicy(attempts=3, backoff_initial=0.001, backoff_max=0.01, jitter=0.001),
        "breaker": BreakerPolicy(failure_threshold=2, reset_after=60),
        **settings,
    }
    client = SourceClient(
        SourceSystem.TIME,
        SourceSettings(**base),
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
    )
    recorder = Recorder()
    client.observer = recorder
    return client, recorder


async def test_a_retried_call_reports_each_attempt_and_sends_the_trace_context() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if len(seen) == 1 else 200, json={})

    client, recorder = observed(handle)
    await client.request("GET", "/v2/users/42")
    assert recorder.events == [
        ("begin", SourceSystem.TIME, "GET", "/v2/users/{id}"),
        ("attempt", 503, "SOURCE_UNAVAILABLE"),
        ("retry", "SOURCE_UNAVAILABLE"),
        ("attempt", 200, None),
        ("end", None),
    ]
    assert all(r.headers["traceparent"].startswith("00-0af765") for r in seen)


async def test_a_failed_call_ends_with_its_error_and_an_open_breaker_is_a_rejection() -> None:
    client, recorder = observed(lambda request: httpx.Response(503, json={}))
    with pytest.raises(SourceUnavailable):
        await client.request("GET", "/v2/users")
    assert recorder.events[-1] == ("end", "SOURCE_UNAVAILABLE")
    assert client.breaker.state == "open"
    recorder.events.clear()
    with pytest.raises(SourceUnavailable):
        await client.request("GET", "/v2/users")
    assert ("rejected", "SOURCE_UNAVAILABLE") in recorder.events
    assert not [e for e in recorder.events if e[0] == "attempt"]


async def test_a_rate_limited_call_reports_the_wait_it_was_told() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200)])
    client, recorder = observed(lambda request: next(answers))
    await client.request("GET", "/v2/users")
    assert ("retry", RateLimited.code) in recorder.events


async def test_without_an_observer_nothing_is_added_to_the_request() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    client, _ = observed(handle)
    client.observer = None
    await client.request("GET", "/v2/users")
    assert "traceparent" not in seen[0].headers


async def test_a_call_its_caller_gave_up_on_ends_as_cancelled() -> None:
    started = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(10)
        return httpx.Response(200)

    client, recorder = observed(slow)
    task = asyncio.create_task(client.request("GET", "/v2/users"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert recorder.events[-1] == ("end", CANCELLED)

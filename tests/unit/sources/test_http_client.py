"""SourceClient: every upstream call's timeout, retries, breaker and error mapping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from sources.config import BreakerPolicy, RetryPolicy, SourceSettings, Timeouts
from sources.errors import (
    RateLimited,
    SourceDataError,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from sources.http import SourceClient
from sources.records import SourceSystem

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, **settings: object) -> SourceClient:
    base = {
        "base_url": "http://source.test",
        "retry": RetryPolicy(attempts=3, backoff_initial=0.001, backoff_max=0.01, jitter=0.001),
        "breaker": BreakerPolicy(failure_threshold=3, reset_after=0.05),
        **settings,
    }
    return SourceClient(
        SourceSystem.ERP,
        SourceSettings(**base),  # type: ignore[arg-type]
        transport=httpx.MockTransport(handler),
    )


def flaky(failures: int, status: int = 503) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) <= failures:
            return httpx.Response(status, text="try later")
        return httpx.Response(200, json={"ok": True})

    return handle, seen


async def test_reads_are_retried_until_they_succeed() -> None:
    handler, seen = flaky(failures=2)
    async with asyncio.timeout(5):
        body = await client(handler).json("GET", "/things")
    assert body == {"ok": True}
    assert len(seen) == 3


async def test_non_idempotent_writes_are_sent_once() -> None:
    handler, seen = flaky(failures=1)
    with pytest.raises(SourceUnavailable):
        await client(handler).request("POST", "/things", json={})
    assert len(seen) == 1


async def test_a_write_the_source_refused_as_over_its_limit_is_sent_again() -> None:
    handler, seen = flaky(failures=1, status=429)
    async with asyncio.timeout(5):
        await client(handler).request("POST", "/things", json={})
    assert len(seen) == 2


async def test_writes_marked_idempotent_are_retried() -> None:
    handler, seen = flaky(failures=1)
    await client(handler).request("POST", "/things", json={}, idempotent=True)
    assert len(seen) == 2


async def test_retry_after_is_honoured_within_the_cap() -> None:
    calls: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "0.2"})
        return httpx.Response(200, json={})

    await client(handle).request("GET", "/x")
    assert calls[1] - calls[0] >= 0.19


async def test_giving_up_on_rate_limits_says_so_with_the_wait() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "0"})

    with pytest.raises(RateLimited) as raised:
        await client(handle).request("GET", "/x")
    assert raised.value.retry_after == 0
    assert raised.value.code == "RATE_LIMITED"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(400, SourceRejected, id="400-rejected"),
        pytest.param(404, SourceRejected, id="404-rejected"),
        pytest.param(422, SourceRejected, id="422-rejected"),
        pytest.param(429, RateLimited, id="429-rate-limited"),
        pytest.param(500, SourceUnavailable, id="500-unavailable"),
        pytest.param(503, SourceUnavailable, id="503-unavailable"),
        pytest.param(504, SourceTimeout, id="504-timeout"),
    ],
)
async def test_status_codes_map_to_what_the_caller_should_do(
    status: int, error: type[Exception]
) -> None:
    handler, _ = flaky(failures=99, status=status)
    with pytest.raises(error):
        await client(handler).request("GET", "/x")


async def test_vendor_rejections_are_not_retried() -> None:
    handler, seen = flaky(failures=99, status=400)
    with pytest.raises(SourceRejected) as raised:
        await client(handler).request("GET", "/x")
    assert len(seen) == 1
    assert raised.value.status == 400


async def test_a_slow_source_times_out_as_source_timeout() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(SourceTimeout):
        await client(handle).request("GET", "/x")


async def test_an_unreachable_source_is_unavailable() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(SourceUnavailable) as raised:
        await client(handle).request("GET", "/x")
    assert raised.value.system is SourceSystem.ERP


async def test_garbage_instead_of_json_is_a_data_error() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>proxy error")

    with pytest.raises(SourceDataError):
        await client(handle).json("GET", "/x")


async def test_the_breaker_opens_after_repeated_failures_and_closes_after_a_probe() -> None:
    healthy = False
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={}) if healthy else httpx.Response(503)

    source = client(handle, retry=RetryPolicy(attempts=1))
    for _ in range(3):
        with pytest.raises(SourceUnavailable):
            await source.request("GET", "/x")
    assert source.breaker.state == "open"

    with pytest.raises(SourceUnavailable, match="circuit open"):
        await source.request("GET", "/x")
    assert len(seen) == 3, "an open breaker must not call the source"

    healthy = True
    await asyncio.sleep(0.06)
    await source.request("GET", "/x")
    assert source.breaker.state == "closed"


async def test_a_failed_half_open_probe_opens_the_breaker_again() -> None:
    handler, seen = flaky(failures=99)
    source = client(handler, retry=RetryPolicy(attempts=1))
    for _ in range(3):
        with pytest.raises(SourceUnavailable):
            await source.request("GET", "/x")
    await asyncio.sleep(0.06)
    with pytest.raises(SourceUnavailable):
        await source.request("GET", "/x")
    assert len(seen) == 4
    assert source.breaker.state == "open"


async def test_a_half_open_probe_given_up_by_its_caller_lets_the_next_call_probe() -> None:
    hanging = True
    seen: list[httpx.Request] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) <= 3:
            return httpx.Response(503)
        if hanging:
            await asyncio.sleep(10)
        return httpx.Response(200, json={})

    source = client(handle, retry=RetryPolicy(attempts=1))  # type: ignore[arg-type]
    for _ in range(3):
        with pytest.raises(SourceUnavailable):
            await source.request("GET", "/x")
    await asyncio.sleep(0.06)
    probe = asyncio.create_task(source.request("GET", "/x"))
    await asyncio.sleep(0.02)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe

    hanging = False
    await source.request("GET", "/x")
    assert source.breaker.state == "closed"


async def test_concurrency_is_bounded() -> None:
    in_flight = 0
    peak = 0

    async def handle(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json={})

    source = client(handle, concurrency=3)  # type: ignore[arg-type]
    await asyncio.gather(*(source.request("GET", f"/x/{i}") for i in range(12)))
    assert peak <= 3


async def test_the_total_deadline_stops_retrying() -> None:
    handler, seen = flaky(failures=99)
    source = client(
        handler,
        retry=RetryPolicy(attempts=50, backoff_initial=0.05, backoff_max=0.05, jitter=0),
        timeouts=Timeouts(total=0.12),
    )
    with pytest.raises(SourceUnavailable):
        await source.request("GET", "/x")
    assert len(seen) < 10

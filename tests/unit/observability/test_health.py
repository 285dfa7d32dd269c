"""Source health from what calls report: status rules, the rolling window, quota headers."""

from __future__ import annotations

import pytest

from gateway.observability.health import (
    DOWN_AFTER,
    SourceHealthTracker,
    SourceStatus,
    quota_left,
)
from sources.records import SourceSystem

ERP = SourceSystem.ERP


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tracker(breaker: str = "closed", window_s: float = 300.0) -> tuple[SourceHealthTracker, Clock]:
    clock = Clock()
    state = {"breaker": breaker}
    health = SourceHealthTracker(
        {ERP: lambda: state["breaker"]}, window_s=window_s, clock=clock, wall_clock=clock
    )
    return health, clock


def test_a_source_never_called_is_up_with_no_figures() -> None:
    health, _ = tracker()
    (report,) = health.reports()
    assert report.status is SourceStatus.UP
    assert report.latency_p50_ms is None
    assert report.error_rate == 0.0
    assert report.last_success_at is None


def test_failures_degrade_then_take_a_source_down_and_one_success_brings_it_up() -> None:
    health, _ = tracker()
    health.call(ERP, None)
    health.call(ERP, "SOURCE_UNAVAILABLE")
    assert health.report(ERP).status is SourceStatus.DEGRADED
    for _ in range(DOWN_AFTER - 1):
        health.call(ERP, "SOURCE_UNAVAILABLE")
    assert health.report(ERP).status is SourceStatus.DOWN
    health.call(ERP, None)
    report = health.report(ERP)
    assert report.status is SourceStatus.UP
    assert report.error_rate == pytest.approx(DOWN_AFTER / (DOWN_AFTER + 2))
    assert report.last_success_at is not None


@pytest.mark.parametrize(
    ("breaker", "status"),
    [
        pytest.param("open", SourceStatus.DOWN, id="open"),
        pytest.param("half-open", SourceStatus.DEGRADED, id="half-open"),
        pytest.param("closed", SourceStatus.UP, id="closed"),
    ],
)
def test_the_breaker_sets_the_status(breaker: str, status: SourceStatus) -> None:
    health, _ = tracker(breaker)
    health.call(ERP, None)
    report = health.report(ERP)
    assert (report.status, report.breaker) == (status, breaker)


def test_latency_percentiles_and_retries_cover_the_window_only() -> None:
    health, clock = tracker(window_s=300)
    for ms in range(1, 101):
        health.attempt(ERP, ms / 1000, None)
    health.retried(ERP, "SOURCE_TIMEOUT")
    report = health.report(ERP)
    assert report.latency_p50_ms == pytest.approx(50)
    assert report.latency_p95_ms == pytest.approx(95)
    assert report.retries == 1
    clock.now += 301
    report = health.report(ERP)
    assert (report.latency_p50_ms, report.retries) == (None, 0)


def test_being_throttled_degrades_a_source_for_a_while() -> None:
    health, clock = tracker()
    health.retried(ERP, "RATE_LIMITED")
    health.call(ERP, None)
    assert health.report(ERP).status is SourceStatus.DEGRADED
    clock.now += 61
    assert health.report(ERP).status is SourceStatus.UP


def test_capture_lag_is_the_age_of_the_oldest_scan_and_changes_are_dated() -> None:
    health, clock = tracker()
    assert health.report(ERP).capture_lag_seconds is None
    health.scanned(ERP, "invoice", started_at=clock.now - 4, changes=0)
    health.scanned(ERP, "time_posting", started_at=clock.now - 10, changes=2)
    report = health.report(ERP)
    assert report.capture_lag_seconds == pytest.approx(10)
    assert report.last_change_captured_at is not None
    assert health.capture_lags()[(ERP, "invoice")] == pytest.approx(4)


@pytest.mark.parametrize(
    ("headers", "left"),
    [
        pytest.param({"sforce-limit-info": "api-usage=250/1000"}, 0.75, id="salesforce"),
        pytest.param({"x-ratelimit-remaining": "10", "x-ratelimit-limit": "100"}, 0.1, id="x-rl"),
        pytest.param({"retry-after": "3"}, None, id="nothing-said"),
        pytest.param({"x-ratelimit-remaining": "n/a", "x-ratelimit-limit": "100"}, None, id="bad"),
    ],
)
def test_quota_left_from_vendor_headers(headers: dict[str, str], left: float | None) -> None:
    assert quota_left(headers) == left


def test_a_nearly_spent_quota_degrades_a_source() -> None:
    health, _ = tracker()
    health.attempt(ERP, 0.01, {"sforce-limit-info": "api-usage=950/1000"})
    report = health.report(ERP)
    assert report.quota_remaining == pytest.approx(0.05)
    assert report.status is SourceStatus.DEGRADED


def test_a_gateway_that_stopped_capturing_reports_no_capture_lag() -> None:
    health, clock = tracker()
    health.scanned(ERP, "invoice", started_at=clock.now - 4, changes=0)
    health.capturing = lambda: False
    assert health.report(ERP).capture_lag_seconds is None
    assert health.capture_lags() == {}

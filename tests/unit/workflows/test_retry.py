"""Retry policy: which errors are retried, and how long to wait between attempts."""

from __future__ import annotations

import pytest

from gateway.workflows import RetryPolicy, is_retriable
from sources.errors import RateLimited, SourceRejected, SourceUnavailable
from sources.records import SourceSystem


@pytest.mark.parametrize(
    ("error", "retriable"),
    [
        pytest.param(SourceUnavailable(SourceSystem.ERP, "503"), True, id="source-unavailable"),
        pytest.param(RateLimited(SourceSystem.TIME, "429", 2.0), True, id="rate-limited"),
        pytest.param(
            SourceRejected(SourceSystem.CRM, "bad", status=400), False, id="source-rejected"
        ),
        pytest.param(ValueError("bug"), False, id="plain-error"),
        pytest.param(TimeoutError(), True, id="timeout"),
    ],
)
def test_errors_say_whether_they_are_worth_retrying(error: Exception, retriable: bool):
    assert RetryPolicy().retries(error, attempt=1) is retriable


def test_nothing_is_retried_once_attempts_are_spent():
    policy = RetryPolicy(max_attempts=2)
    error = SourceUnavailable(SourceSystem.ERP, "503")

    assert policy.retries(error, attempt=1)
    assert not policy.retries(error, attempt=2)


def test_backoff_grows_exponentially_within_the_jitter_and_the_cap():
    policy = RetryPolicy(initial_delay=1.0, multiplier=2.0, max_delay=5.0, jitter=0.1)

    for attempt, base in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        delays = [policy.delay(attempt) for _ in range(50)]
        assert all(base * 0.9 <= d <= base * 1.1 for d in delays)
    assert len({policy.delay(1) for _ in range(20)}) > 1  # jittered


def test_a_retry_after_hint_is_honoured():
    policy = RetryPolicy(initial_delay=0.1, jitter=0.0)

    assert policy.delay(1, retry_after=7.0) == 7.0
    assert policy.delay(1, retry_after=None) == pytest.approx(0.1)


def test_an_error_can_declare_itself_retriable():
    class Flaky(Exception):
        retriable = True

    assert is_retriable(Flaky())
    assert not is_retriable(ValueError())
    assert is_retriable(ValueError(), also=(ValueError,))

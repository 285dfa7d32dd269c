"""Per-consumer rate limits over HTTP: two gateway processes sharing one Redis spend
from one bucket per consumer, and an operation over the rate is a 429 with Retry-After
and RATE_LIMITED."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import redis

from gateway.settings import (
    EventsConfig,
    RateConfig,
    RateLimitsConfig,
    RolesRatesConfig,
    Settings,
)
from sandboxes.runner import SandboxCluster
from tests.e2e.gateway_process import GatewayProcess, gateway_process

REDIS_URL = "redis://127.0.0.1:6379/0"
BURST = 4
QUERY = "{ __typename }"


@pytest.fixture(scope="module")
def prefix() -> Iterator[str]:
    prefix = f"psgraph-test-{secrets.token_hex(6)}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="module")
def replicas(
    demo_settings: Settings,
    sandboxes: SandboxCluster,
    tmp_path_factory: pytest.TempPathFactory,
    prefix: str,
) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    # A bucket of four that refills one operation a minute: what the test spends stays spent.
    slow = RolesRatesConfig(operations=RateConfig(per_s=1 / 60, burst=BURST))
    updates: dict[str, Any] = {
        "bus_url": REDIS_URL,
        "events": EventsConfig(capture=False, bus_prefix=prefix),
        "rate_limits": RateLimitsConfig(enabled=True, default=slow),
    }
    with ExitStack() as stack:
        a, b = (
            stack.enter_context(
                gateway_process(
                    demo_settings, sandboxes, tmp_path_factory.mktemp(f"rate-{name}"), **updates
                )
            )
            for name in ("a", "b")
        )
        yield a, b


def post(gateway: GatewayProcess, query: str) -> httpx.Response:
    return httpx.post(gateway.graphql, json={"query": query}, headers=gateway.headers, timeout=60)


def test_two_replicas_spend_from_one_bucket_per_consumer(replicas):
    a, b = replicas

    spent = [post(replica, QUERY) for replica in (a, b, a, b)]
    refused = post(b, QUERY)

    assert [response.status_code for response in spent] == [200] * BURST
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == int(refused.headers["retry-after"])
    assert post(a, QUERY).status_code == 429

"""Health and readiness know each source's state."""

from __future__ import annotations

from tests.integration.gateway.conftest import QUICK


async def test_readyz_probes_every_source(gateway):
    response = await gateway.http.get("/readyz", params={"probe": "true"})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    for name, state in body["sources"].items():
        assert state["configured"], name
        assert state["breaker"] == "closed", name
        assert state["lastSuccess"] is not None, name


async def test_a_source_that_is_down_shows_in_health_and_readiness(open_gateway, faults):
    async with open_gateway(overrides={"erp": QUICK}) as gateway:
        with faults("erp", outage=True):
            ready = await gateway.http.get("/readyz", params={"probe": "true"})
        health = await gateway.http.get("/healthz")

    assert ready.status_code == 200  # the other four still answer
    assert ready.json()["status"] == "degraded"
    erp = health.json()["sources"]["ERP"]
    assert erp["lastErrorCode"] == "SOURCE_UNAVAILABLE"
    assert erp["consecutiveFailures"] >= 1
    assert health.json()["sources"]["CRM"]["lastError"] is None


async def test_after_repeated_failures_the_breaker_shows_open(open_gateway, faults):
    breaker = {"breaker": QUICK["breaker"].model_copy(update={"failure_threshold": 2})}
    async with open_gateway(overrides={"time": {**QUICK, **breaker}}) as gateway:
        with faults("time", outage=True):
            await gateway.http.get("/readyz", params={"probe": "true"})
            await gateway.http.get("/readyz", params={"probe": "true"})
        health = await gateway.http.get("/healthz")

    assert health.json()["sources"]["TIME"]["breaker"] == "open"

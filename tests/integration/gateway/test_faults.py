"""One source down or slow: the others' data still comes back, within the timeouts, and
the errors say which source failed and how."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sources.config import Timeouts
from tests.integration.gateway.conftest import QUICK

EVERYTHING = """
{
  projects(first: 5) { edges { node {
    name financeCode client { name } manager { name } health { hoursUnbilled risks }
  } } }
  clients(first: 3) { edges { node { name paymentTerms } } }
  resources(first: 3) { edges { node { name } } }
  timeEntries(first: 3) { edges { node { hours } } }
}
"""


def projects(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in data["projects"]["edges"]]


def clients(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in data["clients"]["edges"]]


EXPECTATIONS = [
    pytest.param(
        "crm",
        lambda d: d["clients"] is None and all(p["client"] is None for p in projects(d)),
        lambda d: all(p["name"] and p["manager"] for p in projects(d)) and d["resources"],
        id="crm",
    ),
    pytest.param(
        "psa",
        lambda d: d["projects"] is None,
        lambda d: all(c["name"] and c["paymentTerms"] for c in clients(d)) and d["timeEntries"],
        id="psa",
    ),
    pytest.param(
        "hcm",
        lambda d: d["resources"] is None and all(p["manager"] is None for p in projects(d)),
        lambda d: all(p["client"]["name"] for p in projects(d)) and d["clients"],
        id="hcm",
    ),
    pytest.param(
        "erp",
        lambda d: (
            all(p["financeCode"] is None and p["health"]["risks"] is None for p in projects(d))
            and all(c["paymentTerms"] is None for c in clients(d))
        ),
        lambda d: all(
            p["client"]["name"] and p["health"]["hoursUnbilled"] is not None for p in projects(d)
        ),
        id="erp",
    ),
    pytest.param(
        "time",
        lambda d: (
            d["timeEntries"] is None
            and all(p["health"]["hoursUnbilled"] is None for p in projects(d))
        ),
        lambda d: all(p["financeCode"] or p["name"] for p in projects(d)) and d["clients"],
        id="time",
    ),
]

SOURCE = {"crm": "CRM", "psa": "PSA", "hcm": "HCM", "erp": "ERP", "time": "TIME"}
WITHIN = 5.0  # seconds: generous next to the 0.8 s a call may take with QUICK timeouts


# An outage answers at once, so waiting longer costs nothing and keeps a busy machine from
# turning the outage's quick 503 into a timeout.
PATIENT = {**QUICK, "timeouts": Timeouts(connect=1.0, read=2.0, total=3.0)}


async def answer_while(
    open_gateway: Any, faults: Any, name: str, settings: dict[str, Any] = QUICK, **fault: Any
) -> tuple[dict[str, Any], float]:
    async with open_gateway(overrides={name: settings}) as gateway:
        await gateway.query("{ clients(first: 1) { totalCount } }")  # tokens before the fault
        with faults(name, **fault):
            started = time.monotonic()
            body = await gateway.query(EVERYTHING)
            elapsed = time.monotonic() - started
    return body, elapsed


@pytest.mark.parametrize(("name", "nulled", "kept"), EXPECTATIONS)
async def test_an_outage_nulls_only_that_sources_fields(open_gateway, faults, name, nulled, kept):
    body, elapsed = await answer_while(open_gateway, faults, name, PATIENT, outage=True)

    data = body["data"]
    assert nulled(data)
    assert kept(data)
    assert {(e["extensions"]["code"], e["extensions"]["source"]) for e in body["errors"]} == {
        ("SOURCE_UNAVAILABLE", SOURCE[name])
    }
    assert elapsed < WITHIN


@pytest.mark.parametrize(("name", "nulled", "kept"), EXPECTATIONS)
async def test_a_source_slower_than_its_timeout_is_given_up_on(
    open_gateway, faults, name, nulled, kept
):
    body, elapsed = await answer_while(open_gateway, faults, name, latency_ms=1500)

    data = body["data"]
    assert nulled(data)
    assert kept(data)
    assert {(e["extensions"]["code"], e["extensions"]["source"]) for e in body["errors"]} == {
        ("SOURCE_TIMEOUT", SOURCE[name])
    }
    assert elapsed < WITHIN

"""A failing source nulls only the fields it serves, with errors naming it and why."""

from __future__ import annotations

from typing import Any

import pytest

from sources.errors import (
    RateLimited,
    SourceDataError,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
)
from tests.unit.resolvers.fakes import CRM, ERP, HCM, PSA, TIME, account_id
from tests.unit.schema.conftest import errors_of, stale_cache

DASHBOARD = """
{
  projects(first: 4) { edges { node {
    name financeCode client { name } manager { name } milestones { name }
    invoices(first: 5) { totalCount } health { budgetBurn hoursUnbilled risks }
  } } }
  clients(first: 2) { edges { node { name paymentTerms } } }
}
"""


def first_project(data: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = data["projects"]["edges"][0]["node"]
    return node


def first_client(data: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = data["clients"]["edges"][0]["node"]
    return node


@pytest.mark.parametrize(
    ("system", "nulled", "kept"),
    [
        pytest.param(
            CRM,
            lambda d: [first_project(d)["client"], d["clients"]],
            lambda d: [first_project(d)["name"], first_project(d)["financeCode"]],
            id="crm",
        ),
        pytest.param(
            PSA,
            lambda d: [d["projects"]],
            lambda d: [first_client(d)["name"], first_client(d)["paymentTerms"]],
            id="psa",
        ),
        pytest.param(
            HCM,
            lambda d: [first_project(d)["manager"]],
            lambda d: [first_project(d)["client"]["name"], first_project(d)["milestones"]],
            id="hcm",
        ),
        pytest.param(
            ERP,
            lambda d: [
                first_project(d)["financeCode"],
                first_project(d)["invoices"],
                first_project(d)["health"]["risks"],
                first_client(d)["paymentTerms"],
            ],
            lambda d: [first_project(d)["health"]["budgetBurn"], first_client(d)["name"]],
            id="erp",
        ),
        pytest.param(
            TIME,
            lambda d: [
                first_project(d)["health"]["budgetBurn"],
                first_project(d)["health"]["hoursUnbilled"],
                first_project(d)["health"]["risks"],
            ],
            lambda d: [first_project(d)["financeCode"], first_project(d)["manager"]["name"]],
            id="time",
        ),
    ],
)
async def test_an_outage_nulls_only_what_that_source_serves(
    sources, make_run, system, nulled, kept
):
    sources.connectors[system].failure = SourceUnavailable(system, "HTTP 503")

    result = await make_run(sources)(DASHBOARD)

    assert result.data is not None
    assert all(value is None for value in nulled(result.data))
    assert all(value is not None for value in kept(result.data))
    errors = errors_of(result)
    assert errors
    assert {(e["extensions"]["code"], e["extensions"]["source"]) for e in errors} == {
        ("SOURCE_UNAVAILABLE", system.value)
    }


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        pytest.param(SourceTimeout(ERP, "read timeout"), "SOURCE_TIMEOUT", id="timeout"),
        pytest.param(RateLimited(ERP, "429", retry_after=3), "RATE_LIMITED", id="rate-limited"),
        pytest.param(SourceRejected(ERP, "400", status=400), "SOURCE_REJECTED", id="rejected"),
        pytest.param(SourceDataError(ERP, "bad json"), "SOURCE_ERROR", id="bad-data"),
    ],
)
async def test_each_kind_of_failure_has_its_code(sources, make_run, failure, code):
    sources.connectors[ERP].failure = failure

    result = await make_run(sources)("{ projects(first: 1) { edges { node { financeCode } } } }")

    assert first_project(result.data)["financeCode"] is None
    assert {e["extensions"]["code"] for e in errors_of(result)} == {code}


async def test_references_list_the_systems_that_answered_and_name_the_one_that_did_not(
    sources, make_run
):
    sources.connectors[ERP].failure = SourceUnavailable(ERP, "down")

    result = await make_run(sources).node("Client", account_id(0), "name systemRefs { system id }")

    assert result.data["node"] == {
        "name": "Client 0",
        "systemRefs": [{"system": "CRM", "id": account_id(0)}],
    }
    (error,) = errors_of(result)
    assert error["path"] == ["node", "systemRefs"]
    assert error["extensions"] == {"code": "SOURCE_UNAVAILABLE", "source": "ERP"}


async def test_a_bug_is_masked_outside_debug_and_shown_in_debug(sources, make_run):
    sources.connectors[ERP].failure = KeyError("internal detail")  # a bug, not a SourceError
    query = "{ projects(first: 1) { edges { node { name financeCode } } } }"

    masked = await make_run(sources)(query)
    shown = await make_run(sources, debug=True)(query)

    assert first_project(masked.data)["name"] == "Project 0"
    assert [e["message"] for e in errors_of(masked)] == ["Unexpected error."]
    assert errors_of(masked)[0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "internal detail" in errors_of(shown)[0]["message"]


class Clock:
    now = 5000.0

    def __call__(self) -> float:
        return self.now


async def test_with_stale_if_error_a_down_source_is_served_from_the_cache_marked_stale(
    sources, make_run
):
    clock = Clock()
    cache = stale_cache(clock, {ERP: {"job": 60}})
    run = make_run(sources, cache=cache)
    query = "{ projects(first: 1) { edges { node { financeCode } } } }"
    await run(query)

    clock.now += 120  # past the TTL, inside the stale window
    sources.connectors[ERP].failure = SourceUnavailable(ERP, "down")
    result = await run(query)

    assert result.errors is None
    assert first_project(result.data)["financeCode"] == "J0"
    assert result.extensions["freshness"]["ERP"] == {"ageSeconds": 120.0, "stale": True}

"""Orchestrated writes through the running gateway, driven by a real GraphQL client (gql
over HTTP) against the sandboxes: quote-to-project makes one project in every system and
a repeat with the same key changes nothing; refused input carries a machine code."""

from __future__ import annotations

import pytest
from gql.transport.exceptions import TransportQueryError

from gateway.workflows.systems import Systems
from resolvers import ids
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from tests.e2e.conftest import GraphQL
from tests.integration.workflows.support import footprint, won_deal, write_counts

START = """
mutation($input: StartProjectInput!) {
  startProjectFromOpportunity(input: $input) { id kind status idempotencyKey }
}
"""
pytestmark = pytest.mark.usefixtures("seeded_world_after")


async def test_quote_to_project_makes_one_project_and_a_repeat_changes_nothing(
    graphql: GraphQL, systems: Systems, world: World, sandboxes: SandboxCluster
) -> None:
    deal = await won_deal(systems, world, contract_type="TIME_AND_MATERIALS")
    start = {"opportunityId": ids.encode("Opportunity", deal), "idempotencyKey": "e2e-q2p"}

    started = (await graphql(START, input=start))["startProjectFromOpportunity"]
    done = await graphql.settled(started["id"])

    assert started["kind"] == "quote_to_project"
    assert done["status"] == "SUCCEEDED", done["steps"]
    assert {s["name"]: s["status"] for s in done["steps"]} == {
        name: "SUCCEEDED"
        for name in (
            "validate",
            "customer",
            "workspace",
            "job",
            "staffing",
            "billing_schedule",
            "finance_code",
            "write_back",
        )
    }
    made = await footprint(systems, deal)
    assert made.complete(), made
    project = done["result"]
    assert project["__typename"] == "Project"
    assert project["id"] == ids.encode("Project", made.workspaces[0].id)
    assert project["financeCode"] == made.jobs[0].id
    assert await graphql.finished_event(started["id"])
    writes = write_counts(sandboxes)

    again = (await graphql(START, input=start))["startProjectFromOpportunity"]

    assert again["id"] == started["id"]
    assert again["status"] == "SUCCEEDED"
    assert write_counts(sandboxes) == writes
    assert await footprint(systems, deal) == made


async def test_a_used_key_with_another_deal_is_an_idempotency_conflict(
    graphql: GraphQL, systems: Systems, world: World
) -> None:
    first, second = await won_deal(systems, world), await won_deal(systems, world)
    await graphql(
        START, input={"opportunityId": ids.encode("Opportunity", first), "idempotencyKey": "dup"}
    )

    with pytest.raises(TransportQueryError) as refused:
        await graphql(
            START,
            input={"opportunityId": ids.encode("Opportunity", second), "idempotencyKey": "dup"},
        )

    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "IDEMPOTENCY_CONFLICT"


@pytest.mark.parametrize(
    ("opportunity_id", "message"),
    [
        pytest.param("not-an-id", "not a valid id", id="garbage"),
        pytest.param(
            ids.encode("Project", "1000001"), "expected a Opportunity id", id="wrong-type"
        ),
    ],
)
async def test_a_bad_opportunity_id_is_bad_user_input(
    graphql: GraphQL, opportunity_id: str, message: str
) -> None:
    with pytest.raises(TransportQueryError) as refused:
        await graphql(START, input={"opportunityId": opportunity_id, "idempotencyKey": "bad"})

    assert refused.value.errors is not None
    error = refused.value.errors[0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]


async def test_workflows_are_listed_newest_first_by_status(
    graphql: GraphQL, systems: Systems, world: World
) -> None:
    deals = [await won_deal(systems, world) for _ in range(3)]
    for n, deal in enumerate(deals):
        started = await graphql(
            START,
            input={"opportunityId": ids.encode("Opportunity", deal), "idempotencyKey": f"l{n}"},
        )
        await graphql.settled(started["startProjectFromOpportunity"]["id"])

    page = await graphql(
        """query { workflows(first: 2, status: SUCCEEDED) {
             totalCount edges { cursor node { idempotencyKey } } pageInfo { hasNextPage endCursor }
           } }"""
    )
    rest = await graphql(
        """query($after: String) {
             workflows(first: 2, after: $after) { edges { node { idempotencyKey } } }
           }""",
        after=page["workflows"]["pageInfo"]["endCursor"],
    )

    assert page["workflows"]["totalCount"] == 3
    assert [e["node"]["idempotencyKey"] for e in page["workflows"]["edges"]] == ["l2", "l1"]
    assert page["workflows"]["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["idempotencyKey"] for e in rest["workflows"]["edges"]] == ["l0"]


async def test_time_is_submitted_and_approved_through_the_gateway(
    graphql: GraphQL, world: World
) -> None:
    scheduled = {s.project_key for s in world.billing_schedules}
    project = next(
        p for p in world.projects if p.status == "ACTIVE" and p.erp_job_id and p.key in scheduled
    )
    person_key = next(a.person_key for a in world.assignments if a.project_key == project.key)
    submit = """
      mutation($p: ID!, $r: ID!, $key: String!) {
        submitTime(projectId: $p, resourceId: $r, date: "2026-11-03", hours: 4.5,
                   billable: true, notes: "Workshop", idempotencyKey: $key) { id hours status }
      }"""
    variables = {
        "p": ids.encode("Project", project.psa_id),
        "r": ids.encode("Resource", world.people[person_key].hcm_id),
        "key": "e2e-time-1",
    }

    entry = (await graphql(submit, **variables))["submitTime"]
    repeat = (await graphql(submit, **variables))["submitTime"]
    approved = (
        await graphql(
            "mutation($ids: [ID!]!) { approveTimeEntries(ids: $ids) { id kind } }",
            ids=[entry["id"]],
        )
    )["approveTimeEntries"]
    done = await graphql.settled(approved["id"])

    assert repeat["id"] == entry["id"]
    assert entry["hours"] == 4.5
    assert done["status"] == "SUCCEEDED", done["steps"]
    assert [s["system"] for s in done["steps"]] == ["TIME", "ERP", "ERP"]


async def test_a_refused_submission_leaves_its_key_free_for_the_corrected_one(
    graphql: GraphQL, world: World
) -> None:
    project = next(p for p in world.projects if p.status == "ACTIVE" and p.erp_job_id)
    person_key = next(a.person_key for a in world.assignments if a.project_key == project.key)
    submit = """
      mutation($p: ID!, $r: ID!, $hours: Float!, $key: String!) {
        submitTime(projectId: $p, resourceId: $r, date: "2026-11-04", hours: $hours,
                   billable: true, notes: "Retro", idempotencyKey: $key) { id hours }
      }"""
    request = {"p": ids.encode("Project", project.psa_id), "hours": 3.0, "key": "e2e-fix-me"}

    # Well formed (an HCM worker id), so it is TIME that refuses it, not the gateway.
    unknown_worker = "0" * 32
    with pytest.raises(TransportQueryError) as refused:
        await graphql(submit, **request, r=ids.encode("Resource", unknown_worker))
    corrected = {**request, "r": ids.encode("Resource", world.people[person_key].hcm_id)}
    entry = (await graphql(submit, **corrected))["submitTime"]
    repeat = (await graphql(submit, **corrected))["submitTime"]
    with pytest.raises(TransportQueryError) as reused:
        await graphql(submit, **{**corrected, "hours": 5.0})

    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "BUSINESS_RULE"
    assert unknown_worker in refused.value.errors[0]["message"]
    assert entry["hours"] == 3.0
    assert repeat["id"] == entry["id"]
    assert reused.value.errors is not None
    assert reused.value.errors[0]["extensions"]["code"] == "IDEMPOTENCY_CONFLICT"

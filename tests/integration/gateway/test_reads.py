"""The unified schema resolved live against the five sandboxes."""

from __future__ import annotations

import datetime as dt

import pytest

from resolvers import ids
from sandboxes.world.model import World
from sources.records import SourceSystem
from tests.integration.gateway.conftest import request_counts, served_since

EVERY_QUERY_FIELD = """
query Everything($node: ID!, $client: ID!, $project: ID!, $resource: ID!, $search: String!,
                 $practice: String!, $skill: String!, $personPractice: String!) {
  node(id: $node) { __typename id ... on Project { code } }
  clients(first: 3, search: $search) { totalCount edges { node { id name paymentTerms } } }
  projects(first: 50, clientId: $client) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { code client { id } } }
  }
  byPractice: projects(first: 5, practice: $practice, status: ACTIVE) {
    edges { node { practice status } }
  }
  resources(first: 5, practice: $personPractice, skill: $skill) {
    totalCount edges { node { practice skills } }
  }
  opportunities(first: 5, stage: CLOSED_WON) { totalCount edges { node { stage client { name } } } }
  invoices(first: 5, clientId: $client) { totalCount edges { node { client { id } } } }
  timeEntries(first: 5, projectId: $project) { totalCount edges { node { project { code } } } }
  mine: timeEntries(first: 5, resourceId: $resource) { edges { node { resource { id } } } }
  workflow(id: "V29ya2Zsb3c6MQ") { id }
  workflows(first: 5) { totalCount }
  events(first: 5) { cursor }
}
"""


def with_time(world: World) -> int:
    """The key of a project whose client has invoices and which has time entries."""
    has_time = {entry.project_key for entry in world.time_entries}
    invoiced = {invoice.client_key for invoice in world.invoices}
    return next(p.key for p in world.projects if p.key in has_time and p.client_key in invoiced)


async def test_every_query_field_resolves_live(gateway, world):
    project = world.projects[with_time(world)]
    client = world.clients[project.client_key]
    person = next(p for p in world.people if any(e.person_key == p.key for e in world.time_entries))
    client_id = ids.encode("Client", client.crm_id)

    body = await gateway.query(
        EVERY_QUERY_FIELD,
        node=ids.encode("Project", project.psa_id),
        client=client_id,
        project=ids.encode("Project", project.psa_id),
        resource=ids.encode("Resource", person.hcm_id),
        search=client.name.split()[0],
        practice=project.practice,
        skill=person.skills[0],
        personPractice=person.practice,
    )

    assert "errors" not in body, body.get("errors")
    data = body["data"]
    assert data["node"] == {
        "__typename": "Project",
        "id": ids.encode("Project", project.psa_id),
        "code": project.code,
    }
    assert client.name in [e["node"]["name"] for e in data["clients"]["edges"]] or (
        data["clients"]["totalCount"] > 3
    )
    own = [p for p in world.projects if p.client_key == client.key]
    assert data["projects"]["totalCount"] == len(own)
    assert {e["node"]["client"]["id"] for e in data["projects"]["edges"]} == {client_id}
    assert all(e["node"]["practice"] == project.practice for e in data["byPractice"]["edges"])
    assert data["resources"]["totalCount"] >= 1
    assert all(
        e["node"]["practice"] == person.practice and person.skills[0] in e["node"]["skills"]
        for e in data["resources"]["edges"]
    )
    won = [o for o in world.opportunities if o.stage == "CLOSED_WON"]
    assert data["opportunities"]["totalCount"] == len(won)
    assert data["invoices"]["totalCount"] >= 1
    assert {e["node"]["client"]["id"] for e in data["invoices"]["edges"]} == {client_id}
    assert data["timeEntries"]["totalCount"] == sum(
        1 for e in world.time_entries if e.project_key == project.key
    )
    assert {e["node"]["project"]["code"] for e in data["timeEntries"]["edges"]} == {project.code}
    assert data["mine"]["edges"]
    assert data["workflow"] is None
    assert data["workflows"] == {"totalCount": 0}
    assert data["events"] == []


NODE = "query($id: ID!) { node(id: $id) { __typename id } }"


@pytest.mark.parametrize(
    ("type_name", "native_id"),
    [
        pytest.param("Client", lambda w: w.clients[5].crm_id, id="client"),
        pytest.param("Opportunity", lambda w: w.opportunities[5].crm_id, id="opportunity"),
        pytest.param("Project", lambda w: w.projects[5].psa_id, id="project"),
        pytest.param("Milestone", lambda w: w.milestones[5].psa_id, id="milestone"),
        pytest.param("Resource", lambda w: w.people[5].hcm_id, id="resource"),
        pytest.param("Assignment", lambda w: w.assignments[5].psa_id, id="assignment"),
        pytest.param("StaffingRequest", lambda w: w.staffing_requests[5].psa_id, id="request"),
        pytest.param("TimeEntry", lambda w: w.time_entries[5].time_id, id="time-entry"),
        pytest.param("Invoice", lambda w: w.invoices[5].erp_id, id="invoice"),
    ],
)
async def test_node_reads_each_type_from_its_system(gateway, world, type_name, native_id):
    global_id = ids.encode(type_name, native_id(world))

    body = await gateway.query(NODE, id=global_id)

    assert "errors" not in body, body.get("errors")
    assert body["data"]["node"] == {"__typename": type_name, "id": global_id}


PROJECT = """
query($id: ID!) { node(id: $id) { ... on Project {
  financeCode health { risks billingReady } systemRefs { system id url }
} } }
"""


async def test_a_project_without_a_finance_code_is_flagged(gateway, world):
    project = world.projects[min(world.defects.projects_without_finance_code)]

    body = await gateway.query(PROJECT, id=ids.encode("Project", project.psa_id))

    node = body["data"]["node"]
    assert node["financeCode"] is None
    assert "MISSING_FINANCE_CODE" in node["health"]["risks"]
    assert node["health"]["billingReady"] is False
    assert "ERP" not in {ref["system"] for ref in node["systemRefs"]}


async def test_a_project_without_a_billing_schedule_is_flagged(gateway, world):
    project = world.projects[min(world.defects.projects_without_billing_schedule)]

    body = await gateway.query(PROJECT, id=ids.encode("Project", project.psa_id))

    node = body["data"]["node"]
    assert node["financeCode"] == project.erp_job_id
    assert "NO_BILLING_SCHEDULE" in node["health"]["risks"]
    refs = {ref["system"]: ref for ref in node["systemRefs"]}
    assert refs["PSA"]["id"] == project.psa_id
    assert refs["PSA"]["url"]
    assert refs["ERP"]["id"] == project.erp_job_id
    assert refs["TIME"]["id"] == project.time_project_id


async def test_a_duplicate_erp_customer_is_shown_not_dropped(gateway, world):
    client = world.clients[min(world.defects.duplicate_customers)]

    body = await gateway.query(
        "query($id: ID!) { node(id: $id) { ... on Client { name paymentTerms"
        " systemRefs { system id } conflicts { field owner ownerValue system value } } } }",
        id=ids.encode("Client", client.crm_id),
    )

    node = body["data"]["node"]
    assert node["name"] == client.name
    assert node["paymentTerms"] == client.payment_terms
    erp_refs = {ref["id"] for ref in node["systemRefs"] if ref["system"] == "ERP"}
    assert erp_refs == {client.erp_id}  # the duplicate carries no link to the CRM...
    assert {  # ...and is found by its name, written another way
        "field": "customerId",
        "owner": "ERP",
        "ownerValue": client.erp_id,
        "system": "ERP",
        "value": client.duplicate_erp_id,
    } in node["conflicts"]


async def test_people_are_matched_across_hcm_psa_and_time(gateway, world):
    person = world.people[7]

    body = await gateway.query(
        "query($id: ID!, $from: Date!, $to: Date!) { node(id: $id) { ... on Resource {"
        " name email systemRefs { system id } utilization(from: $from, to: $to) } } }",
        id=ids.encode("Resource", person.hcm_id),
        **{"from": world.today.replace(day=1).isoformat(), "to": world.today.isoformat()},
    )

    node = body["data"]["node"]
    assert node["name"] == person.name
    assert {(r["system"], r["id"]) for r in node["systemRefs"]} == {
        ("HCM", person.hcm_id),
        ("PSA", person.psa_user_id),
        ("TIME", person.time_user_id),
    }
    assert node["utilization"] is not None


async def test_a_page_of_people_gets_from_the_team_report_what_each_reads_alone(
    gateway, sandboxes, world
):
    # Twelve people are read from TIME's team report; one person, from their own entries.
    start = world.today - dt.timedelta(days=30)
    window = {"from": start.isoformat(), "to": world.today.isoformat()}
    before = request_counts(sandboxes)
    page = await gateway.query(
        "query($from: Date!, $to: Date!) { resources(first: 12) { edges { node {"
        " id utilization(from: $from, to: $to) } } } }",
        **window,
    )
    served = served_since(before, request_counts(sandboxes))["time"]
    rows = [edge["node"] for edge in page["data"]["resources"]["edges"]]
    alone = [
        (
            await gateway.query(
                "query($id: ID!, $from: Date!, $to: Date!) { node(id: $id) {"
                " ... on Resource { utilization(from: $from, to: $to) } } }",
                id=row["id"],
                **window,
            )
        )["data"]["node"]["utilization"]
        for row in rows
    ]

    assert served.get("GET /v2/reports/time/team") == 1
    assert "GET /v2/time_entries" not in served
    assert any(row["utilization"] for row in rows)
    assert [row["utilization"] for row in rows] == pytest.approx(alone, abs=1e-3)


async def test_reads_are_cached_and_an_invalidation_reads_again(gateway, sandboxes):
    query = "{ projects(first: 20) { edges { node { name } } } }"
    await gateway.query(query)

    before = request_counts(sandboxes)
    await gateway.query(query)
    cached = served_since(before, request_counts(sandboxes))
    gateway.app.state.gateway.invalidate(SourceSystem.PSA, "project")
    await gateway.query(query)
    again = served_since(before, request_counts(sandboxes))

    assert cached.get("psa", {}) == {}
    assert sum(again["psa"].values()) == 1

"""Every Query field over fake sources: merged objects, derived figures, ids, paging."""

from __future__ import annotations

from typing import Any

import pytest

from resolvers import ids
from tests.unit.resolvers.fakes import PSA, TIME, Firm, account_id
from tests.unit.schema.conftest import errors_of


class _AnyKey(ids.KeyFormat):
    def accepts(self, key: str) -> bool:
        return True


@pytest.fixture(autouse=True)
def fake_firm_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake firm's ids ("P0", "W1") are not vendor-shaped; id formats have their own
    tests (tests/unit/resolvers/test_id_formats.py), these are about resolving."""
    monkeypatch.setattr(ids, "NODE_KEYS", {name: _AnyKey(None) for name in ids.NODE_KEYS})


EVERY_QUERY_FIELD = """
query Everything($node: ID!, $client: ID!, $project: ID!, $resource: ID!) {
  node(id: $node) { __typename id }
  clients(first: 2, search: "Client") { totalCount edges { cursor node { id name } } }
  projects(first: 2, status: ACTIVE, clientId: $client, practice: "Data") {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id name status } }
  }
  resources(first: 2, practice: "Data", skill: "python") { totalCount edges { node { name } } }
  opportunities(first: 10, stage: CLOSED_WON) { totalCount edges { node { name stage } } }
  invoices(first: 10, status: POSTED, clientId: $client) { totalCount edges { node { number } } }
  timeEntries(first: 10, status: APPROVED, projectId: $project, resourceId: $resource,
              from: "2025-06-01", to: "2025-06-30") { totalCount edges { node { hours } } }
  workflow(id: "V29ya2Zsb3c6MQ") { id }
  workflows(first: 5, status: RUNNING) { totalCount edges { node { id } } }
  events(first: 5, types: ["ProjectActivated"]) { cursor type }
}
"""


async def test_every_query_field_resolves(run):
    result = await run(
        EVERY_QUERY_FIELD,
        {
            "node": ids.encode("Project", "P0"),
            "client": ids.encode("Client", account_id(0)),
            "project": ids.encode("Project", "P0"),
            "resource": ids.encode("Resource", "W0"),
        },
    )

    assert result.errors is None
    data = result.data
    assert data["node"] == {"__typename": "Project", "id": ids.encode("Project", "P0")}
    assert data["clients"]["totalCount"] == 2
    assert [e["node"]["name"] for e in data["projects"]["edges"]] == ["Project 1"]
    assert [e["node"]["name"] for e in data["resources"]["edges"]] == ["Person 0", "Person 2"]
    assert data["opportunities"]["totalCount"] == 4
    assert [e["node"]["number"] for e in data["invoices"]["edges"]] == ["INV-0-0"]
    assert data["timeEntries"]["totalCount"] == 1
    assert data["workflow"] is None
    assert data["workflows"] == {"totalCount": 0, "edges": []}
    assert data["events"] == []


@pytest.mark.parametrize(
    ("type_name", "key"),
    [
        pytest.param("Client", account_id(1), id="client"),
        pytest.param("Opportunity", "006O00000000000002", id="opportunity"),
        pytest.param("Project", "P2", id="project"),
        pytest.param("Milestone", "M2-1", id="milestone"),
        pytest.param("Resource", "W3", id="resource"),
        pytest.param("Assignment", "A1-0", id="assignment"),
        pytest.param("StaffingRequest", "S3", id="staffing-request"),
        pytest.param("TimeEntry", "E1-2", id="time-entry"),
        pytest.param("Invoice", "I3-1", id="invoice"),
    ],
)
async def test_node_reads_any_object_by_its_global_id(run, type_name, key):
    global_id = ids.encode(type_name, key)

    result = await run("query($id: ID!) { node(id: $id) { __typename id } }", {"id": global_id})

    assert result.errors is None
    assert result.data["node"] == {"__typename": type_name, "id": global_id}


async def test_node_of_an_object_no_system_has_is_null(run):
    result = await run.node("Project", "P404", "id")

    assert result.errors is None
    assert result.data["node"] is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param(
            '{ node(id: "nonsense") { id } }', "id: 'nonsense' is not a valid id", id="node-garbage"
        ),
        pytest.param(
            '{ projects(clientId: "UHJvamVjdDpQMQ") { totalCount } }',  # a Project id
            "clientId: expected a Client id, got a Project id",
            id="wrong-type",
        ),
        pytest.param(
            "{ projects(first: 5000) { totalCount } }",
            "first must be between 0 and 1000, got 5000",
            id="page-too-big",
        ),
        pytest.param(
            '{ projects(after: "garbage!") { totalCount } }', "not a valid cursor", id="bad-cursor"
        ),
        pytest.param(
            '{ timeEntries(from: "2025-06-30", to: "2025-06-01") { totalCount } }',
            "to (2025-06-01) is before from (2025-06-30)",
            id="reversed-range",
        ),
    ],
)
async def test_bad_ids_and_arguments_are_explained(run, query, message):
    result = await run(query)

    (error,) = errors_of(result)
    assert message in error["message"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_a_client_is_the_crm_account_with_erp_billing_terms_and_visible_conflicts(run):
    result = await run.node(
        "Client",
        account_id(1),
        "name industry accountOwner paymentTerms creditStatus receivables { amount currency }"
        " systemRefs { system id url } conflicts { field owner ownerValue system value }",
    )

    client = result.data["node"]
    assert result.errors is None
    assert client["name"] == "Client 1"  # the CRM owns the name...
    assert client["paymentTerms"] == "Net 30"  # ...and the ERP the billing terms
    assert client["creditStatus"] == "GOOD"
    assert client["receivables"] == {"amount": "1600", "currency": "USD"}
    assert client["systemRefs"] == [
        {"system": "CRM", "id": account_id(1), "url": f"https://crm.example/{account_id(1)}"},
        {"system": "ERP", "id": "C1", "url": None},
        {"system": "ERP", "id": "C1dup", "url": None},
    ]
    assert client["conflicts"] == [  # ...and the ERP's other name is not dropped
        {
            "field": "name",
            "owner": "CRM",
            "ownerValue": "Client 1",
            "system": "ERP",
            "value": "Client 1 Ltd",
        },
        {
            "field": "customerId",
            "owner": "ERP",
            "ownerValue": "C1",
            "system": "ERP",
            "value": "C1dup",
        },
    ]


PROJECT_HEALTH = """
{ projects(first: 10) { edges { node {
    code status financeCode
    health { budgetBurn hoursApproved hoursUnbilled unbilledAmount { amount }
             invoicedAmount { amount } margin billingReady risks }
} } } }
"""


async def test_project_health_is_derived_across_systems(run):
    result = await run(PROJECT_HEALTH)

    assert result.errors is None
    projects = {e["node"]["code"]: e["node"] for e in result.data["projects"]["edges"]}
    ready = projects["PRJ-00000"]
    assert ready["financeCode"] == "J0"
    assert ready["health"] == {
        "budgetBurn": 0.24,  # 24 billable hours at 100 over a 10,000 budget
        "hoursApproved": 16.0,
        "hoursUnbilled": 8.0,
        "unbilledAmount": {"amount": "800.0"},
        "invoicedAmount": {"amount": "1600"},
        "margin": 0.5,  # 24 hours at the team's blended 50 against 2,400 billable
        "billingReady": True,
        "risks": ["UNBILLED_TIME_ON_CLOSED_PROJECT"],
    }
    assert projects["PRJ-00001"]["financeCode"] is None
    assert projects["PRJ-00001"]["health"]["risks"] == ["MISSING_FINANCE_CODE"]
    assert projects["PRJ-00001"]["health"]["billingReady"] is False
    assert projects["PRJ-00002"]["health"]["risks"] == ["NO_BILLING_SCHEDULE"]


FINANCE_CODE = "financeCode health { risks } conflicts { field owner ownerValue system value }"


def psa_names_another_job(sources: Firm) -> None:
    psa_projects = sources.records[PSA]["project"]
    psa_projects[0] = psa_projects[0].model_copy(update={"erp_job_id": "J-OTHER"})
    sources.connectors[PSA].records["project"] = psa_projects


async def test_the_owner_of_the_finance_code_wins_and_the_other_value_is_shown(sources, make_run):
    psa_names_another_job(sources)

    project = (await make_run(sources).node("Project", "P0", FINANCE_CODE)).data["node"]

    assert project["financeCode"] == "J0"
    assert project["conflicts"] == [
        {
            "field": "financeCode",
            "owner": "ERP",
            "ownerValue": "J0",
            "system": "PSA",
            "value": "J-OTHER",
        }
    ]
    assert "FINANCE_CODE_MISMATCH" in project["health"]["risks"]


async def test_who_owns_the_finance_code_is_configuration(sources, make_run):
    psa_names_another_job(sources)
    run = make_run(sources, authority={"project": {"financeCode": "PSA"}})

    project = (await run.node("Project", "P0", FINANCE_CODE)).data["node"]

    assert project["financeCode"] == "J-OTHER"
    assert project["conflicts"][0]["owner"] == "PSA"


async def test_a_resource_is_the_hcm_worker_matched_to_its_psa_and_time_users(run):
    result = await run.node(
        "Resource",
        "W3",
        "name email practice skills costRate { amount } manager { name } assignments { id }"
        ' utilization(from: "2025-06-01", to: "2025-06-30") systemRefs { system id }'
        " conflicts { field owner ownerValue system value }",
    )

    person = result.data["node"]
    assert result.errors is None
    assert person["name"] == "Person 3"
    assert person["manager"] == {"name": "Person 0"}
    assert person["systemRefs"] == [
        {"system": "HCM", "id": "W3"},
        {"system": "PSA", "id": "U3"},
        {"system": "TIME", "id": "T3"},
    ]
    assert person["conflicts"] == [
        {
            "field": "name",
            "owner": "HCM",
            "ownerValue": "Person 3",
            "system": "PSA",
            "value": "P. Three",
        }
    ]
    assert person["utilization"] == 0.0


async def test_utilization_is_billable_approved_hours_over_capacity(run):
    result = await run(
        "{ resources(first: 2) { edges { node { name"
        ' utilization(from: "2025-06-01", to: "2025-06-30") } } } }'
    )

    # 4 projects x 8 approved billable hours, over 40 h/week x 21 working days / 5
    assert [e["node"]["utilization"] for e in result.data["resources"]["edges"]] == [
        pytest.approx(32 / 168),
        pytest.approx(32 / 168),
    ]


@pytest.mark.parametrize(
    ("report_approves", "reads"),
    [
        pytest.param(True, ["approved_billable_hours"], id="team-report"),
        pytest.param(False, ["approved_billable_hours", "list", "list"], id="scans"),
    ],
)
async def test_for_many_people_hours_come_from_the_team_report_or_two_scans_of_the_range(
    sources, make_run, monkeypatch, report_approves, reads
):
    # Scans (approved, and invoiced) only where the report lacks approved hours.
    monkeypatch.setattr("resolvers.people.PER_PERSON_READS", 1)
    sources.connectors[TIME].team_report_approves = report_approves
    result = await make_run(sources)(
        '{ resources(first: 4) { edges { node { utilization(from: "2025-06-01", to: "2025-06-30") }'
        " } } }"
    )

    time_entry_reads = [
        c.method for c in sources.log if c.system.value == "TIME" and c.entity == "time_entry"
    ]
    assert time_entry_reads == reads
    assert [e["node"]["utilization"] for e in result.data["resources"]["edges"]] == [
        pytest.approx(32 / 168),
        pytest.approx(32 / 168),
        0.0,
        0.0,
    ]


async def test_time_entries_link_back_to_people_projects_and_invoices(run):
    result = await run.node(
        "Project",
        "P0",
        "timeEntries(first: 3) { totalCount edges { node {"
        " status resource { name } project { code } invoice { number } } } }",
    )

    entries = [e["node"] for e in result.data["node"]["timeEntries"]["edges"]]
    assert result.errors is None
    assert entries == [
        {
            "status": "APPROVED",
            "resource": {"name": "Person 0"},
            "project": {"code": "PRJ-00000"},
            "invoice": None,
        },
        {
            "status": "INVOICED",
            "resource": {"name": "Person 1"},
            "project": {"code": "PRJ-00000"},
            "invoice": {"number": "INV-0-0"},
        },
        {
            "status": "SUBMITTED",
            "resource": {"name": "Person 0"},
            "project": {"code": "PRJ-00000"},
            "invoice": None,
        },
    ]


async def test_nested_lists_page_with_cursors(run):
    selection = (
        "invoices(first: 1, after: $after)"
        " { totalCount pageInfo { hasNextPage endCursor } edges { node { number } } }"
    )

    async def page(after: str | None) -> dict[str, Any]:
        result = await run.node(
            "Client", account_id(0), selection, {"after": after}, declared=", $after: String"
        )
        invoices: dict[str, Any] = result.data["node"]["invoices"]
        return invoices

    first = await page(None)
    second = await page(first["pageInfo"]["endCursor"])

    assert first["totalCount"] == 2
    assert first["pageInfo"]["hasNextPage"]
    assert not second["pageInfo"]["hasNextPage"]
    assert [e["node"]["number"] for e in first["edges"] + second["edges"]] == ["INV-0-1", "INV-0-0"]


async def test_the_response_says_how_fresh_each_sources_data_is(run):
    result = await run("{ projects(first: 1) { edges { node { client { name } } } } }")

    assert set(result.extensions["freshness"]) == {"PSA", "CRM"}
    assert result.extensions["freshness"]["PSA"]["stale"] is False


async def test_opportunities_know_their_client_and_project(run):
    result = await run(
        "{ opportunities(first: 10) { edges { node { name stage amount { amount currency }"
        " client { name } project { code } systemRefs { system } } } } }"
    )

    deals = {e["node"]["name"]: e["node"] for e in result.data["opportunities"]["edges"]}
    assert result.errors is None
    assert deals["Deal 3"]["client"] == {"name": "Client 1"}
    assert deals["Deal 3"]["project"] == {"code": "PRJ-00003"}
    assert deals["Open deal"]["project"] is None
    assert deals["Open deal"]["stage"] == "PROSPECTING"

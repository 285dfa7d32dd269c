"""The role table over real HTTP: what each role's token reads (rows, fields, nested
paths, totalCount) and runs (mutations), against the sandboxes' seeded world."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from resolvers import ids
from sandboxes.harness.identity import Identity
from sandboxes.harness.served import Served, serving, settings_for
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World

pytestmark = pytest.mark.usefixtures("seeded_world_after")

Ask = Callable[..., Any]


@pytest.fixture(scope="module")
def personas(world: World) -> dict[str, Any]:
    """Client A (the first project's client), client B (another with projects), and a
    consultant with assignments and time."""
    clients_with_projects = list(dict.fromkeys(p.client_key for p in world.projects))
    clients = {c.key: c for c in world.clients}
    a, b = clients[clients_with_projects[0]], clients[clients_with_projects[1]]
    timed = {e.person_key for e in world.time_entries}
    projects = {p.key: p for p in world.projects}
    assignment = next(
        x
        for x in world.assignments
        if x.person_key in timed and projects[x.project_key].status == "ACTIVE"
    )
    person = next(p for p in world.people if p.key == assignment.person_key)
    return {
        "client_a": ids.encode("Client", a.crm_id),
        "client_b": ids.encode("Client", b.crm_id),
        "a_projects": {
            ids.encode("Project", p.psa_id) for p in world.projects if p.client_key == a.key
        },
        "b_project": next(
            ids.encode("Project", p.psa_id) for p in world.projects if p.client_key == b.key
        ),
        "consultant": ids.encode("Resource", person.hcm_id),
        "timed_project": ids.encode("Project", projects[assignment.project_key].psa_id),
        "assigned": {
            ids.encode("Project", projects[x.project_key].psa_id)
            for x in world.assignments
            if x.person_key == person.key
        },
    }


@pytest.fixture
async def served(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path: Path
) -> AsyncIterator[Served]:
    async with serving(create_app(settings_for(demo_settings, sandboxes, tmp_path / "s.db"))) as s:
        yield s


@pytest.fixture
def ask(served: Served, identity: Identity, personas: dict[str, Any]) -> Ask:
    """`await ask(role, query, **variables)`: the whole GraphQL response body, as `role`
    (client users are client A's, the consultant is the personas' one)."""
    bindings = {
        "client": {"client": personas["client_a"]},
        "consultant": {"resource": personas["consultant"]},
    }

    async def ask_(role: str, query: str, **variables: Any) -> dict[str, Any]:
        headers = identity.headers_for(role, **bindings.get(role, {}))
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(
                served.graphql, json={"query": query, "variables": variables}, headers=headers
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return ask_


def codes(body: dict[str, Any]) -> dict[str, str]:
    """path -> extensions.code of each error."""
    return {
        ".".join(str(p) for p in error.get("path") or []): error["extensions"]["code"]
        for error in body.get("errors", [])
    }


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


PROJECTS = "{ projects(first: 200) { totalCount edges { node { id client { id name } } } } }"


async def test_a_client_reads_only_its_own_client_and_projects(
    ask: Ask, personas: dict[str, Any]
) -> None:
    mine = await ask("client", "{ clients(first: 50) { totalCount edges { node { id } } } }")
    projects = await ask("client", PROJECTS)
    everything = await ask("admin", PROJECTS)

    assert [c["id"] for c in nodes(mine["data"]["clients"])] == [personas["client_a"]]
    assert mine["data"]["clients"]["totalCount"] == 1
    seen = nodes(projects["data"]["projects"])
    assert {p["id"] for p in seen} == personas["a_projects"]
    assert projects["data"]["projects"]["totalCount"] == len(personas["a_projects"])
    assert {p["client"]["id"] for p in seen} == {personas["client_a"]}
    assert everything["data"]["projects"]["totalCount"] > len(personas["a_projects"])


async def test_a_client_pages_through_its_projects_with_a_right_total(
    ask: Ask, personas: dict[str, Any]
) -> None:
    query = """query($after: String) {
      projects(first: 1, after: $after) { totalCount pageInfo { hasNextPage endCursor }
        edges { node { id } } } }"""
    seen, after = [], None
    while True:
        page = (await ask("client", query, after=after))["data"]["projects"]
        assert page["totalCount"] == len(personas["a_projects"])
        seen += [p["id"] for p in nodes(page)]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert sorted(seen) == sorted(personas["a_projects"])


async def test_node_returns_null_for_a_row_outside_the_callers_scope(
    ask: Ask, personas: dict[str, Any]
) -> None:
    query = "query($id: ID!) { node(id: $id) { id } }"
    other = await ask("client", query, id=personas["b_project"])
    other_client = await ask("client", query, id=personas["client_b"])
    own = await ask("client", query, id=next(iter(personas["a_projects"])))

    for hidden in (other, other_client):
        assert hidden["data"] == {"node": None}
        assert "errors" not in hidden  # nothing that would confirm it exists
    assert own["data"]["node"] is not None


async def test_nested_paths_stay_within_the_clients_scope(
    ask: Ask, personas: dict[str, Any]
) -> None:
    body = await ask(
        "client",
        """{ invoices(first: 20) { totalCount edges { node { id
              client { id projects(first: 100) { totalCount edges { node { id } } } } } } } }""",
    )
    admin = await ask(
        "admin",
        "query($c: ID!) { invoices(first: 1, clientId: $c) { totalCount } }",
        c=personas["client_a"],
    )

    invoices = nodes(body["data"]["invoices"])
    assert body["data"]["invoices"]["totalCount"] == admin["data"]["invoices"]["totalCount"]
    for invoice in invoices:
        assert invoice["client"]["id"] == personas["client_a"]
        nested = {p["id"] for p in nodes(invoice["client"]["projects"])}
        assert nested <= personas["a_projects"]


async def test_a_client_sees_no_time_people_or_deals(ask: Ask) -> None:
    body = await ask(
        "client",
        """{ timeEntries(first: 5) { totalCount }
             resources(first: 5) { totalCount }
             opportunities(first: 5) { totalCount } }""",
    )

    assert body["data"]["timeEntries"]["totalCount"] == 0
    assert body["data"]["resources"]["totalCount"] == 0
    assert codes(body) == {"opportunities": "FORBIDDEN"}


async def test_a_client_sees_its_project_managers_name_and_no_internal_field(
    ask: Ask,
) -> None:
    body = await ask(
        "client",
        """{ projects(first: 1) { edges { node {
              manager { name title costRate { amount } }
              health { margin risks hoursApproved }
              client { name receivables { amount } } } } } }""",
    )

    [project] = nodes(body["data"]["projects"])
    assert project["manager"]["name"]
    assert project["manager"]["title"] is None
    assert project["health"]["margin"] is None
    assert project["health"]["risks"] is None
    assert project["client"]["name"]
    assert project["client"]["receivables"] is None
    assert set(codes(body).values()) == {"FORBIDDEN"}
    assert {path.rsplit(".", 1)[-1] for path in codes(body)} == {
        "title",
        "costRate",
        "margin",
        "risks",
        "receivables",
    }


MONEY = """{ resources(first: 2) { edges { node { name costRate { amount } billRate { amount } } } }
             clients(first: 2) { edges { node { name receivables { amount } creditStatus } } } }"""


@pytest.mark.parametrize(
    ("role", "sees_money"),
    [("admin", True), ("finance", True), ("delivery", False)],
)
async def test_money_fields_are_for_admin_and_finance(
    ask: Ask, role: str, sees_money: bool
) -> None:
    body = await ask(role, MONEY)

    people = nodes(body["data"]["resources"])
    assert all(p["name"] for p in people)
    assert all((p["costRate"] is not None) == sees_money for p in people)
    if sees_money:
        assert "errors" not in body
    else:
        assert set(codes(body)) >= {
            "resources.edges.0.node.costRate",
            "clients.edges.0.node.receivables",
        }
        assert set(codes(body).values()) == {"FORBIDDEN"}


async def test_a_consultant_reads_its_own_time_resource_and_assigned_projects(
    ask: Ask, personas: dict[str, Any]
) -> None:
    mine = await ask(
        "consultant",
        """{ timeEntries(first: 50) { totalCount edges { node { resource { id } } } }
             resources(first: 5) { totalCount edges { node { id costRate { amount } } } }
             projects(first: 100) {
               totalCount edges { node { id client { name industry } } } } }""",
    )
    admin = await ask(
        "admin",
        "query($r: ID!) { timeEntries(first: 1, resourceId: $r) { totalCount } }",
        r=personas["consultant"],
    )

    data = mine["data"]
    assert data["timeEntries"]["totalCount"] == admin["data"]["timeEntries"]["totalCount"] > 0
    assert {e["resource"]["id"] for e in nodes(data["timeEntries"])} == {personas["consultant"]}
    assert [r["id"] for r in nodes(data["resources"])] == [personas["consultant"]]
    assert {p["id"] for p in nodes(data["projects"])} == personas["assigned"]
    assert all(p["client"]["name"] for p in nodes(data["projects"]))
    assert set(codes(mine).values()) == {"FORBIDDEN"}  # costRate and the client's industry


async def test_viewer_says_who_the_caller_is(ask: Ask, personas: dict[str, Any]) -> None:
    query = "{ viewer { subject roles client { id } resource { id } } }"
    client = (await ask("client", query))["data"]["viewer"]
    consultant = (await ask("consultant", query))["data"]["viewer"]

    assert client == {
        "subject": "client@harness",
        "roles": ["client"],
        "client": {"id": personas["client_a"]},
        "resource": None,
    }
    assert consultant["resource"] == {"id": personas["consultant"]}


SUBMIT = """mutation($p: ID!, $r: ID!, $k: String!) {
  submitTime(projectId: $p, resourceId: $r, date: "2026-11-20", hours: 1.5, billable: true,
             idempotencyKey: $k) { id } }"""
RETRY = 'mutation { retryWorkflow(id: "V29ya2Zsb3c6bm9uZQ") { id } }'
CANCEL = 'mutation { cancelWorkflow(id: "V29ya2Zsb3c6bm9uZQ") { id } }'
INVOICE = """mutation($p: ID!) {
  generateInvoice(projectId: $p, through: "2026-11-01", idempotencyKey: "x") { id } }"""
FILL = 'mutation { fillStaffingRequest(id: "x", resourceId: "y", idempotencyKey: "k") { id } }'


@pytest.mark.parametrize(
    ("role", "mutation", "allowed"),
    [
        pytest.param("client", RETRY, False, id="client-retry"),
        pytest.param("consultant", FILL, False, id="consultant-fill"),
        pytest.param("delivery", FILL, True, id="delivery-fill"),
        pytest.param("delivery", INVOICE, False, id="delivery-invoice"),
        pytest.param("finance", INVOICE, True, id="finance-invoice"),
        pytest.param("finance", RETRY, True, id="finance-retry"),
        pytest.param("finance", CANCEL, False, id="finance-cancel"),
        pytest.param("admin", CANCEL, True, id="admin-cancel"),
    ],
)
async def test_each_role_runs_only_its_mutations(
    ask: Ask, role: str, mutation: str, allowed: bool
) -> None:
    body = await ask(role, mutation, p=ids.encode("Project", "no-such-project"))

    forbidden = "FORBIDDEN" in codes(body).values()
    assert forbidden != allowed, body
    if forbidden:
        assert body["data"] is None


async def test_a_consultant_submits_time_for_itself_only_and_the_audit_log_names_it(
    ask: Ask, personas: dict[str, Any], world: World
) -> None:
    project = personas["timed_project"]
    other = ids.encode(
        "Resource",
        next(
            p for p in world.people if ids.encode("Resource", p.hcm_id) != personas["consultant"]
        ).hcm_id,
    )

    for_someone_else = await ask("consultant", SUBMIT, p=project, r=other, k="policy-1")
    own = await ask("consultant", SUBMIT, p=project, r=personas["consultant"], k="policy-2")
    as_client = await ask("client", SUBMIT, p=project, r=personas["consultant"], k="policy-3")

    assert codes(for_someone_else) == {"submitTime": "FORBIDDEN"}
    assert "errors" not in own, own
    assert codes(as_client) == {"submitTime": "FORBIDDEN"}

    audit = "{ auditLog(first: 20) { subject roles action objectType } }"
    log = (await ask("admin", audit))["data"]["auditLog"]
    refused = await ask("finance", audit)
    assert {"subject": "consultant@harness", "roles": ["consultant"]} in [
        {"subject": e["subject"], "roles": e["roles"]} for e in log
    ]
    assert all(e["subject"] != "anonymous" for e in log)
    assert codes(refused) == {"auditLog": "FORBIDDEN"}

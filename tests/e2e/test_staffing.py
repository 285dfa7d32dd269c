"""Resource to delivery through the running gateway, against the sandboxes over HTTP:
candidates ranked by the documented score at a cost that does not grow with the requests,
one booking per request however many fills, and a clear refusal for someone not free."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from gateway.staffing_rank import score
from gateway.workflows.systems import Systems
from resolvers import ids
from sandboxes.harness.identity import Identity
from sandboxes.harness.served import serving, settings_for
from sandboxes.runner import SandboxCluster
from sources.records import Assignment, PsaUser, StaffingRequest
from tests.e2e.conftest import GraphQL, graphql_client
from tests.integration.conftest import RequestsSince

pytestmark = pytest.mark.usefixtures("seeded_world_after")

OPEN_REQUESTS = """
query($first: Int!, $practice: String) {
  staffingRequests(first: $first, status: OPEN, practice: $practice) {
    totalCount
    edges { node {
      id role skills hoursPerWeek startDate status project { id practice }
      candidates(first: 10) {
        skillMatch availableHoursPerWeek utilization score
        resource { id name skills }
      }
    } }
  }
}
"""
FILL = """
mutation($id: ID!, $resource: ID!, $key: String!) {
  fillStaffingRequest(id: $id, resourceId: $resource, idempotencyKey: $key) { id kind status }
}
"""
REQUEST = "query($id: ID!) { node(id: $id) { ... on StaffingRequest { status assignedResource { id } } } }"  # noqa: E501


async def open_requests(graphql: GraphQL, first: int = 10, practice: str | None = None) -> Any:
    found = await graphql(OPEN_REQUESTS, first=first, practice=practice)
    return [edge["node"] for edge in found["staffingRequests"]["edges"]]


async def test_candidates_are_active_people_ranked_by_the_documented_score(
    graphql: GraphQL,
) -> None:
    requests = await open_requests(graphql)
    assert requests, "the seeded world has open staffing requests"

    for request in requests:
        wanted = {s.casefold() for s in request["skills"]}
        found = request["candidates"]
        assert len(found) == 10
        assert [c["score"] for c in found] == sorted((c["score"] for c in found), reverse=True)
        for candidate in found:
            held = {s.casefold() for s in candidate["resource"]["skills"]}
            match = len(wanted & held) / len(wanted) if wanted else 1.0
            assert candidate["skillMatch"] == pytest.approx(match)
            assert candidate["score"] == pytest.approx(
                score(
                    match,
                    candidate["availableHoursPerWeek"],
                    request["hoursPerWeek"] or 40.0,
                    candidate["utilization"],
                ),
                abs=1e-6,
            )


async def test_ranking_more_requests_of_a_practice_costs_no_more_requests_upstream(
    graphql: GraphQL, sandboxes: SandboxCluster
) -> None:
    practice = (await open_requests(graphql, first=1))[0]["project"]["practice"]

    def counters() -> list[RequestsSince]:
        return [RequestsSince(s.url) for s in sandboxes.running]

    few = counters()
    ranked_few = await open_requests(graphql, first=2, practice=practice)
    cost_few = sum(c.total() for c in few)
    many = counters()
    ranked_many = await open_requests(graphql, first=20, practice=practice)
    cost_many = sum(c.total() for c in many)

    assert len(ranked_many) > len(ranked_few)
    assert cost_many == cost_few


async def test_a_fill_books_once_and_every_later_fill_returns_the_first(
    graphql: GraphQL, systems: Systems
) -> None:
    request, person = await fillable(graphql)

    first, second = await asyncio.gather(
        graphql(FILL, id=request["id"], resource=person, key="fill-a"),
        graphql(FILL, id=request["id"], resource=person, key="fill-b"),
    )
    started = first["fillStaffingRequest"]
    assert second["fillStaffingRequest"]["id"] == started["id"]
    assert started["kind"] == "fill_staffing_request"
    done = await graphql.settled(started["id"])
    assert done["status"] == "SUCCEEDED", done["steps"]

    after = (await graphql(REQUEST, id=request["id"]))["node"]
    assert after == {"status": "FILLED", "assignedResource": {"id": person}}
    request_id = ids.decode(request["id"], "StaffingRequest").key
    record = (await systems.psa.get_many("staffing_request", [request_id]))[0]
    assert isinstance(record, StaffingRequest)
    assert len(await bookings(systems, record.project_id, record.assigned_user_id)) == 1

    other = (await open_requests(graphql))[0]["candidates"][0]["resource"]["id"]
    again = await graphql(FILL, id=request["id"], resource=other, key="fill-c")
    assert again["fillStaffingRequest"]["id"] == started["id"]
    assert len(await bookings(systems, record.project_id, record.assigned_user_id)) == 1


async def test_a_person_who_is_no_longer_free_fails_the_fill_with_a_business_error(
    graphql: GraphQL, sandboxes: SandboxCluster, demo_settings: Settings
) -> None:
    request, person = await fillable(graphql)
    worker = ids.decode(person, "Resource").key
    change = hcm_worker_change(sandboxes["hcm"].url, demo_settings.sandbox.tokens["hcm"], worker)
    change({"scheduledWeeklyHours": 0})  # their hours went elsewhere after they were proposed
    try:
        started = (await graphql(FILL, id=request["id"], resource=person, key="busy"))[
            "fillStaffingRequest"
        ]
        done = await graphql.settled(started["id"])
    finally:
        change({"scheduledWeeklyHours": 40})

    assert done["status"] == "FAILED"
    (check,) = [s for s in done["steps"] if s["name"] == "check"]
    assert "PERSON_UNAVAILABLE" in check["error"]
    assert "free hours a week" in check["error"]
    assert (await graphql(REQUEST, id=request["id"]))["node"]["status"] == "OPEN"


def hcm_worker_change(hcm: str, refresh_token: str, worker: str) -> Any:
    """A change to one worker through the HCM sandbox's own API, as HR would make it."""
    token = httpx.post(
        f"{hcm}/ccx/oauth2/psgraph_demo/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
    ).json()["access_token"]

    def change(fields: dict[str, Any]) -> None:
        httpx.patch(
            f"{hcm}/ccx/api/staffing/v6/psgraph_demo/workers/{worker}",
            json=fields,
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()

    return change


async def fillable(graphql: GraphQL) -> tuple[dict[str, Any], str]:
    """An open request no test filled yet, and its best candidate with the hours free."""
    for request in await open_requests(graphql, first=50):
        wanted = request["hoursPerWeek"] or 40.0
        for candidate in request["candidates"]:
            if candidate["availableHoursPerWeek"] >= wanted:
                return request, candidate["resource"]["id"]
    raise AssertionError("no open request has a free candidate")


async def bookings(systems: Systems, project_id: str, user_id: str | None) -> list[Assignment]:
    assert user_id is not None
    page = await systems.psa.list(
        "assignment", {"project_id": project_id, "user_id": user_id}, page_size=50
    )
    return [a for a in page.items if isinstance(a, Assignment)]


CONFLICTS = """
query($id: ID!) { node(id: $id) { ... on Resource { name bookingConflicts { kind week } } } }
"""


@pytest.fixture
async def uncached(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path: Path, identity: Identity
) -> AsyncIterator[GraphQL]:
    """The gateway with nothing cached, so a change made in a vendor shows at once."""
    settings = settings_for(demo_settings, sandboxes, tmp_path / "store.db")
    sources = {
        name: source.model_copy(update={"cache_ttl": {"worker": 0.0}})
        for name, source in settings.sources.items()
    }
    async with (
        serving(create_app(settings.model_copy(update={"sources": sources}))) as running,
        graphql_client(running.graphql, identity.headers_for("admin")) as client,
    ):
        yield client


async def test_a_booking_over_capacity_made_in_the_psa_is_a_conflict_until_undone(
    uncached: GraphQL, sandboxes: SandboxCluster, demo_settings: Settings, systems: Systems
) -> None:
    request, person = await fillable(uncached)
    project = ids.decode(request["project"]["id"], "Project").key
    user = await psa_user_of(systems, ids.decode(person, "Resource").key)
    with httpx.Client(
        base_url=f"{sandboxes['psa'].url}/api/v1",
        headers={"Authorization": f"Bearer {demo_settings.sandbox.tokens['psa']}"},
    ) as psa:
        assert (await uncached(CONFLICTS, id=person))["node"]["bookingConflicts"] == []

        over = {"workspace_id": project, "user_id": user, "hours_per_week": 60}
        over["start_date"] = date.today().isoformat()
        made = psa.post("/participations.json", json={"participations": [over]})
        made.raise_for_status()
        booking = made.json()["results"][0]["id"]
        found = (await uncached(CONFLICTS, id=person))["node"]["bookingConflicts"]
        assert [c["kind"] for c in found] == ["OVER_CAPACITY"]

        psa.put(
            f"/participations/{booking}.json", json={"participation": {"hours_per_week": 0}}
        ).raise_for_status()
        assert (await uncached(CONFLICTS, id=person))["node"]["bookingConflicts"] == []


async def test_someone_made_inactive_in_the_hcm_with_future_work_is_a_conflict_until_back(
    uncached: GraphQL, sandboxes: SandboxCluster, demo_settings: Settings
) -> None:
    person = await someone_booked_ahead(uncached)
    worker = ids.decode(person, "Resource").key
    change = hcm_worker_change(sandboxes["hcm"].url, demo_settings.sandbox.tokens["hcm"], worker)

    change({"isActive": False})
    try:
        found = (await uncached(CONFLICTS, id=person))["node"]["bookingConflicts"]
        assert [c["kind"] for c in found] == ["INACTIVE_ASSIGNED"]
    finally:
        change({"isActive": True})
    assert (await uncached(CONFLICTS, id=person))["node"]["bookingConflicts"] == []


async def someone_booked_ahead(graphql: GraphQL) -> str:
    found = await graphql(
        "{ projects(first: 50, status: ACTIVE) { edges { node { assignments {"
        " endDate resource { id bookingConflicts { kind } } } } } } }"
    )
    for edge in found["projects"]["edges"]:
        for assignment in edge["node"]["assignments"]:
            ends = assignment["endDate"]
            if (ends is None or ends > date.today().isoformat()) and not assignment["resource"][
                "bookingConflicts"
            ]:
                return str(assignment["resource"]["id"])
    raise AssertionError("nobody is booked ahead without a conflict already")


async def psa_user_of(systems: Systems, worker_id: str) -> str:
    cursor = None
    while True:
        page = await systems.psa.list("user", page_size=200, cursor=cursor)
        for user in page.items:
            if isinstance(user, PsaUser) and user.employee_number == worker_id:
                return user.id
        cursor = page.next_cursor
        if cursor is None:
            raise AssertionError(f"worker {worker_id} has no PSA user")

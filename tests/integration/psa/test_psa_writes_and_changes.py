"""Writing to the PSA over real HTTP, and seeing exactly those writes in change scans.

Writes go to records these tests create, so the seeded world other tests rely on stays
as generated.
"""

from __future__ import annotations

import datetime as dt
from uuid import uuid4

import httpx

from sandboxes.world.model import World
from sources.psa.connector import PsaConnector
from sources.records import Project

WORKSPACE_POSTS = "POST /api/v1/workspaces.json"


def _opportunity_id() -> str:
    return f"006TEST{uuid4().hex[:11].upper()}"


async def _new_workspace(psa: PsaConnector, name: str = "Integration workspace") -> Project:
    return await psa.create_workspace(
        {"name": name, "code": f"PRJ-T{uuid4().hex[:6]}", "status": "PLANNED"},
        crm_opportunity_id=_opportunity_id(),
    )


def _new_milestone(psa_url: str, token: str, workspace_id: str) -> str:
    response = httpx.post(
        f"{psa_url}/api/v1/stories.json",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "stories": [
                {
                    "title": "Integration milestone",
                    "workspace_id": workspace_id,
                    "story_type": "milestone",
                    "due_date": "2025-06-30",
                    "budget_estimate_in_cents": 1_000_000,
                }
            ]
        },
    )
    response.raise_for_status()
    return str(response.json()["results"][0]["id"])


async def test_creating_a_workspace_twice_with_one_crm_reference_makes_one(
    psa: PsaConnector, requests_since
):
    opportunity = _opportunity_id()
    fields = {"name": "Quote to project", "code": "PRJ-QTP01", "budget": "250000.00"}
    spent = requests_since()

    first = await psa.create_workspace(fields, crm_opportunity_id=opportunity)
    second = await psa.create_workspace(fields, crm_opportunity_id=opportunity)
    found = await psa.list("project", {"crm_opportunity_id": [opportunity]})

    assert first == second
    assert [p.id for p in found.items] == [first.id]
    assert spent(WORKSPACE_POSTS) == 1
    assert first.crm_opportunity_id == opportunity
    assert first.erp_job_id is None


async def test_the_finance_code_is_written_back(psa: PsaConnector):
    workspace = await _new_workspace(psa)

    updated = await psa.set_workspace_finance_code(workspace.id, "JOB-99001")
    (reread,) = await psa.get_many("project", [workspace.id])

    assert updated.erp_job_id == "JOB-99001"
    assert reread == updated


async def test_a_staffing_request_is_created_once_per_external_reference(
    psa: PsaConnector, requests_since
):
    workspace = await _new_workspace(psa)
    spent = requests_since()

    made = [
        await psa.create_staffing_request(
            workspace.id,
            "Data Engineer",
            ["Spark", "Python"],
            24.0,
            dt.date(2025, 5, 1),
            external_ref="quote-to-project:42:1",
        )
        for _ in range(2)
    ]

    assert made[0] == made[1]
    assert (made[0].status, made[0].skills) == ("OPEN", ["Spark", "Python"])
    assert spent("POST /api/v1/resource_requests.json") == 1


async def test_completing_a_milestone_twice_completes_it_once(
    psa: PsaConnector, psa_url: str, demo_settings, requests_since
):
    workspace = await _new_workspace(psa)
    milestone_id = _new_milestone(psa_url, demo_settings.sandbox.tokens["psa"], workspace.id)
    spent = requests_since()

    first = await psa.complete_milestone(milestone_id)
    second = await psa.complete_milestone(milestone_id)

    assert first.status == "COMPLETED"
    assert second == first
    assert spent("PUT /api/v1/stories/{id}.json") == 1


async def test_changes_after_writes_are_exactly_the_written_records(
    psa: PsaConnector, psa_url: str, demo_settings
):
    existing = await _new_workspace(psa, "Changes: existing")
    start = await psa.changes("project", None)

    created = await _new_workspace(psa, "Changes: created")
    await psa.update_workspace(existing.id, {"status": "ACTIVE"})
    await psa.update_workspace(existing.id, {"region": "APAC"})
    _new_milestone(psa_url, demo_settings.sandbox.tokens["psa"], created.id)  # not a project

    changed = await psa.changes("project", start.cursor)
    quiet = await psa.changes("project", changed.cursor)

    assert [r.id for r in changed.records] == [created.id, existing.id]
    updated = changed.records[1]
    assert isinstance(updated, Project)
    assert (updated.status, updated.region) == ("ACTIVE", "APAC")
    assert changed.deleted_ids == []
    assert quiet.records == []


async def test_changes_after_touch_are_exactly_the_touched_records(
    psa: PsaConnector, psa_url: str, world: World
):
    touched = [m.psa_id for m in world.milestones[20:25]]
    start = await psa.changes("milestone", None)

    response = httpx.post(
        f"{psa_url}/_sandbox/touch", json={"entity": "milestone", "ids": [*touched, "999999999"]}
    )
    changed = await psa.changes("milestone", start.cursor)

    assert response.json() == {"touched": len(touched)}
    assert sorted(r.id for r in changed.records) == sorted(touched)
    assert (await psa.changes("milestone", changed.cursor)).records == []


async def test_late_events_are_still_delivered_once(psa: PsaConnector, psa_url: str, world):
    early, later = world.projects[30].psa_id, world.projects[31].psa_id
    start = await psa.changes("project", None)
    feed = f"{psa_url}/_sandbox/event_feed"
    try:
        httpx.post(feed, json={"hold": True}).raise_for_status()
        httpx.post(f"{psa_url}/_sandbox/touch", json={"entity": "project", "ids": [early]})
        httpx.post(feed, json={"hold": False}).raise_for_status()
        httpx.post(f"{psa_url}/_sandbox/touch", json={"entity": "project", "ids": [later]})

        first = await psa.changes("project", start.cursor)
        httpx.post(feed, json={"release": True}).raise_for_status()
        second = await psa.changes("project", first.cursor)
        third = await psa.changes("project", second.cursor)
    finally:
        httpx.post(feed, json={"hold": False, "release": True})

    assert [r.id for r in first.records] == [later]
    assert [r.id for r in second.records] == [early]
    assert third.records == []

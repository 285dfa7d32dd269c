"""The TIME sandbox in-process, spoken to as Harvest: headers, paging, writes, limits, reports."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from sandboxes.time.server import TimeSandbox
from sandboxes.world.model import World

# --- the gate ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        pytest.param({"User-Agent": ""}, 400, "bad_request", id="no-user-agent"),
        pytest.param({"Authorization": "Bearer wrong"}, 401, "invalid_token", id="bad-token"),
        pytest.param({"Authorization": ""}, 401, "invalid_token", id="no-token"),
        pytest.param({"Harvest-Account-Id": "999"}, 403, "forbidden", id="other-account"),
        pytest.param({"Harvest-Account-Id": ""}, 403, "forbidden", id="no-account"),
    ],
)
async def test_harvests_required_headers_are_enforced(
    harvest: httpx.AsyncClient, headers: dict[str, str], status: int, error: str
) -> None:
    response = await harvest.get("/v2/users", headers=headers)

    assert response.status_code == status
    assert response.json()["error"] == error


async def test_a_bad_token_gets_harvests_oauth_error_body(harvest: httpx.AsyncClient) -> None:
    response = await harvest.get("/v2/users", headers={"Authorization": "Bearer nope"})

    assert set(response.json()) == {"error", "error_description"}


async def test_the_rate_limit_answers_429_with_retry_after_and_can_be_tuned(
    sandbox: TimeSandbox, harvest: httpx.AsyncClient
) -> None:
    tuned = await harvest.post("/_sandbox/limits", json={"requests": 2, "window_s": 30})
    assert tuned.json() == {"requests": 2, "window_s": 30.0}

    statuses = [(await harvest.get("/v2/users/x")).status_code for _ in range(3)]
    limited = await harvest.get("/v2/users")

    assert statuses == [404, 404, 429]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 30

    restored = await harvest.delete("/_sandbox/limits")
    assert restored.json() == {"requests": 100, "window_s": 15.0}
    assert (await harvest.get("/v2/users")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"requests": 0}, id="no-requests"),
        pytest.param({"window_s": -1}, id="negative-window"),
        pytest.param({"requests": "many"}, id="not-a-number"),
        pytest.param([], id="not-an-object"),
    ],
)
async def test_bad_limits_are_refused(harvest: httpx.AsyncClient, body: Any) -> None:
    response = await harvest.post("/_sandbox/limits", json=body)

    assert response.status_code == 400


# --- paging ------------------------------------------------------------------------


def busiest_project(world: World) -> str:
    counts: dict[int, int] = {}
    for entry in world.time_entries:
        counts[entry.project_key] = counts.get(entry.project_key, 0) + 1
    key = max(counts, key=lambda k: counts[k])
    return world.projects[key].time_project_id


async def test_the_first_page_has_numbers_and_a_cursor_link(
    harvest: httpx.AsyncClient, small_world: World
) -> None:
    project_id = busiest_project(small_world)
    expected = sum(
        1
        for e in small_world.time_entries
        if small_world.projects[e.project_key].time_project_id == project_id
    )

    body = (
        await harvest.get("/v2/time_entries", params={"project_id": project_id, "per_page": 10})
    ).json()

    assert len(body["time_entries"]) == 10
    assert (body["page"], body["next_page"], body["previous_page"]) == (1, 2, None)
    assert body["total_entries"] == expected
    assert body["total_pages"] == -(-expected // 10)
    next_link = urlsplit(body["links"]["next"])
    assert next_link.path == "/v2/time_entries"
    assert "cursor=" in next_link.query
    assert f"project_id={project_id}" in next_link.query
    assert "per_page=10" in next_link.query


async def test_following_links_next_visits_every_entry_once_newest_first(
    harvest: httpx.AsyncClient, small_world: World
) -> None:
    project_id = busiest_project(small_world)
    url: str | None = f"/v2/time_entries?project_id={project_id}&per_page=50"
    seen: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    while url:
        body = (await harvest.get(url)).json()
        pages.append(body)
        seen.extend(body["time_entries"])
        url = body["links"]["next"]

    ids = [entry["id"] for entry in seen]
    assert len(ids) == len(set(ids)) == pages[0]["total_entries"]
    dates = [entry["spent_date"] for entry in seen]
    assert dates == sorted(dates, reverse=True)
    # Cursor pages carry no page numbers, except the last.
    assert all(p["page"] is None for p in pages[1:-1])
    assert pages[-1]["page"] == pages[-1]["total_pages"]


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        pytest.param({"per_page": 2001}, "less than or equal to 2000", id="per-page-2001"),
        pytest.param({"per_page": 0}, "greater than 0", id="per-page-0"),
        pytest.param({"page": "two"}, "whole number", id="page-not-a-number"),
        pytest.param({"cursor": "!!"}, "cursor", id="bad-cursor"),
        pytest.param({"from": "2026-13-01"}, "from must be a date", id="bad-from"),
        pytest.param({"updated_since": "last week"}, "updated_since", id="bad-updated-since"),
        pytest.param({"is_billed": "maybe"}, "is_billed", id="bad-is-billed"),
        pytest.param({"approval_status": "pending"}, "approval_status", id="bad-approval"),
    ],
)
async def test_bad_parameters_are_422_with_a_message(
    harvest: httpx.AsyncClient, params: dict[str, Any], complaint: str
) -> None:
    response = await harvest.get("/v2/time_entries", params=params)

    assert response.status_code == 422
    assert complaint in response.json()["message"]


async def test_filters_combine(harvest: httpx.AsyncClient, small_world: World) -> None:
    body = (
        await harvest.get(
            "/v2/time_entries",
            params={"approval_status": "approved", "is_billed": "false", "from": "2000-01-01"},
        )
    ).json()
    expected = sum(1 for e in small_world.time_entries if e.status == "APPROVED")

    assert body["total_entries"] == expected
    assert {e["approval_status"] for e in body["time_entries"]} == {"approved"}


# --- writes ------------------------------------------------------------------------


async def new_entry(harvest: httpx.AsyncClient, world: World, **fields: Any) -> dict[str, Any]:
    project = next(p for p in world.projects if p.status == "ACTIVE")
    body = {
        "user_id": int(world.people[0].time_user_id),
        "project_id": int(project.time_project_id),
        "spent_date": "2026-02-03",
        "hours": 1.5,
        "notes": "Sandbox test",
        **fields,
    }
    response = await harvest.post("/v2/time_entries", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_created_entry_is_unsubmitted_and_found_by_its_reference(
    harvest: httpx.AsyncClient, small_world: World
) -> None:
    entry = await new_entry(harvest, small_world, external_reference={"id": "wf-1"})

    found = (await harvest.get("/v2/time_entries", params={"external_reference_id": "wf-1"})).json()

    assert entry["approval_status"] == "unsubmitted"
    assert entry["is_locked"] is False
    assert [e["id"] for e in found["time_entries"]] == [entry["id"]]


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        pytest.param({"user_id": None}, "user_id is required", id="no-user"),
        pytest.param({"project_id": 1}, "does not exist", id="unknown-project"),
        pytest.param({"hours": 25}, "hours", id="too-many-hours"),
        pytest.param({"spent_date": "tomorrow"}, "spent_date", id="bad-date"),
        pytest.param({"external_reference": {"group_id": "x"}}, "external_reference", id="no-ref"),
    ],
)
async def test_invalid_entries_are_refused(
    harvest: httpx.AsyncClient, small_world: World, fields: dict[str, Any], complaint: str
) -> None:
    project = next(p for p in small_world.projects if p.status == "ACTIVE")
    body = {
        "user_id": small_world.people[0].time_user_id,
        "project_id": project.time_project_id,
        "spent_date": "2026-02-03",
        **fields,
    }

    response = await harvest.post("/v2/time_entries", json=body)

    assert response.status_code == 422
    assert complaint in response.json()["message"]


async def test_time_cannot_be_logged_on_an_archived_project(
    harvest: httpx.AsyncClient, small_world: World
) -> None:
    closed = next(p for p in small_world.projects if p.status == "COMPLETED")

    response = await harvest.post(
        "/v2/time_entries",
        json={
            "user_id": small_world.people[0].time_user_id,
            "project_id": closed.time_project_id,
            "spent_date": "2026-02-03",
        },
    )

    assert response.status_code == 422
    assert "archived" in response.json()["message"]


async def test_approving_locks_the_entry_and_repeating_it_changes_nothing(
    harvest: httpx.AsyncClient, small_world: World
) -> None:
    entry = await new_entry(harvest, small_world)
    url = f"/v2/time_entries/{entry['id']}"

    approved = (await harvest.patch(url, json={"approval_status": "approved"})).json()
    again = (await harvest.patch(url, json={"approval_status": "approved"})).json()
    edit = await harvest.patch(url, json={"hours": 3})

    assert approved["approval_status"] == "approved"
    assert approved["is_locked"] is True
    assert approved["approved_at"] is not None
    assert approved["updated_at"] > entry["updated_at"]
    assert again == approved
    assert edit.status_code == 422
    assert "locked" in edit.json()["message"]


async def test_only_approved_entries_are_billed_and_only_on_one_invoice(
    harvest: httpx.AsyncClient, small_world: World
) -> None:
    entry = await new_entry(harvest, small_world)
    url = f"/v2/time_entries/{entry['id']}"
    invoice = {"is_billed": True, "invoice": {"id": 600001, "number": "INV-1"}}

    too_early = await harvest.patch(url, json=invoice)
    await harvest.patch(url, json={"approval_status": "approved"})
    billed = (await harvest.patch(url, json=invoice)).json()
    again = (await harvest.patch(url, json=invoice)).json()
    elsewhere = await harvest.patch(
        url, json={"is_billed": True, "invoice": {"id": 600002, "number": "INV-2"}}
    )
    unapprove = await harvest.patch(url, json={"approval_status": "unsubmitted"})

    assert too_early.status_code == 422
    assert billed["is_billed"] is True
    assert billed["invoice"] == {"id": 600001, "number": "INV-1"}
    assert again == billed
    assert elsewhere.status_code == 422
    assert unapprove.status_code == 422


async def test_the_state_filters_follow_an_entry_through_approval_and_billing(
    harvest: httpx.AsyncClient, small_world: World
) -> None:
    entry = await new_entry(harvest, small_world)
    url = f"/v2/time_entries/{entry['id']}"
    waiting = {"approval_status": "approved", "is_billed": "FALSE", "user_id": entry["user"]["id"]}

    async def listed(params: dict[str, str]) -> set[int]:
        body = (await harvest.get("/v2/time_entries", params=params)).json()
        return {e["id"] for e in body["time_entries"]}

    before = await listed(waiting)
    await harvest.patch(url, json={"approval_status": "approved"})
    approved = await listed(waiting)
    await harvest.patch(url, json={"is_billed": True, "invoice": {"id": 600003, "number": "I3"}})
    billed = await listed(waiting)

    assert entry["id"] not in before
    assert entry["id"] in approved
    assert entry["id"] not in billed
    assert entry["id"] in await listed({"is_billed": "1", "user_id": entry["user"]["id"]})


async def test_a_listed_entry_is_listed_again_as_it_is_now(
    sandbox: TimeSandbox, harvest: httpx.AsyncClient, small_world: World
) -> None:
    # Listings keep entries rendered between pages and refreshes; a change must show.
    entry = await new_entry(harvest, small_world)
    url = f"/v2/time_entries/{entry['id']}"
    mine = {"user_id": str(entry["user"]["id"])}

    async def listed() -> dict[str, Any]:
        body = (await harvest.get("/v2/time_entries", params=mine)).json()
        return next(e for e in body["time_entries"] if e["id"] == entry["id"])

    first = await listed()
    await harvest.patch(url, json={"hours": 7.5, "notes": "revised"})
    edited = await listed()
    fetched = (await harvest.get(url)).json()
    user = sandbox.users[str(entry["user"]["id"])]
    with sandbox.users.updating(user):
        user.first_name = "Renamed"
    renamed = await listed()

    assert first == entry
    assert (edited["hours"], edited["notes"]) == (7.5, "revised")
    assert edited == fetched
    assert renamed["user"]["name"].startswith("Renamed")


async def test_writes_and_touches_notify_with_the_changed_fields(
    sandbox: TimeSandbox,
    harvest: httpx.AsyncClient,
    small_world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notified: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(sandbox, "changed", lambda kind, data: notified.append((kind, data)))
    entry = await new_entry(harvest, small_world)
    await harvest.patch(f"/v2/time_entries/{entry['id']}", json={"hours": 2, "notes": "x"})
    user_id = small_world.people[1].time_user_id
    touched = await harvest.post("/_sandbox/touch", json={"entity": "user", "ids": [user_id]})

    assert touched.json() == {"touched": 1}
    assert [kind for kind, _ in notified] == [
        "time_entry.created",
        "time_entry.updated",
        "user.updated",
    ]
    assert notified[1][1] == {"id": str(entry["id"]), "changed_fields": ["hours", "notes"]}


async def test_touching_an_unknown_entity_is_a_400(harvest: httpx.AsyncClient) -> None:
    response = await harvest.post("/_sandbox/touch", json={"entity": "invoice", "ids": ["1"]})

    assert response.status_code == 400


async def test_updated_since_returns_what_was_touched(
    sandbox: TimeSandbox, harvest: httpx.AsyncClient, small_world: World
) -> None:
    since = sandbox.clock.tick().isoformat()
    ids = [e.time_id for e in small_world.time_entries[3:6]]
    sandbox.touch("time_entry", ids)

    body = (await harvest.get("/v2/time_entries", params={"updated_since": since})).json()

    assert sorted(str(e["id"]) for e in body["time_entries"]) == sorted(ids)


# --- reports -----------------------------------------------------------------------


async def test_the_time_report_sums_a_projects_entries(
    harvest: httpx.AsyncClient, small_world: World
) -> None:
    project_id = busiest_project(small_world)
    entries = [
        e
        for e in small_world.time_entries
        if small_world.projects[e.project_key].time_project_id == project_id
    ]

    body = (
        await harvest.get(
            "/v2/reports/time/projects", params={"from": "20000101", "to": "20991231"}
        )
    ).json()
    row = next(r for r in body["results"] if str(r["project_id"]) == project_id)

    assert row["total_hours"] == round(sum(e.hours for e in entries), 2)
    assert row["billable_hours"] == round(sum(e.hours for e in entries if e.billable), 2)
    assert row["approved_hours"] == round(
        sum(e.hours for e in entries if e.status in ("APPROVED", "INVOICED")), 2
    )


async def test_the_team_report_sums_each_persons_entries_in_the_range(
    harvest: httpx.AsyncClient, small_world: World
) -> None:
    busiest = max(
        small_world.people,
        key=lambda p: sum(e.person_key == p.key for e in small_world.time_entries),
    )
    days = sorted({e.date for e in small_world.time_entries if e.person_key == busiest.key})
    first, last = days[len(days) // 4], days[-len(days) // 4]
    entries = [
        e
        for e in small_world.time_entries
        if e.person_key == busiest.key and first <= e.date <= last
    ]
    everyone_in_range = {
        small_world.people[e.person_key].time_user_id
        for e in small_world.time_entries
        if first <= e.date <= last
    }

    body = (
        await harvest.get(
            "/v2/reports/time/team",
            params={"from": first.strftime("%Y%m%d"), "to": last.strftime("%Y%m%d")},
        )
    ).json()
    rows = [r for r in body["results"] if str(r["user_id"]) == busiest.time_user_id]

    assert {str(r["user_id"]) for r in body["results"]} == everyone_in_range
    assert body["total_entries"] == len(body["results"])
    assert {r["user_name"] for r in rows} == {busiest.name}
    assert len({r["currency"] for r in rows}) == len(rows)  # a row per currency
    assert round(sum(r["total_hours"] for r in rows), 2) == round(sum(e.hours for e in entries), 2)
    assert round(sum(r["billable_hours"] for r in rows), 2) == round(
        sum(e.hours for e in entries if e.billable), 2
    )
    assert round(sum(r["approved_billable_hours"] for r in rows), 2) == round(
        sum(e.hours for e in entries if e.billable and e.status in ("APPROVED", "INVOICED")), 2
    )


async def test_reports_and_listings_asked_again_show_every_change_since(
    sandbox: TimeSandbox, harvest: httpx.AsyncClient, small_world: World
) -> None:
    # Report answers and rendered projects are kept between requests; a change must show.
    project = next(p for p in small_world.projects if p.status == "ACTIVE")
    everything = {"from": "20000101", "to": "20991231"}

    async def reported() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        spent = (await harvest.get("/v2/reports/time/projects", params=everything)).json()
        open_ = (await harvest.get("/v2/reports/uninvoiced", params=everything)).json()
        listed = (await harvest.get("/v2/projects")).json()
        pick = lambda rows, key: next(r for r in rows if str(r[key]) == project.time_project_id)  # noqa: E731
        return (
            pick(spent["results"], "project_id"),
            pick(open_["results"], "project_id"),
            pick(listed["projects"], "id"),
        )

    async def team_hours() -> float:
        team = (await harvest.get("/v2/reports/time/team", params=everything)).json()
        worker = small_world.people[0].time_user_id
        return sum(r["total_hours"] for r in team["results"] if str(r["user_id"]) == worker)

    spent, open_, listed = await reported()
    team_before = await team_hours()
    await new_entry(harvest, small_world, hours=2.25, billable=True)
    spent_after, open_after, _ = await reported()
    team_after = await team_hours()
    row = sandbox.projects[project.time_project_id]
    with sandbox.projects.updating(row):
        row.name = "Renamed project"
    renamed_spent, renamed_open, renamed_listed = await reported()

    assert spent_after["total_hours"] == round(spent["total_hours"] + 2.25, 2)
    assert round(team_after, 2) == round(team_before + 2.25, 2)
    assert open_after["uninvoiced_hours"] == round(open_["uninvoiced_hours"] + 2.25, 2)
    assert listed["name"] == project.name
    assert renamed_spent["project_name"] == renamed_open["project_name"] == "Renamed project"
    assert renamed_listed["name"] == "Renamed project"


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"to": "20260101"}, id="no-from"),
        pytest.param({"from": "20260101"}, id="no-to"),
        pytest.param({"from": "soon", "to": "20260101"}, id="bad-from"),
    ],
)
async def test_reports_need_a_date_range(
    harvest: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await harvest.get("/v2/reports/uninvoiced", params=params)

    assert response.status_code == 422


async def test_openapi_lists_the_vendor_routes(harvest: httpx.AsyncClient) -> None:
    paths = (await harvest.get("/openapi.json")).json()["paths"]

    assert set(paths["/v2/time_entries"]) == {"get", "post"}
    assert set(paths["/v2/time_entries/{id}"]) == {"get", "patch"}
    assert "/v2/reports/uninvoiced" in paths

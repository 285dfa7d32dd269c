"""The PSA sandbox behaves like Kantata: envelope, only=, includes, writes, feed, limits."""

from __future__ import annotations

from typing import Any

import pytest

from sandboxes.psa.server import PsaSandbox


def _ids(body: dict[str, Any]) -> list[str]:
    return [ref["id"] for ref in body["results"]]


async def test_only_returns_the_asked_workspaces_in_the_envelope(http):
    response = await http.get(
        "/api/v1/workspaces.json", params={"only": "1003,1000,9999", "include_archived": "true"}
    )
    body = response.json()

    assert response.status_code == 200
    assert _ids(body) == ["1000", "1003"]
    assert set(body["workspaces"]) == {"1000", "1003"}
    assert body["count"] == 2
    assert body["meta"] == {"count": 2, "page_count": 1, "page_number": 1, "page_size": 20}


async def test_archived_workspaces_are_hidden_unless_asked_for(http):
    # In the small firm, projects 3 and 4 are COMPLETED and CANCELLED.
    default = (await http.get("/api/v1/workspaces.json")).json()
    everything = (await http.get("/api/v1/workspaces.json?include_archived=true")).json()

    assert _ids(default) == ["1000", "1001", "1002"]
    assert _ids(everything) == ["1000", "1001", "1002", "1003", "1004"]


async def test_include_participants_adds_users_and_participant_ids(http):
    body = (
        await http.get(
            "/api/v1/workspaces.json", params={"only": "1000", "include": "participants"}
        )
    ).json()

    workspace = body["workspaces"]["1000"]
    assert workspace["participant_ids"][0] == workspace["primary_maintainer_id"]
    assert set(body["users"]) == set(workspace["participant_ids"])


async def test_stories_filter_by_workspace_list_and_include_their_workspace(http):
    body = (
        await http.get(
            "/api/v1/stories.json",
            params={"workspace_id": "1000,1001", "story_type": "milestone", "include": "workspace"},
        )
    ).json()

    assert body["count"] == 6
    assert {s["workspace_id"] for s in body["stories"].values()} == {"1000", "1001"}
    assert set(body["workspaces"]) == {"1000", "1001"}


@pytest.mark.parametrize(
    ("params", "page_size", "ids"),
    [
        pytest.param({"per_page": "2"}, 2, ["20000", "20001"], id="first-page"),
        pytest.param({"per_page": "2", "page": "8"}, 2, ["20014"], id="last-page"),
        pytest.param({"per_page": "2", "page": "9"}, 2, [], id="past-the-end"),
        pytest.param({"per_page": "5000"}, 200, None, id="capped-at-200"),
        pytest.param({}, 20, None, id="default-20"),
    ],
)
async def test_stories_page_by_number(http, params, page_size, ids):
    body = (await http.get("/api/v1/stories.json", params=params)).json()

    assert body["meta"]["page_size"] == page_size
    assert body["count"] == 15
    if ids is not None:
        assert _ids(body) == ids


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "kind"),
    [
        pytest.param(
            "GET",
            "/api/v1/workspaces.json",
            {"params": {"colour": "red"}},
            400,
            "argument",
            id="unknown-filter",
        ),
        pytest.param(
            "GET",
            "/api/v1/workspaces.json",
            {"params": {"include": "owners"}},
            400,
            "argument",
            id="unknown-include",
        ),
        pytest.param(
            "GET", "/api/v1/stories.json", {"params": {"page": "x"}}, 400, "argument", id="bad-page"
        ),
        pytest.param(
            "GET", "/api/v1/workspaces/424242.json", {}, 404, "not_found", id="missing-workspace"
        ),
        pytest.param(
            "POST",
            "/api/v1/workspaces.json",
            {"json": {"workspaces": [{}]}},
            422,
            "validation",
            id="blank-title",
        ),
        pytest.param(
            "POST",
            "/api/v1/workspaces.json",
            {"json": {"workspaces": [{"title": "x", "owner": "y"}]}},
            422,
            "validation",
            id="unknown-attribute",
        ),
        pytest.param(
            "POST",
            "/api/v1/resource_requests.json",
            {"json": {"resource_requests": [{"workspace_id": "9", "role": "x"}]}},
            422,
            "validation",
            id="dangling-workspace",
        ),
        pytest.param(
            "PUT",
            "/api/v1/stories/20000.json",
            {"json": {"story": {"state": "gone"}}},
            422,
            "validation",
            id="bad-state",
        ),
        pytest.param(
            "PUT",
            "/api/v1/stories/20000.json",
            {"json": {"state": "completed"}},
            400,
            "argument",
            id="unwrapped-body",
        ),
        pytest.param(
            "GET",
            "/api/v1/subscribed_events",
            {"params": {"created_after": "soon"}},
            400,
            "argument",
            id="bad-created-after",
        ),
    ],
)
async def test_refusals_come_in_kantatas_error_shape(http, method, path, kwargs, status, kind):
    response = await http.request(method, path, **kwargs)

    assert response.status_code == status
    (error,) = response.json()["errors"]
    assert error["type"] == kind
    assert error["message"]


async def test_a_bad_token_is_refused_with_401(http):
    response = await http.get("/api/v1/users.json", headers={"Authorization": "Bearer wrong"})

    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"type": "authentication", "message": "invalid or missing bearer token"}]
    }


async def test_users_are_read_only(http):
    response = await http.post("/api/v1/users.json", json={"users": [{"full_name": "x"}]})
    assert response.status_code == 405


async def test_a_write_bumps_updated_at_and_appends_one_event(http):
    before = (await http.get("/api/v1/workspaces/1000.json")).json()["workspaces"]["1000"]

    response = await http.put(
        "/api/v1/workspaces/1000.json", json={"workspace": {"status_key": 320}}
    )
    after = response.json()["workspaces"]["1000"]
    events = (await http.get("/api/v1/subscribed_events")).json()

    assert after["status"]["message"] == "On Hold"
    assert after["updated_at"] > before["updated_at"]
    (event,) = events["subscribed_events"].values()
    assert event["event_type"] == "workspace:updated"
    assert event["subject_ref"] == {"key": "workspaces", "id": "1000"}
    assert event["payload_changes"]["status"][1]["key"] == 320
    assert event["previous_payload"]["status"]["key"] == 310


async def test_an_update_that_changes_nothing_records_nothing(http):
    await http.put("/api/v1/workspaces/1000.json", json={"workspace": {"title": "Project 0"}})
    events = (await http.get("/api/v1/subscribed_events")).json()
    assert events["count"] == 0


async def test_completing_a_story_stamps_completed_at(http):
    response = await http.put("/api/v1/stories/20000.json", json={"story": {"state": "completed"}})
    story = response.json()["stories"]["20000"]
    assert story["state"] == "completed"
    assert story["completed_at"] == story["updated_at"]


async def test_created_records_get_new_ids_and_a_created_event(http):
    response = await http.post(
        "/api/v1/participations.json",
        json={"participations": [{"workspace_id": "1000", "user_id": "503", "role": "QA"}]},
    )
    (created,) = response.json()["participations"].values()
    feed = (await http.get("/api/v1/subscribed_events?include=subject")).json()

    assert created["id"] == "40010"
    (event,) = feed["subscribed_events"].values()
    assert event["event_type"] == "participation:created"
    assert feed["participations"] == {"40010": created}


async def test_touch_appends_an_updated_event_per_record_found(sandbox: PsaSandbox, http):
    assert sandbox.touch("milestone", ["20001", "20002", "99"]) == 2
    feed = (await http.get("/api/v1/subscribed_events?event_types=story:updated")).json()
    assert sorted(e["subject_id"] for e in feed["subscribed_events"].values()) == ["20001", "20002"]


def test_touch_names_the_canonical_entities(sandbox: PsaSandbox):
    for entity, some_id in [
        ("project", "1000"),
        ("milestone", "20000"),
        ("assignment", "40000"),
        ("staffing_request", "60000"),
        ("user", "500"),
    ]:
        assert sandbox.touch(entity, [some_id]) == 1
    with pytest.raises(KeyError):
        sandbox.touch("invoice", ["1"])


async def test_the_feed_filters_by_time_and_type(sandbox: PsaSandbox, http):
    sandbox.touch("project", ["1000"])
    first = (await http.get("/api/v1/subscribed_events")).json()
    (event,) = first["subscribed_events"].values()
    sandbox.touch("project", ["1001"])
    sandbox.touch("user", ["500"])

    later = (
        await http.get(
            "/api/v1/subscribed_events",
            params={"created_after": event["created_at"], "event_types": "workspace:updated"},
        )
    ).json()

    assert [e["subject_id"] for e in later["subscribed_events"].values()] == ["1001"]


async def test_held_events_are_published_late_with_their_own_time(sandbox: PsaSandbox, http):
    await http.post("/_sandbox/event_feed", json={"hold": True})
    sandbox.touch("project", ["1000"])
    await http.post("/_sandbox/event_feed", json={"hold": False})
    sandbox.touch("project", ["1001"])

    while_held = (await http.get("/api/v1/subscribed_events")).json()
    released = (await http.post("/_sandbox/event_feed", json={"release": True})).json()
    after = (await http.get("/api/v1/subscribed_events")).json()

    assert [e["subject_id"] for e in while_held["subscribed_events"].values()] == ["1001"]
    assert released == {"hold": False, "released": 1}
    assert [ref["id"] for ref in after["results"]] == ["1", "2"]


async def test_past_the_native_rate_the_token_gets_429_without_retry_after(http):
    await http.post("/_sandbox/rate_limit", json={"per_s": 2})

    statuses = [(await http.get("/api/v1/users.json")) for _ in range(3)]

    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[2].json()["errors"][0]["type"] == "rate_limit"
    assert "Retry-After" not in statuses[2].headers


async def test_reset_restores_the_seeded_world(http):
    await http.put("/api/v1/workspaces/1000.json", json={"workspace": {"title": "Renamed"}})
    await http.post("/_sandbox/rate_limit", json={"per_s": 1})

    await http.post("/_sandbox/reset")

    workspace = (await http.get("/api/v1/workspaces/1000.json")).json()["workspaces"]["1000"]
    feed = (await http.get("/api/v1/subscribed_events")).json()
    assert workspace["title"] == "Project 0"
    assert feed["count"] == 0

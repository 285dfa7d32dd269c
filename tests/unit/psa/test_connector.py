"""The PSA connector against the Kantata-shaped sandbox, in-process."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from sandboxes.psa.server import PsaSandbox
from sources.config import SourceSettings
from sources.errors import SourceDataError, SourceRejected
from sources.psa.connector import PsaConnector, web_base
from sources.records import Milestone, Project, StaffingRequest

from .conftest import BASE_URL, settings


async def test_get_many_aligns_with_ids_and_marks_missing_ones(connector: PsaConnector):
    records = await connector.get_many("project", ["1004", "404", "1000", "1004"])

    assert [r.id if r else None for r in records] == ["1004", None, "1000", "1004"]
    assert all(isinstance(r, Project) for r in records if r)


async def test_get_many_reads_archived_workspaces_too(connector: PsaConnector):
    (cancelled,) = await connector.get_many("project", ["1004"])
    assert isinstance(cancelled, Project)
    assert cancelled.status == "CANCELLED"


async def test_milestones_carry_their_workspace_currency_and_a_deep_link(connector):
    (milestone,) = await connector.get_many("milestone", ["20000"])

    assert isinstance(milestone, Milestone)
    assert milestone.currency == "EUR"
    assert milestone.url == f"{BASE_URL}/workspaces/1000/#tracker/20000"


async def test_get_many_of_nothing_asks_nothing(sandbox: PsaSandbox, connector):
    assert await connector.get_many("user", []) == []
    assert sandbox.runtime.counts.total() == 0


async def test_get_many_splits_ids_at_the_configured_batch_size(sandbox: PsaSandbox):
    transport = httpx.ASGITransport(app=sandbox.app())
    async with PsaConnector(settings(batch_size=4), transport=transport) as psa:
        ids = [str(20000 + k) for k in range(15)]
        records = await psa.get_many("milestone", ids)

    assert [r.id for r in records if r] == ids
    assert sandbox.runtime.counts["GET /api/v1/stories.json"] == 4


async def test_listing_pages_through_every_record_once(connector: PsaConnector):
    seen, cursor, totals = [], None, set()
    while True:
        page = await connector.list("milestone", page_size=4, cursor=cursor)
        seen += [r.id for r in page.items]
        totals.add(page.total)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == [str(20000 + k) for k in range(15)]
    assert totals == {15}


async def test_each_page_names_the_cursors_of_the_rest_of_its_listing(connector: PsaConnector):
    first = await connector.list("milestone", page_size=4)
    named = [await connector.list("milestone", page_size=4, cursor=c) for c in first.following]
    last = await connector.list("milestone", page_size=4, cursor=first.following[-1])

    assert first.following[0] == first.next_cursor
    assert [r.id for page in [first, *named] for r in page.items] == [
        str(20000 + k) for k in range(15)
    ]
    assert len(last.following) == 0
    assert last.next_cursor is None


async def test_the_pages_after_one_are_named_before_it_is_read(connector: PsaConnector):
    named = connector.pages_after("milestone", {}, None, page_size=4, count=3)
    pages = [await connector.list("milestone", page_size=4, cursor=c) for c in [None, *named]]

    assert [r.id for page in pages for r in page.items] == [str(20000 + k) for k in range(15)]
    assert list(connector.pages_after("milestone", {}, named[0], page_size=4, count=1)) == [
        named[1]
    ]


async def test_a_long_project_list_is_walked_chunk_by_chunk(sandbox: PsaSandbox):
    transport = httpx.ASGITransport(app=sandbox.app())
    wanted = ["1000", "1001", "1002", "1003", "1004"]
    async with PsaConnector(settings(batch_size=2), transport=transport) as psa:
        seen, cursor = [], None
        while True:
            page = await psa.list("milestone", {"project_id": wanted}, page_size=4, cursor=cursor)
            seen += [r.project_id for r in page.items if isinstance(r, Milestone)]
            assert page.total is None  # several chunks: no single total
            cursor = page.next_cursor
            if cursor is None:
                break

    assert sorted(seen) == sorted(p for p in wanted for _ in range(3))


@pytest.mark.parametrize(
    ("entity", "filters", "expected"),
    [
        pytest.param("project", {"status": "ACTIVE"}, ["1000"], id="project-status"),
        pytest.param(
            "project",
            {"status": ["COMPLETED", "CANCELLED"]},
            ["1003", "1004"],
            id="archived-statuses",
        ),
        pytest.param(
            "project", {"crm_opportunity_id": ["006000000000000002"]}, ["1002"], id="by-opportunity"
        ),
        pytest.param("project", {"practice": "cloud"}, ["1001", "1003"], id="practice"),
        pytest.param("project", {"search": "project 4"}, ["1004"], id="search"),
        pytest.param("assignment", {"project_id": "1001"}, ["40001", "40006"], id="assignments"),
        pytest.param("assignment", {"user_id": ["503"]}, ["40003", "40007"], id="by-user"),
        pytest.param(
            "staffing_request", {"status": "FILLED"}, ["60001", "60004"], id="filled-requests"
        ),
        pytest.param("user", {"search": "person 2"}, ["502"], id="users"),
        pytest.param("milestone", {"project_id": []}, [], id="empty-id-list"),
    ],
)
async def test_listing_filters(connector: PsaConnector, entity, filters, expected):
    page = await connector.list(entity, filters)
    assert [r.id for r in page.items] == expected
    assert page.total == len(expected)


async def test_a_new_change_cursor_starts_from_now(sandbox: PsaSandbox, connector):
    sandbox.touch("project", ["1000"])

    start = await connector.changes("project", None)
    after = await connector.changes("project", start.cursor)

    assert start.records == []
    assert after.records == []


async def test_changes_return_touched_and_written_records_once(sandbox: PsaSandbox, connector):
    start = await connector.changes("project", None)
    sandbox.touch("project", ["1002", "1001"])
    await connector.set_workspace_finance_code("1001", "JOB-NEW")
    sandbox.touch("milestone", ["20000"])

    changed = await connector.changes("project", start.cursor)
    again = await connector.changes("project", changed.cursor)

    assert [r.id for r in changed.records] == ["1002", "1001"]
    assert changed.records[1].erp_job_id == "JOB-NEW"
    assert again.records == []


async def test_late_events_are_caught_by_the_next_scan(sandbox: PsaSandbox, connector):
    start = await connector.changes("project", None)
    sandbox.events.hold = True
    sandbox.touch("project", ["1000"])
    sandbox.events.hold = False
    sandbox.touch("project", ["1001"])

    first = await connector.changes("project", start.cursor)
    sandbox.events.release()
    second = await connector.changes("project", first.cursor)

    assert [r.id for r in first.records] == ["1001"]
    assert [r.id for r in second.records] == ["1000"]


async def test_create_workspace_looks_before_it_creates(sandbox: PsaSandbox, connector):
    fields = {"name": "Data platform", "code": "PRJ-00100", "status": "PLANNED"}

    first = await connector.create_workspace(fields, crm_opportunity_id="006NEW")
    second = await connector.create_workspace(fields, crm_opportunity_id="006NEW")

    assert first == second
    assert (first.name, first.status, first.crm_opportunity_id) == (
        "Data platform",
        "PLANNED",
        "006NEW",
    )
    assert sandbox.runtime.counts["POST /api/v1/workspaces.json"] == 1


async def test_create_workspace_finds_an_archived_one(connector: PsaConnector):
    existing = await connector.create_workspace(
        {"name": "again"}, crm_opportunity_id="006000000000000004"
    )
    assert existing.id == "1004"


async def test_create_workspace_refuses_a_conflicting_reference(connector: PsaConnector):
    with pytest.raises(ValueError, match="different crm_opportunity_id"):
        await connector.create_workspace({"crm_opportunity_id": "006A"}, crm_opportunity_id="006B")


async def test_update_workspace_writes_canonical_fields(connector: PsaConnector):
    updated = await connector.update_workspace(
        "1002", {"status": "ACTIVE", "budget": "99.99", "end_date": dt.date(2025, 1, 31)}
    )
    assert (updated.status, str(updated.budget), updated.end_date) == (
        "ACTIVE",
        "99.99",
        dt.date(2025, 1, 31),
    )


async def test_a_record_read_again_shows_its_change_and_an_unchanged_one_is_reused(
    connector: PsaConnector,
):
    before = await connector.get_many("project", ["1000", "1002"])
    await connector.update_workspace("1002", {"budget": "12.34"})

    after = await connector.get_many("project", ["1000", "1002"])

    assert isinstance(after[1], Project)
    assert str(after[1].budget) == "12.34"
    assert after[0] is before[0]


async def test_create_staffing_request_looks_before_it_creates(
    sandbox: PsaSandbox, connector: PsaConnector
):
    async def create() -> StaffingRequest:
        return await connector.create_staffing_request(
            "1002", "Data Engineer", ["spark"], 24.0, dt.date(2025, 4, 1), external_ref="wf-1:3"
        )

    first, second = await create(), await create()

    assert first == second
    assert (first.project_id, first.status, first.skills) == ("1002", "OPEN", ["spark"])
    assert sandbox.runtime.counts["POST /api/v1/resource_requests.json"] == 1


async def test_complete_milestone_is_idempotent(sandbox: PsaSandbox, connector):
    completed = await connector.complete_milestone("20000")
    again = await connector.complete_milestone("20000")

    assert completed.status == "COMPLETED"
    assert completed.completed_at is not None
    assert again == completed
    assert sandbox.runtime.counts["PUT /api/v1/stories/{id}.json"] == 1


async def test_complete_milestone_leaves_a_billed_one_alone(connector: PsaConnector):
    billed = await connector.complete_milestone("20002")
    assert billed.status == "BILLED"


async def test_complete_milestone_of_an_unknown_story_is_rejected(connector: PsaConnector):
    with pytest.raises(SourceRejected) as raised:
        await connector.complete_milestone("424242")
    assert raised.value.status == 404
    assert "not found" in raised.value.message


async def test_a_bad_token_is_rejected_with_the_vendor_message(sandbox: PsaSandbox):
    transport = httpx.ASGITransport(app=sandbox.app())
    async with PsaConnector(settings(token="wrong"), transport=transport) as psa:
        with pytest.raises(SourceRejected) as raised:
            await psa.get_many("project", ["1000"])
    assert raised.value.status == 401
    assert raised.value.vendor_code == "authentication"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"<html>maintenance</html>", id="not-json"),
        pytest.param(b'{"workspaces": {}}', id="no-results"),
        pytest.param(
            b'{"results": [{"key": "workspaces", "id": "1"}],'
            b' "workspaces": {"1": {"id": "1", "title": "x", "status": "Mystery"}}}',
            id="unreadable-record",
        ),
    ],
)
async def test_a_garbled_answer_is_a_data_error(content):
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=content))
    async with PsaConnector(settings(), transport=transport) as psa:
        with pytest.raises(SourceDataError):
            await psa.get_many("project", ["1"])


def test_a_connector_needs_a_token():
    with pytest.raises(ValueError, match="token"):
        PsaConnector(SourceSettings(base_url=BASE_URL))


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        pytest.param("https://api.mavenlink.com", "https://app.mavenlink.com", id="kantata"),
        pytest.param("http://127.0.0.1:8102/", "http://127.0.0.1:8102", id="sandbox"),
    ],
)
def test_deep_links_point_at_the_app(base_url, expected):
    assert web_base(base_url) == expected


def _feed_server(events: list[dict[str, object]]) -> httpx.MockTransport:
    """A Kantata stand-in serving a fixed event feed and whatever workspaces are asked."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/subscribed_events":
            after = dt.datetime.fromisoformat(request.url.params["created_after"])
            shown = [e for e in events if dt.datetime.fromisoformat(str(e["created_at"])) > after]
            return httpx.Response(
                200,
                json={
                    "count": len(shown),
                    "results": [{"key": "subscribed_events", "id": e["id"]} for e in shown],
                    "subscribed_events": {str(e["id"]): e for e in shown},
                },
            )
        ids = request.url.params["only"].split(",")
        workspaces = {
            i: {"id": i, "title": f"W{i}", "status": {"key": 310, "message": "Active"}} for i in ids
        }
        return httpx.Response(
            200,
            json={
                "count": len(ids),
                "results": [{"key": "workspaces", "id": i} for i in ids],
                "workspaces": workspaces,
            },
        )

    return httpx.MockTransport(handle)


async def test_deleted_subjects_are_reported_and_duplicated_events_count_once():
    start = dt.datetime.now(dt.UTC)
    moments = [(start + dt.timedelta(seconds=s)).isoformat() for s in (1, 2, 3, 4)]
    events: list[dict[str, object]] = []
    async with PsaConnector(settings(), transport=_feed_server(events)) as psa:
        cursor = (await psa.changes("project", None)).cursor
        events += [
            {
                "id": "1",
                "created_at": moments[0],
                "event_type": "workspace:updated",
                "subject_id": "7",
            },
            {
                "id": "2",
                "created_at": moments[1],
                "event_type": "workspace:updated",
                "subject_id": "8",
            },
            {
                "id": "2",
                "created_at": moments[1],
                "event_type": "workspace:updated",
                "subject_id": "8",
            },
            {
                "id": "3",
                "created_at": moments[2],
                "event_type": "workspace:deleted",
                "subject_id": "7",
            },
        ]
        changed = await psa.changes("project", cursor)

    assert [r.id for r in changed.records] == ["8"]
    assert changed.deleted_ids == ["7"]


async def test_an_unreadable_event_is_a_data_error():
    events: list[dict[str, object]] = []
    async with PsaConnector(settings(), transport=_feed_server(events)) as psa:
        cursor = (await psa.changes("project", None)).cursor
        later = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).isoformat()
        events.append({"id": "1", "created_at": later, "event_type": "workspace:updated"})
        with pytest.raises(SourceDataError, match="subscribed event"):
            await psa.changes("project", cursor)

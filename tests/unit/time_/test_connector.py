"""The connector against the sandbox in-process: request costs, caching, paging, changes,
reports and writes; and against scripted answers for what the sandbox never sends."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import parse_qsl

import httpx
import pytest

from sandboxes.time.server import TimeSandbox
from sandboxes.world.model import World
from sources.connector import Page
from sources.errors import SourceDataError, SourceRejected
from sources.records import Record, TimeEntry
from sources.time.connector import TimeConnector
from sources.time.harvest import RESOURCES
from sources.time.mapping import to_record
from tests.unit.time_.conftest import ACCOUNT, TOKEN, FakeClock, requests_made, settings


def project_ids(world: World) -> list[str]:
    return [p.time_project_id for p in world.projects]


# --- reading by id -----------------------------------------------------------------


async def test_projects_come_from_one_snapshot_kept_for_the_ttl(
    connector: TimeConnector, sandbox: TimeSandbox, small_world: World, clock: FakeClock
) -> None:
    ids = project_ids(small_world)
    wanted = [ids[3], "999999999", ids[1], ids[3]]

    records = await connector.get_many("project", wanted)
    first = requests_made(sandbox)
    await connector.get_many("project", ids)
    within_ttl = requests_made(sandbox) - first
    clock.advance(301)
    await connector.get_many("project", ids[:1])

    assert [r.id if r else None for r in records] == [ids[3], None, ids[1], ids[3]]
    assert first == 1
    assert within_ttl == 0
    assert requests_made(sandbox) == 2


async def test_a_ttl_of_zero_reads_the_source_every_time(
    sandbox: TimeSandbox, small_world: World
) -> None:
    transport = httpx.ASGITransport(app=sandbox.app())
    async with TimeConnector(
        settings(cache_ttl={"user": 0}), transport=transport, clock=FakeClock()
    ) as connector:
        user_ids = [p.time_user_id for p in small_world.people]
        for _ in range(3):
            await connector.get_many("user", user_ids)

    assert sandbox.runtime.counts["GET /v2/users"] == 3


async def test_time_entries_are_fanned_out_one_request_per_distinct_id(
    connector: TimeConnector, sandbox: TimeSandbox, small_world: World
) -> None:
    ids = [e.time_id for e in small_world.time_entries[:6]]

    records = await connector.get_many("time_entry", [*ids, "1", ids[0]])

    assert [r.id if r else None for r in records] == [*ids, None, ids[0]]
    assert sandbox.runtime.counts["GET /v2/time_entries/{id}"] == 7


@pytest.mark.parametrize(
    ("entity", "n_ids", "total", "bound"),
    [
        pytest.param("project", 500, 800, 1, id="projects-one-page"),
        pytest.param("project", 500, 4001, 3, id="projects-three-pages"),
        pytest.param("user", 2, 4001, 2, id="few-users-fan-out"),
        pytest.param("time_entry", 500, 150_000, 500, id="entries-fan-out"),
        pytest.param("expense", 0, 6000, 0, id="nothing-asked"),
    ],
)
def test_the_request_bound_is_documented_arithmetic(
    connector: TimeConnector, entity: str, n_ids: int, total: int, bound: int
) -> None:
    assert connector.request_bound(entity, n_ids, total) == bound
    assert connector.batch_limit == 2000


# --- listing and changes -----------------------------------------------------------


async def test_listing_by_status_follows_links_next_to_the_end(
    connector: TimeConnector, small_world: World
) -> None:
    expected = {e.time_id for e in small_world.time_entries if e.status == "APPROVED"}
    seen: list[str] = []
    cursor: str | None = None
    totals: set[int | None] = set()
    while True:
        page = await connector.list(
            "time_entry", {"status": "APPROVED"}, page_size=40, cursor=cursor
        )
        assert {r.status for r in page.items if isinstance(r, TimeEntry)} <= {"APPROVED"}
        assert all(isinstance(r, TimeEntry) for r in page.items)
        seen.extend(r.id for r in page.items)
        totals.add(page.total)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert sorted(seen) == sorted(expected)
    assert totals == {len(expected)}


@pytest.mark.parametrize("entity", sorted(RESOURCES))
async def test_listed_objects_are_the_records_their_parsed_objects_map_to(
    entity: str, connector: TimeConnector, harvest: httpx.AsyncClient
) -> None:
    # Listed objects are kept as raw bytes and parsed when not seen before (sources.time.listed).
    whole = (await harvest.get(f"/v2/{RESOURCES[entity]}", params={"per_page": "2000"})).json()

    listed = await connector.list(entity, page_size=2000)

    assert whole[RESOURCES[entity]]
    assert listed.items == [to_record(entity, body) for body in whole[RESOURCES[entity]]]
    assert listed.total == whole["total_entries"]


async def test_a_page_size_above_harvests_cap_is_rejected_by_the_source(
    connector: TimeConnector,
) -> None:
    with pytest.raises(SourceRejected, match="2000") as raised:
        await connector.list("expense", page_size=2001)

    assert raised.value.status == 422


async def test_bad_filters_cost_no_request(connector: TimeConnector, sandbox: TimeSandbox) -> None:
    with pytest.raises(ValueError, match="cannot be filtered"):
        await connector.list("user", {"project_id": "1"})

    assert requests_made(sandbox) == 0


async def test_changes_are_exactly_the_records_written_since_the_cursor(
    connector: TimeConnector, sandbox: TimeSandbox, small_world: World
) -> None:
    start = await connector.changes("time_entry", None)
    touched = [e.time_id for e in small_world.time_entries[10:13]]
    sandbox.touch("time_entry", touched)

    after = await connector.changes("time_entry", start.cursor)
    sandbox.touch("time_entry", touched[:1])
    again = await connector.changes("time_entry", after.cursor)
    quiet = await connector.changes("time_entry", again.cursor)

    assert start.records == []
    assert sorted(r.id for r in after.records) == sorted(touched)
    assert [r.id for r in again.records] == touched[:1]
    assert quiet.records == []


async def test_changes_see_every_reference_entity(
    connector: TimeConnector, sandbox: TimeSandbox, small_world: World
) -> None:
    starts = {e: (await connector.changes(e, None)).cursor for e in ("user", "project", "expense")}
    sandbox.touch("user", [small_world.people[2].time_user_id])
    sandbox.touch("project", [small_world.projects[2].time_project_id])
    sandbox.touch("expense", [small_world.expenses[2].time_id])

    changed = {
        entity: [r.id for r in (await connector.changes(entity, cursor)).records]
        for entity, cursor in starts.items()
    }

    assert changed == {
        "user": [small_world.people[2].time_user_id],
        "project": [small_world.projects[2].time_project_id],
        "expense": [small_world.expenses[2].time_id],
    }


# --- aggregates --------------------------------------------------------------------


async def test_approved_billable_hours_cost_one_request_and_match_the_entries(
    connector: TimeConnector, sandbox: TimeSandbox, small_world: World
) -> None:
    first, last = dt.date(2000, 1, 1), dt.date(2099, 12, 31)

    hours = await connector.approved_billable_hours(first, last)

    assert requests_made(sandbox) == 1
    assert hours is not None
    for person in small_world.people:
        counted = [
            e.hours
            for e in small_world.time_entries
            if e.person_key == person.key and e.billable and e.status in ("APPROVED", "INVOICED")
        ]
        assert math.isclose(hours.get(person.time_user_id, 0.0), sum(counted), abs_tol=0.02)


async def test_project_summaries_cost_two_requests_and_match_the_entries(
    connector: TimeConnector, sandbox: TimeSandbox, small_world: World
) -> None:
    first, last = dt.date(2000, 1, 1), dt.date(2099, 12, 31)

    summaries = await connector.project_summaries(first, last)

    assert requests_made(sandbox) == 2
    project = small_world.projects[small_world.time_entries[0].project_key]
    entries = [e for e in small_world.time_entries if e.project_key == project.key]
    summary = summaries[project.time_project_id]
    assert math.isclose(summary.total_hours, sum(e.hours for e in entries))
    assert math.isclose(summary.billable_hours, sum(e.hours for e in entries if e.billable))
    assert summary.approved_hours is not None
    assert math.isclose(
        summary.approved_hours,
        sum(e.hours for e in entries if e.status in ("APPROVED", "INVOICED")),
    )
    assert math.isclose(
        summary.uninvoiced_hours,
        sum(e.hours for e in entries if e.billable and e.status != "INVOICED"),
    )
    assert summary.currency == project.currency


# --- writes ------------------------------------------------------------------------


def active_project(world: World) -> str:
    return next(p.time_project_id for p in world.projects if p.status == "ACTIVE")


async def test_creating_twice_with_one_reference_makes_one_entry(
    connector: TimeConnector, sandbox: TimeSandbox, small_world: World
) -> None:
    args = (small_world.people[0].time_user_id, active_project(small_world))

    first = await connector.create_time_entry(
        *args, dt.date(2026, 2, 2), 1.25, True, "Kickoff", external_reference="wf-42:step-1"
    )
    second = await connector.create_time_entry(
        *args, dt.date(2026, 2, 2), 1.25, True, "Kickoff", external_reference="wf-42:step-1"
    )

    assert second == first
    assert (first.status, first.external_reference, first.hours) == ("DRAFT", "wf-42:step-1", 1.25)
    assert sandbox.runtime.counts["POST /v2/time_entries"] == 1


async def test_approve_then_bill_is_idempotent(
    connector: TimeConnector, small_world: World
) -> None:
    entry = await connector.create_time_entry(
        small_world.people[0].time_user_id,
        active_project(small_world),
        dt.date(2026, 2, 3),
        2.0,
        True,
        None,
        external_reference="wf-43",
    )

    approved = await connector.approve([entry.id, entry.id])
    approved_again = await connector.approve([entry.id])
    billed = await connector.mark_billed([entry.id], "600001", "INV-600001")
    billed_again = await connector.mark_billed([entry.id], "600001", "INV-600001")
    still = await connector.approve([entry.id])

    assert [e.status for e in approved] == ["APPROVED", "APPROVED"]
    assert approved_again == approved[:1]
    assert billed[0].status == "INVOICED"
    assert billed_again == billed
    assert still == billed


async def test_billing_an_unapproved_entry_is_rejected_with_harvests_message(
    connector: TimeConnector, small_world: World
) -> None:
    entry = await connector.create_time_entry(
        small_world.people[0].time_user_id,
        active_project(small_world),
        dt.date(2026, 2, 4),
        2.0,
        True,
        None,
        external_reference="wf-44",
    )

    with pytest.raises(SourceRejected, match="only approved"):
        await connector.mark_billed([entry.id], "600001", "INV-600001")


# --- against scripted answers ------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def scripted(handler: Handler) -> TimeConnector:
    return TimeConnector(settings(), transport=httpx.MockTransport(handler))


async def test_every_request_carries_harvests_headers() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"users": [], "links": {"next": None}})

    async with scripted(handle) as connector:
        await connector.list("user")

    headers = seen[0].headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Harvest-Account-Id"] == ACCOUNT
    assert headers["User-Agent"] == settings().user_agent
    assert seen[0].url.path == "/v2/users"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param("<html>proxy error", "malformed JSON", id="not-json"),
        pytest.param('{"time_entries": [{"id": 1}', "malformed JSON", id="cut-short"),
        pytest.param([], "malformed JSON", id="not-an-object"),
        pytest.param({"time_entries": "none"}, r"\$\.time_entries", id="no-list"),
        pytest.param({"time_entries": [7]}, "malformed time_entry", id="entry-not-an-object"),
        pytest.param(
            {"time_entries": [{"id": 1, "user": "kim"}]}, "malformed time_entry", id="bad-user"
        ),
        pytest.param({"time_entries": [{"id": 1}]}, "malformed time_entry", id="fields-missing"),
        pytest.param({"links": {"next": None}}, "expected a list", id="list-missing"),
    ],
)
async def test_a_time_entry_page_that_is_not_harvests_is_a_data_error_saying_where(
    body: Any, says: str
) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(200, text=body)
        return httpx.Response(200, json=body)

    async with scripted(handle) as connector:
        with pytest.raises(SourceDataError, match=says):
            await connector.list("time_entry")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(200, "<html>proxy error", id="not-json"),
        pytest.param(200, [], id="not-an-object"),
        pytest.param(200, {"projects": "none"}, id="no-list"),
        pytest.param(200, {"projects": [{"id": 1}]}, id="malformed-project"),
        pytest.param(200, {"projects": [], "links": {"next": 7}}, id="bad-next-link"),
    ],
)
async def test_answers_that_are_not_harvests_are_data_errors(status: int, body: Any) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    async with scripted(handle) as connector:
        with pytest.raises(SourceDataError):
            await connector.list("project")


@pytest.mark.parametrize(
    "row", [{"total_hours": 1.0}, "a project"], ids=["no-project-id", "not-an-object"]
)
async def test_a_report_row_naming_no_project_fails_the_summaries(row: Any) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": [row], "links": {"next": None}})

    async with scripted(handle) as connector:
        with pytest.raises(SourceDataError, match=r"malformed JSON .*results\[0\]"):
            await connector.project_summaries(dt.date(2026, 1, 1), dt.date(2026, 1, 31))


async def test_a_team_report_without_approved_hours_answers_none_and_is_not_asked_again() -> None:
    # Harvest's own team report: hours per user whatever their approval.
    asked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        row = {"user_id": 7, "user_name": "A", "total_hours": 3.0, "billable_hours": 2.0}
        return httpx.Response(200, json={"results": [row], "links": {"next": None}})

    async with scripted(handle) as connector:
        first = await connector.approved_billable_hours(dt.date(2026, 1, 1), dt.date(2026, 1, 31))
        again = await connector.approved_billable_hours(dt.date(2026, 2, 1), dt.date(2026, 2, 28))

    assert first is None
    assert again is None
    assert asked == ["/v2/reports/time/team"]


@pytest.mark.parametrize(
    ("row", "match"),
    [
        pytest.param({"approved_billable_hours": 1.0}, "malformed JSON", id="no-user-id"),
        pytest.param(
            {"user_id": 7, "approved_billable_hours": "many"}, "malformed team", id="bad-hours"
        ),
    ],
)
async def test_a_malformed_team_report_row_fails_the_read(row: Any, match: str) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": [row], "links": {"next": None}})

    async with scripted(handle) as connector:
        with pytest.raises(SourceDataError, match=match):
            await connector.approved_billable_hours(dt.date(2026, 1, 1), dt.date(2026, 1, 31))


async def test_a_next_link_that_repeats_stops_the_scan() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        body = {"users": [], "links": {"next": "https://h/v2/users?cursor=same"}}
        return httpx.Response(200, json=body)

    async with scripted(handle) as connector:
        with pytest.raises(SourceDataError, match="loop"):
            await connector.get_many("user", ["1"])


async def test_an_approval_the_source_ignores_is_not_reported_as_done() -> None:
    entry = {
        "id": 5,
        "spent_date": "2026-01-01",
        "hours": 1.0,
        "billable": True,
        "is_billed": False,
        "approval_status": "submitted",
        "user": {"id": 1},
        "project": {"id": 2, "code": "PRJ-1"},
        "updated_at": "2026-01-01T00:00:00Z",
    }

    async with scripted(lambda request: httpx.Response(200, json=entry)) as connector:
        with pytest.raises(SourceRejected, match="not approved"):
            await connector.approve(["5"])


async def test_a_listing_read_again_shows_each_change_and_reuses_only_unchanged_records() -> None:
    def entry(entry_id: int, notes: str) -> dict[str, Any]:
        return {
            "id": entry_id,
            "spent_date": "2026-01-01",
            "hours": 1.0,
            "billable": True,
            "is_billed": False,
            "approval_status": "approved",
            "notes": notes,
            "user": {"id": 1},
            "project": {"id": 2, "code": "PRJ-1"},
            "updated_at": "2026-01-01T00:00:00Z",
        }

    answers = iter([[entry(5, "draft"), entry(6, "kept")], [entry(5, "final"), entry(6, "kept")]])

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"time_entries": next(answers), "links": {"next": None}})

    async with scripted(handle) as connector:
        before = (await connector.list("time_entry")).items
        after = (await connector.list("time_entry")).items

    assert [cast(TimeEntry, e).notes for e in after] == ["final", "kept"]
    assert after[1] is before[1]


def test_credentials_are_required() -> None:
    with pytest.raises(ValueError, match="needs credentials"):
        TimeConnector(settings(credentials={"token": "t"}))


def test_the_entities_map_to_canonical_records() -> None:
    assert TimeConnector.entities["time_entry"] is TimeEntry
    assert set(TimeConnector.entities) == {"time_entry", "expense", "user", "project"}


# --- a range read in parts -------------------------------------------------------------


def entries_on(*days: dt.date) -> list[TimeEntry]:
    return [
        TimeEntry(
            id=str(i), modified_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC), user_id="u",
            project_id="p", project_code="PRJ", date=day, hours=1.0, billable=True,
            status="APPROVED",
        )
        for i, day in enumerate(days)
    ]  # fmt: skip


NOV = [dt.date(2026, 11, d) for d in range(1, 31)]


def first_page(entries: list[TimeEntry], total: int) -> Page[Record]:
    return Page(list(entries), "cursor=next", total)


def test_after_a_first_page_the_days_it_did_not_reach_are_cut_into_parts() -> None:
    page = first_page(entries_on(NOV[29], NOV[29], NOV[28], NOV[27]), total=20)
    filters = {"from": NOV[0], "to": NOV[29], "status": "APPROVED"}

    rest = TimeConnector(settings()).rest_in_parts("time_entry", filters, page)

    assert rest is not None
    assert [e.date for e in rest.kept] == [NOV[29], NOV[29], NOV[28]]  # the last day is read again
    ranges = [dict(parse_qsl(cursor)) for cursor in rest.cursors]
    assert len(ranges) == math.ceil((20 - 3) / (4 * 0.8))
    assert ranges[0]["to"] == NOV[27].isoformat()
    assert ranges[-1]["from"] == NOV[0].isoformat()
    assert all(r["per_page"] == "4" and r["approval_status"] == "approved" for r in ranges)


@pytest.mark.parametrize(
    ("entity", "filters", "page"),
    [
        ("time_entry", {"to": NOV[29]}, first_page(entries_on(*NOV[:-5:-1]), 20)),
        ("time_entry", {"from": NOV[0]}, first_page(entries_on(*NOV[:4]), 20)),
        ("time_entry", {"from": NOV[0]}, first_page(entries_on(*NOV[:-5:-1]), 7)),
        ("time_entry", {"from": NOV[0]}, first_page(entries_on(*NOV[:-5:-1]), None)),
        ("user", {}, Page([], "cursor=next", 20)),
    ],
    ids=["no-from", "not-newest-first", "the-rest-fits-a-page", "no-total", "not-dated"],
)
def test_where_a_page_cannot_tell_what_it_covered_the_cursor_leads_on(
    entity: str, filters: dict[str, Any], page: Page[Record]
) -> None:
    assert TimeConnector(settings()).rest_in_parts(entity, filters, page) is None

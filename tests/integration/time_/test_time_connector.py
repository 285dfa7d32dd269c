"""The TIME connector over real HTTP against the Harvest-shaped sandbox.

Writes here create new entries dated well after the world's last day, and the module
puts the sandbox back to its seeded world when it is done.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.settings import Settings
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from sources.errors import SourceRejected
from sources.records import TimeEntry
from sources.time.connector import TimeConnector
from tests.conftest import reset


@pytest.fixture(scope="module", autouse=True)
def seeded_world_afterwards(sandboxes: SandboxCluster) -> Iterator[None]:
    yield
    reset(sandboxes, "time")


def admin(sandboxes: SandboxCluster, path: str) -> str:
    return f"{sandboxes['time'].url}/_sandbox/{path}"


def route_counts(sandboxes: SandboxCluster) -> Counter[str]:
    return Counter(httpx.get(admin(sandboxes, "stats")).json()["routes"])


def busiest_project(world: World) -> int:
    return Counter(e.project_key for e in world.time_entries).most_common(1)[0][0]


def after_the_world(world: World) -> dt.date:
    """A spent date no seeded entry or report range reaches."""
    return world.today + dt.timedelta(days=400)


async def new_entry(connector: TimeConnector, world: World) -> TimeEntry:
    project = next(p for p in world.projects if p.status == "ACTIVE")
    return await connector.create_time_entry(
        world.people[0].time_user_id,
        project.time_project_id,
        after_the_world(world),
        1.5,
        True,
        "integration test",
        external_reference=f"test-{uuid.uuid4()}",
    )


# --- reading -----------------------------------------------------------------------


async def test_paging_a_filtered_list_returns_every_entry_exactly_once(
    connector: TimeConnector, world: World
) -> None:
    project = world.projects[busiest_project(world)]
    expected = {e.time_id for e in world.time_entries if e.project_key == project.key}
    seen: list[str] = []
    totals: set[int | None] = set()
    cursor: str | None = None
    while True:
        page = await connector.list(
            "time_entry", {"project_id": project.time_project_id}, page_size=100, cursor=cursor
        )
        seen.extend(record.id for record in page.items)
        totals.add(page.total)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert len(seen) == len(set(seen)), "an entry came back twice"
    assert set(seen) == expected
    assert totals == {len(expected)}


async def test_a_page_larger_than_harvest_allows_is_rejected(connector: TimeConnector) -> None:
    with pytest.raises(SourceRejected, match="2000") as raised:
        await connector.list("time_entry", page_size=2001)

    assert raised.value.status == 422


async def test_500_projects_cost_one_request_then_none_within_the_ttl(
    connector: TimeConnector, sandboxes: SandboxCluster, world: World
) -> None:
    ids = [p.time_project_id for p in world.projects][:500]
    before = route_counts(sandboxes)

    first = await connector.get_many("project", ids)
    after_first = route_counts(sandboxes)
    second = await connector.get_many("project", ids)
    after_second = route_counts(sandboxes)

    assert [r.id if r else None for r in first] == ids
    assert second == first
    assert sum((after_first - before).values()) == math.ceil(len(world.projects) / 2000) == 1
    assert sum((after_second - after_first).values()) == 0
    assert connector.request_bound("project", 500, len(world.projects)) == 1


async def test_a_missing_user_agent_is_a_400(
    sandboxes: SandboxCluster, demo_settings: Settings
) -> None:
    credentials = demo_settings.source("time").credentials
    assert credentials.token is not None
    headers = {
        "Authorization": f"Bearer {credentials.token.get_secret_value()}",
        "Harvest-Account-Id": str(credentials.account_id),
        "User-Agent": "",
    }

    response = httpx.get(f"{sandboxes['time'].url}/v2/users", headers=headers)

    assert response.status_code == 400
    assert "User-Agent" in response.json()["message"]


# --- changes -----------------------------------------------------------------------


async def test_changes_are_exactly_what_was_written_or_touched(
    connector: TimeConnector, sandboxes: SandboxCluster, world: World
) -> None:
    start = await connector.changes("time_entry", None)

    created = await new_entry(connector, world)
    after_create = await connector.changes("time_entry", start.cursor)
    await connector.approve([created.id])
    after_approve = await connector.changes("time_entry", after_create.cursor)
    touched = [e.time_id for e in world.time_entries[20:24]]
    answer = httpx.post(
        admin(sandboxes, "touch"), json={"entity": "time_entry", "ids": touched}
    ).json()
    after_touch = await connector.changes("time_entry", after_approve.cursor)
    quiet = await connector.changes("time_entry", after_touch.cursor)

    assert start.records == []
    assert [r.id for r in after_create.records] == [created.id]
    assert [r.id for r in after_approve.records] == [created.id]
    assert [r.status for r in after_approve.records if isinstance(r, TimeEntry)] == ["APPROVED"]
    assert answer == {"touched": 4}
    assert sorted(r.id for r in after_touch.records) == sorted(touched)
    assert quiet.records == []


# --- writes ------------------------------------------------------------------------


async def test_creating_twice_with_one_external_reference_makes_one_entry(
    connector: TimeConnector, sandboxes: SandboxCluster, world: World
) -> None:
    reference = f"test-{uuid.uuid4()}"
    project = next(p for p in world.projects if p.status == "ACTIVE")
    args: tuple[Any, ...] = (
        world.people[1].time_user_id,
        project.time_project_id,
        after_the_world(world),
        3.0,
        True,
        "look before create",
    )

    first = await connector.create_time_entry(*args, external_reference=reference)
    second = await connector.create_time_entry(*args, external_reference=reference)
    listed = await connector.list("time_entry", {"external_reference_id": reference})

    assert second == first
    assert [r.id for r in listed.items] == [first.id]


# --- limits ------------------------------------------------------------------------


async def test_a_429_is_waited_out_and_the_reads_succeed(
    connector: TimeConnector, sandboxes: SandboxCluster, world: World
) -> None:
    ids = [e.time_id for e in world.time_entries[:8]]
    before = route_counts(sandboxes)["GET /v2/time_entries/{id}"]
    httpx.post(admin(sandboxes, "limits"), json={"requests": 3, "window_s": 1}).raise_for_status()
    try:
        records = [(await connector.get_many("time_entry", [i]))[0] for i in ids]
        refused = route_counts(sandboxes)["GET /v2/time_entries/{id}"] - before - len(ids)
    finally:
        restored = httpx.delete(admin(sandboxes, "limits")).json()

    assert [r.id if r else None for r in records] == ids
    assert refused >= 1, "the limit never answered 429"
    assert restored == {"requests": 100, "window_s": 15.0}


# --- reports -----------------------------------------------------------------------


async def test_the_reports_match_the_world_for_a_project(
    connector: TimeConnector, world: World
) -> None:
    project = world.projects[busiest_project(world)]
    first, last = world.today - dt.timedelta(days=400), world.today
    entries = [e for e in world.time_entries if e.project_key == project.key]

    summary = (await connector.project_summaries(first, last))[project.time_project_id]
    # Approval and billing may have moved since seeding; read them as they are now.
    live: list[TimeEntry] = []
    cursor: str | None = None
    while True:
        page = await connector.list(
            "time_entry",
            {"project_id": project.time_project_id, "from": first, "to": last},
            page_size=2000,
            cursor=cursor,
        )
        live.extend(r for r in page.items if isinstance(r, TimeEntry))
        cursor = page.next_cursor
        if cursor is None:
            break

    assert math.isclose(summary.total_hours, sum(e.hours for e in entries))
    assert math.isclose(summary.billable_hours, sum(e.hours for e in entries if e.billable))
    assert summary.approved_hours is not None
    assert math.isclose(
        summary.approved_hours,
        sum(e.hours for e in live if e.status in ("APPROVED", "INVOICED")),
    )
    assert math.isclose(
        summary.uninvoiced_hours,
        sum(e.hours for e in live if e.billable and e.status != "INVOICED"),
    )
    assert summary.currency == project.currency


async def test_the_team_report_matches_a_persons_approved_entries(
    connector: TimeConnector, world: World
) -> None:
    first, last = world.today - dt.timedelta(days=30), world.today
    person = Counter(e.person_key for e in world.time_entries if e.date >= first).most_common(1)
    user_id = world.people[person[0][0]].time_user_id

    hours = await connector.approved_billable_hours(first, last)
    # Approval and billing may have moved since seeding; read them as they are now.
    page = await connector.list(
        "time_entry", {"user_id": user_id, "from": first, "to": last}, page_size=2000
    )
    live = [e for e in page.items if isinstance(e, TimeEntry)]

    assert page.next_cursor is None
    assert hours is not None
    assert math.isclose(
        hours[user_id],
        sum(e.hours for e in live if e.billable and e.status in ("APPROVED", "INVOICED")),
        abs_tol=0.02,
    )

"""Reading the PSA over real HTTP: batches of 200, pages, comma-list filters, refusals."""

from __future__ import annotations

import math
from collections import Counter

import httpx
import pytest

from gateway.settings import Settings
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from sources.config import Credentials, RetryPolicy
from sources.errors import RateLimited, SourceRejected
from sources.psa.client import UNDATED_RATE_LIMIT_WAIT_S
from sources.psa.connector import PsaConnector
from sources.records import Milestone, PsaUser

from .conftest import make_psa

STORIES = "GET /api/v1/stories.json"
WORKSPACES = "GET /api/v1/workspaces.json"


async def test_500_milestones_by_id_cost_three_requests(psa: PsaConnector, world, requests_since):
    ids = [m.psa_id for m in world.milestones[:500]]
    spent = requests_since()

    records = await psa.get_many("milestone", ids)

    assert [r.id if r else None for r in records] == ids
    assert spent(STORIES) == math.ceil(500 / 200) == 3


async def test_milestones_match_the_world(psa: PsaConnector, world: World):
    wanted = world.milestones[:50]

    records = await psa.get_many("milestone", [m.psa_id for m in wanted])

    for truth, record in zip(wanted, records, strict=True):
        project = world.projects[truth.project_key]
        assert isinstance(record, Milestone)
        assert (record.project_id, record.status, record.amount, record.currency) == (
            project.psa_id,
            truth.status,
            truth.amount,
            project.currency,
        )


async def test_paging_through_projects_returns_each_once(psa: PsaConnector, world, requests_since):
    spent = requests_since()
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await psa.list("project", page_size=100, cursor=cursor)
        seen += [r.id for r in page.items]
        assert page.total is not None
        assert page.total >= len(world.projects)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert len(seen) == len(set(seen))
    assert set(seen) >= {p.psa_id for p in world.projects}
    assert spent(WORKSPACES) == math.ceil(len(seen) / 100)


@pytest.mark.parametrize("n_projects", [pytest.param(200, id="200"), pytest.param(450, id="450")])
async def test_milestones_of_many_projects_cost_one_request_per_page_per_200_projects(
    psa: PsaConnector, world: World, requests_since, n_projects: int
):
    projects = world.projects[:n_projects]
    expected = Counter(world.projects[m.project_key].psa_id for m in world.milestones)
    spent = requests_since()
    seen: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        page = await psa.list(
            "milestone", {"project_id": [p.psa_id for p in projects]}, page_size=200, cursor=cursor
        )
        pages += 1
        seen += [r.id for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break

    chunk_sizes = [
        sum(expected[p.psa_id] for p in projects[i : i + 200]) for i in range(0, n_projects, 200)
    ]
    assert len(seen) == len(set(seen)) == sum(chunk_sizes)
    assert spent(STORIES) == pages == sum(max(1, math.ceil(n / 200)) for n in chunk_sizes)


async def test_assignments_of_a_person_come_from_one_filter(psa: PsaConnector, world: World):
    person = world.people[0]
    expected = {a.psa_id for a in world.assignments if a.person_key == person.key}

    page = await psa.list("assignment", {"user_id": person.psa_user_id}, page_size=200)

    assert {r.id for r in page.items} == expected


async def test_users_carry_the_hcm_worker_id(psa: PsaConnector, world: World):
    people = world.people[:5]
    users = await psa.get_many("user", [p.psa_user_id for p in people])
    assert [u.employee_number if isinstance(u, PsaUser) else None for u in users] == [
        p.hcm_id for p in people
    ]


def test_a_bad_token_gets_401_in_kantatas_error_shape(psa_url: str):
    response = httpx.get(
        f"{psa_url}/api/v1/workspaces.json", headers={"Authorization": "Bearer not-the-token"}
    )

    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"type": "authentication", "message": "invalid or missing bearer token"}]
    }


async def test_a_bad_token_is_a_rejection_carrying_the_vendor_message(
    sandboxes: SandboxCluster, demo_settings: Settings
):
    connector = make_psa(sandboxes, demo_settings, credentials=Credentials(token="nope"))
    try:
        with pytest.raises(SourceRejected) as raised:
            await connector.list("project")
    finally:
        await connector.aclose()

    assert (raised.value.status, raised.value.vendor_code) == (401, "authentication")
    assert "invalid or missing bearer token" in raised.value.message


async def test_past_the_native_rate_limit_reads_are_rate_limited(
    sandboxes: SandboxCluster, demo_settings: Settings, native_rate_limit
):
    connector = make_psa(sandboxes, demo_settings, retry=RetryPolicy(attempts=1))
    native_rate_limit(2)
    try:
        for _ in range(2):
            await connector.list("user", page_size=1)
        with pytest.raises(RateLimited) as raised:
            await connector.list("user", page_size=1)
    finally:
        await connector.aclose()

    # Kantata documents no Retry-After: the connector waits out a rate window instead.
    assert raised.value.retry_after == UNDATED_RATE_LIMIT_WAIT_S
    assert raised.value.code == "RATE_LIMITED"


async def test_reads_past_the_native_rate_limit_wait_out_its_window(
    sandboxes: SandboxCluster, demo_settings: Settings, native_rate_limit
):
    connector = make_psa(sandboxes, demo_settings)
    native_rate_limit(3)
    try:
        pages = [await connector.list("user", page_size=1) for _ in range(5)]
    finally:
        await connector.aclose()

    assert all(page.items for page in pages)  # the fourth waited a second, then went on


async def test_a_rate_limit_with_retry_after_is_waited_out(
    sandboxes: SandboxCluster, demo_settings: Settings, world: World, faults
):
    connector = make_psa(sandboxes, demo_settings)
    faults(rate_limit_per_s=2)
    try:
        for project in world.projects[:4]:
            (record,) = await connector.get_many("project", [project.psa_id])
            assert record is not None
    finally:
        await connector.aclose()

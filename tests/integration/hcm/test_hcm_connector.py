"""The HCM connector against the Workday-shaped sandbox over real HTTP.

Request costs are read from the sandbox's own counters (`/_sandbox/stats`); token
exchanges are counted apart from data reads.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from gateway.settings import Settings
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from sources.errors import SourceRejected
from sources.hcm.connector import HcmConnector
from sources.hcm.errors import TokenRejectedError
from tests.conftest import source_settings


def _routes(sandboxes: SandboxCluster) -> Counter[str]:
    stats = httpx.get(f"{sandboxes['hcm'].url}/_sandbox/stats").json()
    return Counter(stats["routes"])


class Meter:
    """Requests the HCM sandbox served since the meter was made or last reset."""

    def __init__(self, sandboxes: SandboxCluster) -> None:
        self._sandboxes = sandboxes
        self.reset()

    def reset(self) -> None:
        self._start = _routes(self._sandboxes)

    def _spent(self) -> Counter[str]:
        return _routes(self._sandboxes) - self._start

    @property
    def data(self) -> int:
        return sum(n for route, n in self._spent().items() if "token" not in route)

    @property
    def tokens(self) -> int:
        return sum(n for route, n in self._spent().items() if "token" in route)


@pytest.fixture
def meter(sandboxes: SandboxCluster) -> Meter:
    return Meter(sandboxes)


def _connector(demo: Settings, sandboxes: SandboxCluster, **overrides: object) -> HcmConnector:
    return HcmConnector(source_settings(demo, sandboxes, "hcm", **overrides))


@pytest.fixture
async def connector(
    demo_settings: Settings, sandboxes: SandboxCluster
) -> AsyncIterator[HcmConnector]:
    connector = _connector(demo_settings, sandboxes)
    async with connector:
        yield connector


@pytest.fixture
def token_admin(sandboxes: SandboxCluster) -> Iterator[str]:
    """The sandbox's token admin route; its default lifetime is restored afterwards."""
    url = f"{sandboxes['hcm'].url}/_sandbox/tokens"
    default = httpx.get(url).json()["access_token_lifetime_s"]
    try:
        yield url
    finally:
        httpx.post(url, json={"access_token_lifetime_s": default})


def _ids(world: World) -> list[str]:
    return [person.hcm_id for person in world.people]


# --- auth --------------------------------------------------------------------------


async def test_an_expiring_token_is_replaced_before_it_is_refused(
    connector: HcmConnector, token_admin: str, world: World, meter: Meter
) -> None:
    httpx.post(token_admin, json={"access_token_lifetime_s": 1})
    await connector.get_many("worker", _ids(world)[:1])

    await asyncio.sleep(1.0)  # the token's lifetime, less its margin, has passed
    [worker] = await connector.get_many("worker", _ids(world)[1:2])

    assert worker is not None
    assert meter.tokens == 2
    assert meter.data == 2  # no request was spent on an expired token


async def test_a_refused_token_is_refreshed_once_and_the_call_repeated(
    connector: HcmConnector, token_admin: str, world: World, meter: Meter
) -> None:
    await connector.get_many("worker", _ids(world)[:1])
    httpx.delete(token_admin)  # the vendor revokes every access token

    [worker] = await connector.get_many("worker", _ids(world)[1:2])

    assert worker is not None
    assert meter.tokens == 2
    assert meter.data == 3  # the first read, the refused one, and its repeat


async def test_a_bad_access_token_gets_workdays_401(sandboxes: SandboxCluster) -> None:
    answer = httpx.get(
        f"{sandboxes['hcm'].url}/ccx/api/staffing/v6/psgraph_demo/workers",
        headers={"Authorization": "Bearer not-a-token"},
    )

    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid or expired access token", "code": "INVALID_AUTH"}


async def test_a_bad_refresh_token_is_the_vendors_rejection(
    demo_settings: Settings, sandboxes: SandboxCluster, world: World, meter: Meter
) -> None:
    credentials = {"token": "not-the-refresh-token", "account_id": "psgraph_demo"}
    async with _connector(demo_settings, sandboxes, credentials=credentials) as connector:
        with pytest.raises(TokenRejectedError) as caught:
            await connector.get_many("worker", _ids(world)[:3])

    assert (caught.value.status, caught.value.vendor_code) == (400, "invalid_grant")
    assert meter.data == 0


# --- reading by id -----------------------------------------------------------------


async def test_reading_500_ids_stays_within_the_documented_bound(
    connector: HcmConnector, world: World, meter: Meter
) -> None:
    ids = _ids(world)[:500]

    records = await connector.get_many("worker", ids)

    assert [r.id if r else None for r in records] == ids
    assert 1 <= meter.data <= connector.request_bound(500, len(world.people))
    assert meter.tokens <= 1


async def test_reading_5_ids_costs_5_requests(
    connector: HcmConnector, world: World, meter: Meter
) -> None:
    ids = _ids(world)[100:600:100]

    records = await connector.get_many("worker", ids)

    assert [r.id if r else None for r in records] == ids
    assert meter.data == 5


async def test_a_second_read_within_the_ttl_costs_nothing(
    connector: HcmConnector, world: World, meter: Meter
) -> None:
    await connector.get_many("worker", _ids(world)[:500])
    meter.reset()

    records = await connector.get_many("worker", _ids(world)[100:])

    assert all(records)
    assert meter.data == 0
    assert meter.tokens == 0


# --- listing -----------------------------------------------------------------------


async def test_paging_returns_every_worker_exactly_once(
    connector: HcmConnector, world: World
) -> None:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await connector.list("worker", page_size=100, cursor=cursor)
        assert page.total == len(world.people)
        seen.extend(record.id for record in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert sorted(seen) == sorted(_ids(world))


async def test_a_page_of_101_is_refused_by_workday(connector: HcmConnector) -> None:
    with pytest.raises(SourceRejected) as caught:
        await connector.list("worker", page_size=101)

    assert (caught.value.status, caught.value.vendor_code) == (400, "INVALID_PARAMETER")
    assert "limit must be between 1 and 100" in caught.value.message


async def test_practice_and_skill_filters_match_the_world(
    connector: HcmConnector, world: World
) -> None:
    person = world.people[42]
    expected = {
        p.hcm_id
        for p in world.people
        if p.practice == person.practice and person.skills[0] in p.skills
    }

    page = await connector.list(
        "worker", {"practice": person.practice, "skill": person.skills[0]}, page_size=1000
    )

    assert {r.id for r in page.items} == expected
    assert page.total == len(expected)


# --- changes -----------------------------------------------------------------------


async def test_changes_after_a_touch_are_exactly_the_touched_workers(
    connector: HcmConnector, sandboxes: SandboxCluster, world: World
) -> None:
    start = await connector.changes("worker", None)
    touched = _ids(world)[20:23]

    answer = httpx.post(
        f"{sandboxes['hcm'].url}/_sandbox/touch", json={"entity": "worker", "ids": touched}
    )
    after = await connector.changes("worker", start.cursor)
    quiet = await connector.changes("worker", after.cursor)

    assert answer.json() == {"touched": 3}
    assert sorted(r.id for r in after.records) == sorted(touched)
    assert after.deleted_ids == []
    assert quiet.records == []

"""The connector against the sandbox in-process: request costs, caching, paging, changes.

The firm here has 250 workers, so a full read is three pages of 100; the connector's
concurrency is 4.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest

from sandboxes.hcm.server import HcmSandbox
from sources.errors import SourceDataError, SourceRejected, SourceUnavailable
from sources.hcm.connector import HcmConnector
from sources.records import Worker
from tests.unit.hcm.conftest import (
    FakeClock,
    data_requests,
    make_person,
    make_world,
    settings,
    token_requests,
)


def wid(key: int) -> str:
    return f"{key:032x}"


def wids(keys: range | list[int]) -> list[str]:
    return [wid(k) for k in keys]


# --- reading by id -----------------------------------------------------------------


async def test_workers_come_back_aligned_with_the_ids_asked_for(
    connector: HcmConnector,
) -> None:
    asked = [wid(7), wid(3), "f" * 32, wid(7), ""]

    records = await connector.get_many("worker", asked)

    assert [r.id if r else None for r in records] == [wid(7), wid(3), None, wid(7), None]
    worker = records[0]
    assert isinstance(worker, Worker)
    assert worker.cost_rate == Decimal("87.50")
    assert worker.url == f"http://hcm.test/acme_tenant/d/worker/{wid(7)}"


async def test_a_few_ids_fan_out_one_request_each(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    await connector.get_many("worker", wids(range(3)))

    assert data_requests(sandbox) == 3
    assert token_requests(sandbox) == 1


async def test_many_ids_read_the_population_a_page_at_a_time(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    ids = wids(range(100, 250))

    records = await connector.get_many("worker", ids)

    assert [r.id for r in records if r] == ids
    assert data_requests(sandbox) == 3 == connector.request_bound(len(ids), 250)


async def test_once_the_population_is_known_the_cheaper_way_is_taken(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    await connector.list("worker", page_size=1)  # learns the total: 250, three pages
    sandbox.runtime.counts.clear()

    await connector.get_many("worker", wids([10, 20]))
    assert data_requests(sandbox) == 2  # fewer ids than pages: fan out

    await connector.get_many("worker", wids([10, 120, 220]))
    assert data_requests(sandbox) == 2 + 3  # as many ids as pages: the snapshot


class FirstPageLast(httpx.AsyncBaseTransport):
    """Answers the first page of `/workers` only once a later page has been asked for: a
    reader that waited for the first page before asking for the rest would never finish."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.later_asked = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/workers"):
            if request.url.params.get("offset") == "0":
                await self.later_asked.wait()
            else:
                self.later_asked.set()
        return await self.inner.handle_async_request(request)


async def test_once_the_population_is_known_every_page_is_asked_for_at_once(
    sandbox: HcmSandbox,
) -> None:
    transport = FirstPageLast(httpx.ASGITransport(app=sandbox.app()))
    async with HcmConnector(settings(), transport=transport) as connector:
        await connector.list("worker", page_size=1, cursor="100")  # learns: 250
        sandbox.runtime.counts.clear()
        transport.later_asked.clear()

        async with asyncio.timeout(5):
            records = await connector.get_many("worker", wids(range(250)))

    assert all(records)
    assert data_requests(sandbox) == 3


async def test_a_tenant_grown_past_the_known_population_is_read_whole(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    await connector.list("worker", page_size=1)  # learns: 250, three pages
    template = sandbox.workers[wid(9)]
    for n in range(60):  # now 310: a fourth page
        sandbox.workers[f"hire-{n:02d}"] = {**template, "id": f"hire-{n:02d}"}

    records = await connector.get_many("worker", [*wids(range(0, 250, 10)), "hire-59"])

    assert all(records)


async def test_a_worker_read_again_shows_its_change_and_an_unchanged_one_is_reused(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    before = await connector.get_many("worker", wids([1, 2]))
    sandbox.workers[wid(2)] = {**sandbox.workers[wid(2)], "descriptor": "Renamed Person"}

    after = await connector.get_many("worker", wids([1, 2]))

    assert isinstance(after[1], Worker)
    assert after[1].name == "Renamed Person"
    assert after[0] is before[0]


async def test_a_first_page_that_holds_most_ids_switches_to_fan_out_for_the_rest(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    ids = wids([1, 2, 3, 4, 240])  # more than the concurrency, population unknown

    records = await connector.get_many("worker", ids)

    assert [r.id for r in records if r] == ids
    assert data_requests(sandbox) == 2  # page one, then the one id it lacked


@pytest.mark.parametrize(
    ("population", "n_ids"),
    [
        pytest.param(250, 5, id="few-ids"),
        pytest.param(250, 250, id="everyone"),
        pytest.param(1000, 5, id="large-tenant-few-ids"),
        pytest.param(1000, 40, id="large-tenant-some-ids"),
        pytest.param(60, 30, id="one-page-tenant"),
    ],
)
async def test_a_read_costs_at_most_the_bound_once_the_population_is_known(
    population: int, n_ids: int
) -> None:
    sandbox = HcmSandbox(make_world(population), token="hcm-refresh-secret", tenant="acme_tenant")
    transport = httpx.ASGITransport(app=sandbox.app())
    connector = HcmConnector(settings(), transport=transport)
    async with connector:
        await connector.list("worker", page_size=1)
        sandbox.runtime.counts.clear()
        step = max(1, population // n_ids)
        ids = wids(range(0, population, step))[:n_ids]

        records = await connector.get_many("worker", ids)

    assert all(records)
    assert data_requests(sandbox) <= connector.request_bound(n_ids, population)


async def test_reads_within_the_ttl_cost_nothing(
    connector: HcmConnector, sandbox: HcmSandbox, clock: FakeClock
) -> None:
    await connector.get_many("worker", wids(range(50, 250)))
    spent = data_requests(sandbox)

    clock.advance(899)
    again = await connector.get_many("worker", wids(range(0, 250, 2)))

    assert data_requests(sandbox) == spent
    assert all(again)

    clock.advance(1)
    await connector.get_many("worker", wids(range(50, 250)))
    assert data_requests(sandbox) == spent + 3


async def test_concurrent_reads_share_one_snapshot(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    await asyncio.gather(*(connector.get_many("worker", wids(range(k, 250, 3))) for k in range(3)))

    assert data_requests(sandbox) == 3


async def test_a_failing_fan_out_raises_the_source_error(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    await connector.get_many("worker", [wid(1)])  # token in hand
    sandbox.runtime.faults.outage = True

    with pytest.raises(SourceUnavailable):
        await connector.get_many("worker", wids(range(3)))


async def test_a_garbled_answer_is_a_data_error(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    sandbox.runtime.faults.garbage = True

    with pytest.raises(SourceDataError):
        await connector.get_many("worker", wids(range(3)))


class WorkersPageAnswers(httpx.AsyncBaseTransport):
    """The sandbox, except that the workers listing answers `content`."""

    def __init__(self, sandbox: HcmSandbox, content: bytes) -> None:
        self._sandbox = httpx.ASGITransport(app=sandbox.app())
        self._content = content

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/workers"):
            return httpx.Response(200, content=self._content)
        return await self._sandbox.handle_async_request(request)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        pytest.param(b"[]", "without a data list", id="a-list"),
        pytest.param(b'{"data": {}, "total": 1}', "without a data list", id="data-not-a-list"),
        pytest.param(b'{"data": [], "total": "1"}', "without a data list", id="total-text"),
        pytest.param(b'{"data": [5], "total": 1}', "not a worker", id="worker-not-an-object"),
        pytest.param(b'{"data": [{"id": 1}], "total": 1}', "not a worker", id="id-not-text"),
        pytest.param(b'{"data": [', "malformed JSON", id="cut-short"),
    ],
)
async def test_a_workers_page_that_is_not_workdays_is_a_data_error_saying_what(
    sandbox: HcmSandbox, clock: FakeClock, content: bytes, says: str
) -> None:
    transport = WorkersPageAnswers(sandbox, content)
    async with HcmConnector(settings(), transport=transport, clock=clock) as connector:
        with pytest.raises(SourceDataError, match=says):
            await connector.get_many("worker", wids(range(8)))


async def test_an_unknown_entity_is_a_caller_error(connector: HcmConnector) -> None:
    with pytest.raises(ValueError, match="no entity 'job'"):
        await connector.get_many("job", ["1"])


# --- credentials -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "status", "code"),
    [
        pytest.param(
            {"token": "wrong", "account_id": "acme_tenant"}, 400, "invalid_grant", id="bad-token"
        ),
        pytest.param(
            {"token": "hcm-refresh-secret", "account_id": "elsewhere"},
            404,
            "INVALID_TENANT",
            id="unknown-tenant",
        ),
    ],
)
async def test_bad_credentials_are_the_vendors_rejection(
    sandbox: HcmSandbox, credentials: dict[str, str], status: int, code: str
) -> None:
    transport = httpx.ASGITransport(app=sandbox.app())
    async with HcmConnector(settings(credentials=credentials), transport=transport) as connector:
        with pytest.raises(SourceRejected) as caught:
            await connector.get_many("worker", [wid(1)])

    assert (caught.value.status, caught.value.vendor_code) == (status, code)
    assert data_requests(sandbox) == 0


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param({"account_id": "acme_tenant"}, id="no-refresh-token"),
        pytest.param({"token": "hcm-refresh-secret"}, id="no-tenant"),
    ],
)
def test_credentials_are_required(credentials: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="credentials"):
        HcmConnector(settings(credentials=credentials))


# --- listing -----------------------------------------------------------------------


async def test_paging_returns_every_worker_exactly_once(connector: HcmConnector) -> None:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await connector.list("worker", page_size=100, cursor=cursor)
        assert page.total == 250
        seen.extend(record.id for record in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == wids(range(250))


async def test_a_page_names_the_offsets_of_the_pages_after_it(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    first = await connector.list("worker", page_size=100)
    rest = await asyncio.gather(
        *(connector.list("worker", page_size=100, cursor=c) for c in first.following)
    )

    assert list(first.following) == ["100", "200"]
    assert [r.id for page in (first, *rest) for r in page.items] == wids(range(250))
    assert [page.following for page in rest][-1] == ()
    assert data_requests(sandbox) == 3


def test_the_offsets_after_a_page_are_named_before_it_is_read(connector: HcmConnector) -> None:
    assert connector.pages_after("worker", {}, None, page_size=100, count=2) == ["100", "200"]
    assert connector.pages_after("worker", {}, "50", page_size=20, count=1) == ["70"]


async def test_search_is_workdays_own_filter(connector: HcmConnector, sandbox: HcmSandbox) -> None:
    page = await connector.list("worker", {"search": "Person00"}, page_size=5)

    assert [r.id for r in page.items] == wids(range(5))
    assert (page.total, page.next_cursor) == (10, "5")
    assert data_requests(sandbox) == 1


async def test_practice_and_skill_filter_the_snapshot(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    wanted = {"practice": "cloud", "skill": "python", "search": "person"}
    expected = [
        wid(k)
        for k in range(250)
        if make_person(k).practice == "Cloud" and "Python" in make_person(k).skills
    ]

    first = await connector.list("worker", wanted, page_size=10)
    rest = await connector.list("worker", wanted, page_size=100, cursor=first.next_cursor)

    assert [r.id for r in [*first.items, *rest.items]] == expected
    assert first.total == rest.total == len(expected)
    assert rest.next_cursor is None
    assert data_requests(sandbox) == 3  # one snapshot served both pages


async def test_a_page_over_workdays_limit_is_refused_by_workday(
    connector: HcmConnector,
) -> None:
    with pytest.raises(SourceRejected) as caught:
        await connector.list("worker", page_size=101)

    assert (caught.value.status, caught.value.vendor_code) == (400, "INVALID_PARAMETER")


@pytest.mark.parametrize(
    ("filters", "cursor", "message"),
    [
        pytest.param({"region": "EMEA"}, None, "cannot be filtered by region", id="unknown-filter"),
        pytest.param({"skill": ["Python"]}, None, "takes a string", id="filter-not-a-string"),
        pytest.param({}, "v1.abc", "not an HCM page cursor", id="change-cursor-as-page"),
        pytest.param({}, "-5", "not an HCM page cursor", id="negative-offset"),
    ],
)
async def test_bad_list_arguments_are_caller_errors(
    connector: HcmConnector, filters: dict[str, object], cursor: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await connector.list("worker", filters, cursor=cursor)


# --- changes -----------------------------------------------------------------------


async def test_a_change_scan_starts_empty_with_a_cursor(connector: HcmConnector) -> None:
    start = await connector.changes("worker", None)

    assert start.records == []
    assert start.deleted_ids == []
    assert start.cursor.startswith("v1.")


async def test_touched_workers_are_exactly_the_changes(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    start = await connector.changes("worker", None)
    sandbox.touch("worker", wids([5, 6, 7]))

    after = await connector.changes("worker", start.cursor)
    quiet = await connector.changes("worker", after.cursor)

    assert sorted(r.id for r in after.records) == wids([5, 6, 7])
    assert quiet.records == []


async def test_new_and_departed_workers_are_changes_too(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    start = await connector.changes("worker", None)
    departed = sandbox.workers.pop(wid(9))
    sandbox.workers["new-hire"] = {**departed, "id": "new-hire", "descriptor": "New Hire"}

    after = await connector.changes("worker", start.cursor)

    assert [r.id for r in after.records] == ["new-hire"]
    assert after.deleted_ids == [wid(9)]


async def test_a_change_scan_reads_live_even_within_the_ttl(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    start = await connector.changes("worker", None)
    sandbox.touch("worker", [wid(1)])

    after = await connector.changes("worker", start.cursor)
    assert [r.id for r in after.records] == [wid(1)]

    # and it refreshed the cache: reads see the touch without another request
    spent = data_requests(sandbox)
    [worker] = await connector.get_many("worker", [wid(1)])
    assert worker == after.records[0]
    assert data_requests(sandbox) == spent


async def test_a_foreign_change_cursor_costs_no_request(
    connector: HcmConnector, sandbox: HcmSandbox
) -> None:
    with pytest.raises(ValueError, match="HCM change cursor"):
        await connector.changes("worker", "250")

    assert data_requests(sandbox) == 0

"""Paging a SuiteQL answer through the sandbox: every row once, each page as the ledger
stands when it is asked for, and no query answered with another's rows."""

from __future__ import annotations

from typing import Any

import httpx

from sandboxes.erp.server import ErpSandbox
from sandboxes.world.model import World
from tests.unit.erp.conftest import BASE_URL
from tests.unit.erp.test_sandbox import active_job, new_timebill, suiteql

TIMEBILLS = "SELECT id, job, hours, invoice FROM timebill ORDER BY id"


async def every_page(
    vendor: httpx.AsyncClient, q: str, limit: int
) -> tuple[list[list[dict[str, Any]]], list[int]]:
    """The items of each page, following `hasMore`, and each page's totalResults."""
    pages, totals, offset = [], [], 0
    while True:
        body = await suiteql(vendor, q, limit=limit, offset=offset)
        pages.append(body["items"])
        totals.append(body["totalResults"])
        if not body["hasMore"]:
            return pages, totals
        offset += limit


async def whole(vendor: httpx.AsyncClient, q: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await suiteql(vendor, q, limit=1000))["items"]
    return items


async def test_the_same_query_pages_through_every_row_exactly_once(
    vendor: httpx.AsyncClient, sandbox: ErpSandbox
) -> None:
    q = (
        "SELECT billingschedule, line, amount FROM billingschedulerecurrence "
        "ORDER BY billingschedule, line"
    )
    expected = await whole(vendor, q)
    pages, totals = await every_page(vendor, q, limit=7)
    seen = [item for page in pages for item in page]
    assert seen == expected
    keys = [(item["billingschedule"], item["line"]) for item in seen]
    assert len(set(keys)) == len(keys) == totals[0]
    assert set(totals) == {len(expected)}
    assert all(len(page) == 7 for page in pages[:-1])
    assert len(sandbox.answers) == 1  # kept for its pages, not evaluated for each


async def test_pages_in_any_order_and_size_match_the_whole_answer(
    vendor: httpx.AsyncClient,
) -> None:
    q = "SELECT id, hours FROM timebill ORDER BY hours DESC, id"
    expected = (await suiteql(vendor, q, limit=1000, offset=2000))["items"]
    for offset in (2900, 2000, 2450, 2990):
        body = await suiteql(vendor, q, limit=10, offset=offset)
        assert body["items"] == expected[offset - 2000 : offset - 2000 + 10]


async def test_pages_after_a_write_reflect_the_write(
    vendor: httpx.AsyncClient, small_world: World
) -> None:
    job_id, _ = active_job(small_world)
    first = await suiteql(vendor, TIMEBILLS, limit=100)
    total = first["totalResults"]
    last_offset = (total - 1) // 100 * 100
    on_last_page = (await suiteql(vendor, TIMEBILLS, limit=100, offset=last_offset))["items"]

    created = await new_timebill(vendor, job_id, "paging-after-write", hours=3)
    changed = next(item["id"] for item in on_last_page if "invoice" not in item)  # unbilled
    response = await vendor.patch(f"/record/v1/timebill/{changed}", json={"hours": 7.5})
    assert response.status_code == 204, response.text

    last = await suiteql(vendor, TIMEBILLS, limit=100, offset=(total // 100) * 100)
    assert last["totalResults"] == total + 1
    assert last["items"][-1]["id"] == created
    again = (await suiteql(vendor, TIMEBILLS, limit=100, offset=last_offset))["items"]
    assert next(item for item in again if item["id"] == changed)["hours"] == "7.5"


async def test_a_delete_between_pages_moves_later_rows_up(
    vendor: httpx.AsyncClient, small_world: World
) -> None:
    job_id, _ = active_job(small_world)
    q = f"SELECT id FROM timebill WHERE job = {job_id} ORDER BY id"
    mine = [await new_timebill(vendor, job_id, f"paging-delete-{i}") for i in range(3)]
    before = await whole(vendor, q)
    second_page = (await suiteql(vendor, q, limit=2, offset=2))["items"]
    assert second_page == before[2:4]

    response = await vendor.delete(f"/record/v1/timebill/{mine[0]}")
    assert response.status_code == 204, response.text
    after = [item for item in before if item["id"] != mine[0]]
    body = await suiteql(vendor, q, limit=2, offset=len(before) - 2)
    assert body["totalResults"] == len(after)
    assert body["items"] == after[len(before) - 2 :]


async def test_a_touch_between_pages_reorders_a_change_scan(
    sandbox: ErpSandbox, vendor: httpx.AsyncClient, small_world: World
) -> None:
    q = "SELECT id, lastmodifieddate FROM invoice ORDER BY lastmodifieddate, id"
    oldest = (await suiteql(vendor, q, limit=100))["items"]
    assert sandbox.touch("invoice", [oldest[0]["id"]]) == 1
    body = await suiteql(vendor, q, limit=100, offset=len(small_world.invoices) // 100 * 100)
    assert body["items"][-1]["id"] == oldest[0]["id"]


async def test_different_queries_do_not_share_answers(
    vendor: httpx.AsyncClient, sandbox: ErpSandbox
) -> None:
    counts = await whole(vendor, "SELECT job, COUNT(*) AS n FROM timebill GROUP BY job")
    jobs = [row["job"] for row in counts if int(row["n"]) > 10][:2]
    queries = [
        f"SELECT id, job FROM timebill WHERE job = {jobs[0]} ORDER BY id",
        f"SELECT id, job FROM timebill WHERE job = {jobs[1]} ORDER BY id",
        f"SELECT id, job FROM timebill WHERE job = {jobs[0]} ORDER BY id DESC",
        f"SELECT id, hours FROM timebill WHERE job = {jobs[0]} ORDER BY id",
    ]
    expected = [await whole(vendor, q) for q in queries]
    assert all(len(rows) > 10 for rows in expected)
    firsts = [(await suiteql(vendor, q, limit=5))["items"] for q in queries]  # all kept
    assert len(sandbox.answers) == len(queries)
    for q, first, rows in zip(queries, firsts, expected, strict=True):
        second = (await suiteql(vendor, q, limit=5, offset=5))["items"]
        assert first + second == rows[:10]


async def test_spacing_and_case_do_not_change_an_answer(vendor: httpx.AsyncClient) -> None:
    plain = "SELECT id, hours FROM timebill WHERE hours > 4 ORDER BY id"
    loose = "select  ID,hours\n from TimeBill where HOURS>4   order by id;"
    first = (await suiteql(vendor, plain, limit=50))["items"]
    second = (await suiteql(vendor, loose, limit=50, offset=50))["items"]
    assert first + second == (await whole(vendor, plain))[:100]


async def test_text_literals_keep_their_case_and_spacing(
    vendor: httpx.AsyncClient, small_world: World
) -> None:
    name = small_world.clients[0].name
    exact = f"SELECT id FROM customer WHERE companyname = '{name}' ORDER BY id"
    shouted = f"SELECT id FROM customer WHERE companyname = '{name.upper()}' ORDER BY id"
    spaced = f"SELECT id FROM customer WHERE companyname = '{name} ' ORDER BY id"
    assert len((await suiteql(vendor, exact, limit=1))["items"]) == 1
    assert (await suiteql(vendor, shouted, limit=1))["items"] == []
    assert (await suiteql(vendor, spaced, limit=1))["items"] == []


async def test_a_reset_forgets_kept_answers(
    sandbox: ErpSandbox, vendor: httpx.AsyncClient, small_world: World
) -> None:
    job_id, _ = active_job(small_world)
    await new_timebill(vendor, job_id, "paging-before-reset")
    total = (await suiteql(vendor, TIMEBILLS, limit=10))["totalResults"]
    assert (await vendor.post(f"{BASE_URL}/_sandbox/reset")).status_code == 200
    body = await suiteql(vendor, TIMEBILLS, limit=10, offset=10)
    assert body["totalResults"] == total - 1

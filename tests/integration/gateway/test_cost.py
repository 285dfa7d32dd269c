"""A query's upstream cost depends on its shape, never on how many rows it returns."""

from __future__ import annotations

import math

from tests.integration.gateway.conftest import request_counts, served_since

BOARD = """
query($n: Int!) { projects(first: $n) { edges { node {
  code client { name } manager { name } milestones { name } invoices(first: 5) { totalCount }
  health { budgetBurn hoursUnbilled risks }
} } } }
"""


def pages(n: int, size: int) -> int:
    return max(1, math.ceil(n / size))


async def cost(open_gateway, sandboxes, n: int) -> tuple[dict[str, dict[str, int]], set[str]]:
    async with open_gateway() as gateway:  # cold: its own cache and connectors
        before = request_counts(sandboxes)
        body = await gateway.query(BOARD, n=n)
        served = served_since(before, request_counts(sandboxes))
    assert "errors" not in body, body.get("errors")
    edges = body["data"]["projects"]["edges"]
    assert len(edges) == n
    return served, {edge["node"]["code"] for edge in edges}


def total(served: dict[str, dict[str, int]], *, without: str = "") -> int:
    return sum(sum(routes.values()) for name, routes in served.items() if name != without)


async def test_ten_rows_and_two_hundred_rows_cost_the_same_up_to_chunking(
    open_gateway, sandboxes, world
):
    small, _ = await cost(open_gateway, sandboxes, 10)
    large, codes = await cost(open_gateway, sandboxes, 200)

    # What only grows with the rows: pages of children (PSA 200 a page, ERP 1,000; the
    # ERP reads billing schedule lines with a query of their own, paged too).
    keys = {p.key for p in world.projects if p.code in codes}
    milestones = sum(1 for m in world.milestones if m.project_key in keys)
    invoices = sum(1 for i in world.invoices if i.project_key in keys)
    schedules = [s for s in world.billing_schedules if s.project_key in keys]
    lines = sum(len(s.lines) for s in schedules)
    chunking = (
        (pages(milestones, 200) - 1)
        + (pages(invoices, 1000) - 1)
        + (pages(len(schedules), 1000) - 1)
        + (pages(lines, 1000) - 1)
    )

    assert set(large) == set(small)
    for name in ("crm", "psa", "erp", "time"):
        assert set(large[name]) == set(small[name]), name  # the same reads...
    assert total(large, without="hcm") <= total(small, without="hcm") + chunking  # ...as often
    # HCM has no batch-by-id: its connector fans out or reads its 100-a-page snapshot,
    # whichever costs fewer requests, plus one token request.
    assert total({"hcm": large["hcm"]}) <= 1 + pages(len(world.people), 100)
    assert total(large) < 40  # 200 rows; a read per row would be thousands

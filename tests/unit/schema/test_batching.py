"""A query's upstream cost depends on its shape, never on how many rows it returns."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from tests.unit.resolvers.fakes import firm
from tests.unit.schema.conftest import Run, gateway_over

BOARD = """
query($n: Int!) { projects(first: $n) { edges { node {
  client { name } manager { name } milestones { name } invoices(first: 5) { totalCount }
  health { budgetBurn hoursUnbilled risks }
} } } }
"""


async def upstream_calls(
    n_projects: int, *, batch_limit: int, page: int
) -> Counter[tuple[str, str, str]]:
    sources = firm(n_projects)
    for connector in sources.connectors.values():
        connector.batch_limit = batch_limit  # type: ignore[misc]
        connector.max_page = page
    result = await Run(gateway_over(sources))(BOARD, {"n": n_projects})
    assert result.errors is None
    assert len(result.data["projects"]["edges"]) == n_projects
    return Counter((c.system.value, c.method, c.entity) for c in sources.log)


async def test_ten_rows_and_two_hundred_rows_cost_the_same_requests():
    small = await upstream_calls(10, batch_limit=1000, page=1000)
    large = await upstream_calls(200, batch_limit=1000, page=1000)

    # The one difference: 400 milestones fill two of PSA's 200-record pages.
    assert large - small == Counter({("PSA", "list", "milestone"): 1})
    assert small - large == Counter()
    assert max(small.values()) == 1  # one read per (source, entity, shape) of the query


async def test_beyond_the_vendor_limits_only_chunks_and_pages_are_added():
    small = await upstream_calls(10, batch_limit=50, page=200)
    large = await upstream_calls(200, batch_limit=50, page=200)

    assert set(small) == set(large)
    for read, count in large.items():
        # 200 parents in chunks of 50, each chunk's children paged at 200
        assert count <= math.ceil(200 / 50) * 2, read


@pytest.mark.parametrize("n", [1, 7, 60])
async def test_each_level_reads_each_source_once_whatever_n(n):
    calls = await upstream_calls(n, batch_limit=1000, page=1000)

    assert calls[("PSA", "list", "project")] == 1
    assert calls[("CRM", "get_many", "account")] == 1
    assert calls[("ERP", "list", "job")] == 1
    assert calls[("ERP", "scheduled_jobs", "billing_schedule")] == 1
    assert calls[("TIME", "project_summaries", "time_entry")] == 1

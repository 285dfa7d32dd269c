"""A list longer than one vendor page costs one round trip, not one per page, where the
vendor's page cursors can be named before the first page is read."""

from __future__ import annotations

from typing import Any

import pytest

from resolvers.upstream import UpstreamCall


async def page_calls(
    open_gateway: Any, query: str, entity: str
) -> tuple[dict[str, Any], list[UpstreamCall]]:
    calls: list[UpstreamCall] = []
    async with open_gateway() as gateway:
        gateway.app.state.gateway.upstream.add_listener(calls.append)
        body = await gateway.query(query)
    assert "errors" not in body, body.get("errors")
    return body, [c for c in calls if c.entity == entity and c.kind == "page"]


def side_by_side(calls: list[UpstreamCall]) -> bool:
    return max(c.started for c in calls) < min(c.ended for c in calls)


@pytest.mark.parametrize(
    ("field", "first", "entity", "population"),
    [("projects", 450, "project", "projects"), ("resources", 250, "worker", "people")],
    ids=["psa-200-a-page", "hcm-100-a-page"],
)
async def test_three_pages_are_asked_for_at_once(
    open_gateway, world, field, first, entity, population
):
    query = f"{{ {field}(first: {first}) {{ edges {{ node {{ id }} }} }} }}"

    body, pages = await page_calls(open_gateway, query, entity)

    assert len(body["data"][field]["edges"]) == min(first, len(getattr(world, population)))
    assert len(pages) == 3
    assert side_by_side(pages)

"""A list longer than one vendor page costs one round trip, not one per page, where the
vendor's page cursors can be named before the first page is read."""

from __future__ import annotations

from typing import Any

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


async def test_three_pages_of_projects_are_asked_for_at_once(open_gateway, world):
    body, pages = await page_calls(
        open_gateway, "{ projects(first: 450) { edges { node { code } } } }", "project"
    )

    assert len(body["data"]["projects"]["edges"]) == min(450, len(world.projects))
    assert len(pages) == 3  # Kantata gives 200 a page
    assert side_by_side(pages)


async def test_three_pages_of_people_are_asked_for_at_once(open_gateway, world):
    body, pages = await page_calls(
        open_gateway, "{ resources(first: 250) { edges { node { name } } } }", "worker"
    )

    assert len(body["data"]["resources"]["edges"]) == min(250, len(world.people))
    assert len(pages) == 3  # Workday gives 100 a page
    assert side_by_side(pages)

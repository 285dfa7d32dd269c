"""Subscriptions deliver only events about subjects the subscriber may read: a client's
portal user hears of its own projects' milestones and never of another client's, over
WebSocket and over SSE, while an admin on the same gateway hears of both."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from resolvers import ids
from sandboxes.harness.identity import Identity
from sandboxes.world.model import Milestone, World
from sources.psa.connector import PsaConnector
from sources.registry import make_connector
from tests.conftest import source_settings
from tests.e2e.events.conftest import GRAPHQL_TRANSPORT_WS, sse_subscribe, ws_subscribe

COMPLETED = """
subscription { events(types: ["MilestoneCompleted"], after: "0") { subjectId type } }
"""


def open_milestones_of_two_clients(world: World) -> tuple[Milestone, Milestone, str]:
    """An open milestone of client A's, one of client B's, and A's Client global id."""
    client_of = {p.key: p.client_key for p in world.projects}
    crm_id = {c.key: c.crm_id for c in world.clients}
    open_ = [m for m in world.milestones if m.status == "OPEN"]
    mine = open_[0]
    theirs = next(m for m in open_ if client_of[m.project_key] != client_of[mine.project_key])
    return mine, theirs, ids.encode("Client", crm_id[client_of[mine.project_key]])


def subjects(items: list[dict[str, Any]]) -> list[str]:
    return [
        item["data"]["events"]["subjectId"] if "data" in item else item["events"]["subjectId"]
        for item in items
    ]


@pytest.mark.parametrize("transport", [GRAPHQL_TRANSPORT_WS, "sse"])
async def test_a_client_subscriber_hears_only_of_its_own_projects(
    serve_gateway, demo_settings, sandboxes, world: World, restore_sandboxes, collect, transport
):
    restore_sandboxes("psa")
    mine, theirs, client = open_milestones_of_two_clients(world)
    headers = Identity.of(sandboxes, demo_settings).headers_for("client", client=client)
    psa = make_connector("psa", source_settings(demo_settings, sandboxes, "psa"))
    assert isinstance(psa, PsaConnector)
    mine_id, theirs_id = (
        ids.encode("Milestone", mine.psa_id),
        ids.encode("Milestone", theirs.psa_id),
    )

    async with serve_gateway(poll={"psa": {"milestone": 0.5}}) as gw:
        await gw.until_polling("PSA", "milestone")
        if transport == "sse":
            stream = sse_subscribe(gw.graphql, COMPLETED, headers=headers)
        else:
            stream = ws_subscribe(gw.ws, COMPLETED, headers=headers, protocol=transport)
        portal = collect(stream)
        admin = collect(gw.ws_subscribe(COMPLETED))

        await psa.complete_milestone(theirs.psa_id)
        await psa.complete_milestone(mine.psa_id)

        both = await admin.until_true(lambda seen: {mine_id, theirs_id} <= set(subjects(seen)))
        await portal.until(1)
        await asyncio.sleep(1.0)  # time for anything else to (wrongly) arrive

    assert {mine_id, theirs_id} <= set(subjects(both))
    assert subjects(portal.items) == [mine_id]
    await psa.aclose()

"""Subscribers over WebSocket and SSE see the firm move: a time approval made in the TIME
sandbox (found by polling), deals closed in the CRM (pushed by webhook), a project whose
milestone completes; and a subscriber that reconnects with `after` gets exactly what it
missed, then what comes next."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from resolvers import ids
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from sources.crm.connector import CrmConnector
from sources.psa.connector import PsaConnector
from sources.registry import make_connector
from sources.time.connector import TimeConnector
from tests.conftest import source_settings
from tests.e2e.events.conftest import (
    GRAPHQL_TRANSPORT_WS,
    LEGACY_GRAPHQL_WS,
    WAIT_S,
    EventsGateway,
    new_secret,
    signed_push,
)

pytestmark = pytest.mark.slow

EVENTS = """
subscription($types: [String!], $after: String, $subjectId: ID) {
  events(types: $types, after: $after, subjectId: $subjectId) {
    cursor type source subjectId data occurredAt
  }
}
"""
REPLAY = (
    "query($after: String, $types: [String!]) { events(after: $after, types: $types) { cursor } }"
)
SECRET_ENV = "PSGRAPH_E2E_CRM_WEBHOOK_SECRET"


def subscriber(gw: EventsGateway, transport: str, variables: dict[str, Any]) -> Any:
    if transport == "sse":
        stream = gw.sse_subscribe(EVENTS, variables)
    else:
        stream = gw.ws_subscribe(EVENTS, variables, protocol=transport)

    async def events() -> Any:
        async for item in stream:
            yield item["events"] if "events" in item else _data(item)["events"]

    return events()


def _data(result: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in result, result["errors"]
    data: dict[str, Any] = result["data"]
    return data


TRANSPORTS = [
    pytest.param(GRAPHQL_TRANSPORT_WS, id="graphql-transport-ws"),
    pytest.param(LEGACY_GRAPHQL_WS, id="graphql-ws"),
    pytest.param("sse", id="sse"),
]


def open_deals(world: World, n: int, skip: int = 0) -> list[str]:
    deals = [
        o.crm_id
        for o in world.opportunities
        if o.stage in ("PROPOSAL", "NEGOTIATION") and o.project_key is None
    ]
    return deals[skip : skip + n]


@pytest.fixture
def crm(demo_settings, sandboxes: SandboxCluster) -> CrmConnector:
    connector = make_connector("crm", source_settings(demo_settings, sandboxes, "crm"))
    assert isinstance(connector, CrmConnector)
    return connector


@pytest.fixture
async def crm_pushes(
    serve_gateway: Callable[..., Any],
    sandboxes: SandboxCluster,
    restore_sandboxes: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
    crm: CrmConnector,
) -> Any:
    """A gateway that hears of CRM changes only by webhook, and the secret they are
    signed with; the CRM sandbox pushes to it."""
    restore_sandboxes("crm")
    secret = new_secret()
    monkeypatch.setenv(SECRET_ENV, secret)
    async with serve_gateway(webhook_secrets_env={"crm": SECRET_ENV}) as gw:
        async with httpx.AsyncClient() as http:
            target = {"url": f"{gw.url}/webhooks/crm", "secret": secret}
            response = await http.post(f"{sandboxes['crm'].url}/_sandbox/webhooks", json=target)
            response.raise_for_status()
        yield gw, secret
    await crm.aclose()


async def test_a_time_approval_made_in_the_time_sandbox_reaches_every_kind_of_subscriber(
    serve_gateway, demo_settings, sandboxes, world: World, restore_sandboxes, collect
):
    restore_sandboxes("time")
    submitted = [e.time_id for e in world.time_entries if e.status == "SUBMITTED"][:2]
    time = make_connector("time", source_settings(demo_settings, sandboxes, "time"))
    assert isinstance(time, TimeConnector)
    async with serve_gateway(poll={"time": {"time_entry": 0.5}}) as gw:
        await gw.until_polling("TIME", "time_entry")
        variables = {"types": ["TimeApproved"], "after": "0"}
        subscribers = [collect(subscriber(gw, t, variables)) for t in ("sse", *_ws())]

        for entry in submitted:  # approved directly in TIME, one after the other
            await time.approve([entry])

        for seen in subscribers:
            events = await seen.until(2)
            assert [e["subjectId"] for e in events] == [
                ids.encode("TimeEntry", entry) for entry in submitted
            ]
            assert {e["type"] for e in events} == {"TimeApproved"}
            assert [json.loads(e["data"])["to"] for e in events] == ["APPROVED", "APPROVED"]
            assert events[0]["source"] == "TIME"
            assert int(events[0]["cursor"]) < int(events[1]["cursor"])
    await time.aclose()


def _ws() -> tuple[str, str]:
    return (GRAPHQL_TRANSPORT_WS, LEGACY_GRAPHQL_WS)


async def test_deals_closed_in_the_crm_arrive_by_webhook_in_order_and_once(
    crm_pushes, crm: CrmConnector, world: World, collect
):
    gw, secret = crm_pushes
    deals = open_deals(world, 2)
    variables = {"types": ["OpportunityClosedWon"], "after": "0"}
    subscribers = [collect(subscriber(gw, t, variables)) for t in ("sse", *_ws())]

    for deal in deals:
        await crm.close_opportunity_won(deal)

    expected = [ids.encode("Opportunity", deal) for deal in deals]
    for seen in subscribers:
        events = await seen.until(2)
        assert [e["subjectId"] for e in events] == expected
        assert {e["source"] for e in events} == {"CRM"}

    # The same push delivered twice (a sender's retry) is stored once.
    native = json.loads((await subscribers[0].until(1))[0]["data"])["id"]
    payload = {"type": "opportunity.updated", "data": {"id": native, "changed_fields": []}}
    async with httpx.AsyncClient() as http:
        answers = [
            await http.post(f"{gw.url}/webhooks/crm", content=body, headers=headers)
            for body, headers in [signed_push(secret, payload, "msg_resent")] * 2
        ]
    assert [a.json()["duplicate"] for a in answers] == [False, True]
    replay = await gw.query(REPLAY, after="0", types=["OpportunityClosedWon"])
    assert len(replay["events"]) == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_subscriber_that_reconnects_with_after_gets_exactly_what_it_missed_then_live_ones(
    crm_pushes, crm: CrmConnector, world: World, collect, transport: str
):
    gw, _ = crm_pushes
    first, *missed, live = open_deals(world, 5)
    variables: dict[str, Any] = {"types": ["OpportunityClosedWon"], "after": "0"}

    before = collect(subscriber(gw, transport, variables))
    await crm.close_opportunity_won(first)
    [seen] = await before.until(1)
    await before.stop()  # disconnected

    for deal in missed:
        await crm.close_opportunity_won(deal)
    async with asyncio.timeout(WAIT_S):  # until the gateway has them all
        while len((await gw.query(REPLAY, after=seen["cursor"]))["events"]) < len(missed):
            await asyncio.sleep(0.1)

    again = collect(subscriber(gw, transport, {**variables, "after": seen["cursor"]}))
    caught_up = await again.until(len(missed))
    await crm.close_opportunity_won(live)
    everything = await again.until(len(missed) + 1)
    await asyncio.sleep(0.5)  # nothing else may follow

    natives = [json.loads(e["data"])["id"] for e in everything]
    assert len(again.items) == len(missed) + 1
    assert natives == [*missed, live]
    assert caught_up == everything[: len(missed)]
    cursors = [int(e["cursor"]) for e in everything]
    assert cursors == sorted(set(cursors))
    assert cursors[0] > int(seen["cursor"])


async def test_a_project_subscriber_sees_its_milestone_complete(
    serve_gateway, demo_settings, sandboxes, world: World, restore_sandboxes, collect
):
    restore_sandboxes("psa")
    milestone = next(m for m in world.milestones if m.status == "OPEN")
    project = next(p for p in world.projects if p.key == milestone.project_key)
    psa = make_connector("psa", source_settings(demo_settings, sandboxes, "psa"))
    assert isinstance(psa, PsaConnector)
    query = """
    subscription($id: ID!) { projectUpdated(id: $id) { id code milestones { id status } } }
    """
    project_id = ids.encode("Project", project.psa_id)
    async with serve_gateway(poll={"psa": {"milestone": 0.5}}) as gw:
        await gw.until_polling("PSA", "milestone")
        updates = collect(gw.ws_subscribe(query, {"id": project_id}))
        [now] = await updates.until(1)
        statuses = {m["id"]: m["status"] for m in now["projectUpdated"]["milestones"]}
        assert statuses[ids.encode("Milestone", milestone.psa_id)] == "OPEN"

        await psa.complete_milestone(milestone.psa_id)

        _, changed = await updates.until(2)
        statuses = {m["id"]: m["status"] for m in changed["projectUpdated"]["milestones"]}
        assert statuses[ids.encode("Milestone", milestone.psa_id)] == "COMPLETED"
        assert changed["projectUpdated"]["id"] == project_id
    await psa.aclose()


async def test_a_subscription_with_a_bad_cursor_is_refused_with_the_reason(serve_gateway):
    async with serve_gateway() as gw:
        async with httpx.AsyncClient(headers=gw.headers) as http:
            response = await http.post(
                gw.graphql,
                json={"query": EVENTS, "variables": {"after": "not-a-cursor"}},
                headers={"accept": "text/event-stream"},
            )
    frames = [line for line in response.text.splitlines() if line.startswith("data: {")]
    [error] = json.loads(frames[0][len("data: ") :])["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "not an event cursor" in error["message"]


async def test_graphql_over_sse_also_takes_get_and_refuses_what_cannot_run(serve_gateway):
    async with serve_gateway() as gw, httpx.AsyncClient(headers=gw.headers) as http:
        sse = {"accept": "text/event-stream"}
        query = await http.get(gw.graphql, params={"query": "{ events { cursor } }"}, headers=sse)
        invalid = await http.post(gw.graphql, json={"query": "{ nope }"}, headers=sse)
        mutation = await http.get(
            gw.graphql,
            params={"query": 'mutation { replayDeadLetter(id: "1") { id } }'},
            headers=sse,
        )

    assert query.headers["content-type"].startswith("text/event-stream")
    assert query.text.splitlines() == [
        "event: next",
        'data: {"data": {"events": []}}',
        "",
        "event: complete",
        "data:",
        "",
    ]
    assert invalid.status_code == 400
    assert "nope" in invalid.json()["errors"][0]["message"]
    assert mutation.status_code == 400
    assert mutation.json()["errors"][0]["message"] == "mutations cannot be sent with GET"

"""Deliveries that keep failing land in the dead-letter queue, are listed by a query and
replayed by a mutation."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from gateway.events.triggers import idempotency_key
from resolvers import ids
from sandboxes.world.model import World
from tests.e2e.events.conftest import (
    WAIT_S,
    EventsGateway,
    automations_on,
    new_secret,
    signed_push,
)

pytestmark = pytest.mark.slow

SECRET_ENV = "PSGRAPH_E2E_DEAD_LETTER_SECRET"
LETTERS = """
query($all: Boolean!) {
  deadLetters(includeReplayed: $all) {
    id kind error attempts replayedAt event { type subjectId }
  }
}
"""
REPLAY = "mutation($id: ID!) { replayDeadLetter(id: $id) { id replayedAt } }"


class FlakyStarter:
    """A workflow starter that fails until it is mended."""

    def __init__(self) -> None:
        self.broken = True
        self.calls: list[tuple[str, dict[str, Any], str, str]] = []

    async def __call__(
        self, kind: str, input: dict[str, Any], idempotency_key: str, principal: str
    ) -> None:
        self.calls.append((kind, input, idempotency_key, principal))
        if self.broken:
            raise ConnectionError("the workflow engine is unreachable")


async def post(gw: EventsGateway, query: str, **variables: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30, headers=gw.headers) as http:
        response = await http.post(gw.graphql, json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    return body


async def test_a_trigger_that_keeps_failing_is_dead_lettered_then_replayed(
    serve_gateway, world: World, monkeypatch: pytest.MonkeyPatch
):
    secret = new_secret()
    monkeypatch.setenv(SECRET_ENV, secret)
    starter = FlakyStarter()
    deal = next(o.crm_id for o in world.opportunities if o.stage == "CLOSED_WON")
    async with serve_gateway(
        start_workflow=starter,
        automations=automations_on("opportunity-won-to-project"),
        webhook_secrets_env={"crm": SECRET_ENV},
        delivery_attempts=2,
        delivery_backoff_s=0.01,
    ) as gw:
        payload = {"type": "opportunity.updated", "data": {"id": deal, "changed_fields": []}}
        body, headers = signed_push(secret, payload, "msg_dead_letter")
        async with httpx.AsyncClient() as http:
            pushed = await http.post(f"{gw.url}/webhooks/crm", content=body, headers=headers)
        assert pushed.status_code == 200

        async with asyncio.timeout(WAIT_S):
            while not (letters := (await post(gw, LETTERS, all=False))["data"]["deadLetters"]):
                await asyncio.sleep(0.1)
        [letter] = letters
        assert letter["kind"] == "automation:opportunity-won-to-project"
        assert letter["attempts"] == 2
        assert letter["error"] == "ConnectionError: the workflow engine is unreachable"
        assert letter["event"] == {
            "type": "OpportunityClosedWon",
            "subjectId": ids.encode("Opportunity", deal),
        }

        still_broken = await post(gw, REPLAY, id=letter["id"])
        assert still_broken["errors"]
        starter.broken = False
        replayed = await post(gw, REPLAY, id=letter["id"])
        again = await post(gw, REPLAY, id=letter["id"])
        remaining = await post(gw, LETTERS, all=False)
        everything = await post(gw, LETTERS, all=True)

    assert replayed["data"]["replayDeadLetter"]["replayedAt"] is not None
    assert again["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert remaining["data"]["deadLetters"] == []
    assert [d["id"] for d in everything["data"]["deadLetters"]] == [letter["id"]]
    input = {"opportunity_id": deal, "start_date": None, "manager_id": None}
    key = idempotency_key("opportunity-won-to-project", "quote_to_project", input)
    started = ("quote_to_project", input, key, "automation:opportunity-won-to-project")
    assert starter.calls == [started] * 4

"""A subscriber that falls more than its buffer behind is ended with a clear error; the
other subscribers carry on."""

from __future__ import annotations

import asyncio

import pytest
from gql.transport.exceptions import TransportQueryError

from gateway.events.domain import DomainEvent, Subject
from sources.records import SourceSystem

pytestmark = pytest.mark.slow

EVENTS = "subscription($types: [String!]) { events(types: $types) { cursor type } }"


def approved(n: int, kind: str = "TimeApproved") -> DomainEvent:
    return DomainEvent(
        type=kind,
        source=SourceSystem.TIME,
        subject=Subject("TimeEntry", str(n)),
        data={"n": n},
        dedup_key=f"{kind}:{n}",
    )


async def test_a_subscriber_that_falls_behind_is_ended_and_the_others_carry_on(
    serve_gateway, collect
):
    async with serve_gateway(subscriber_buffer=3) as gw:
        everything = collect(gw.ws_subscribe(EVENTS))
        submitted = collect(gw.ws_subscribe(EVENTS, {"types": ["TimeSubmitted"]}))
        live = gw.gateway.live
        assert live is not None
        for n in range(-1, -100, -1):  # until both subscriptions have started
            await live.log.append([approved(n, "TimeSubmitted")])
            await asyncio.sleep(0.05)
            if everything.items and submitted.items:
                break

        # Twenty events at once: more than three behind, for whoever wants them all.
        await live.log.append([approved(n) for n in range(1, 20)] + [approved(20, "TimeSubmitted")])

        [*_, last] = await submitted.until(len(submitted.items) + 1)
        with pytest.raises(TransportQueryError) as ended:
            await everything.until(100)

    assert last["events"]["type"] == "TimeSubmitted"
    assert "fell more than 3 events behind" in str(ended.value)
    assert ended.value.errors[0]["extensions"]["code"] == "SLOW_CONSUMER"  # type: ignore[index]

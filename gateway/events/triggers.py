"""Workflow triggers: domain events that start workflows by themselves.

With `events.auto_start_quote_to_project` on, every `OpportunityClosedWon` starts
quote-to-project for that opportunity. The idempotency key is derived from the
opportunity alone, so the same deal closing twice, a second gateway process seeing the
same event, or a replayed dead letter all land on the one workflow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.events.deliveries import Consumer, DeliveryError
from gateway.store import EventRecord

QUOTE_TO_PROJECT = "trigger:quote_to_project"

StartQuoteToProject = Callable[[str, str], Awaitable[object]]
"""start_quote_to_project(opportunity_id, idempotency_key): the opportunity's global id."""


def quote_to_project_key(opportunity_id: str) -> str:
    return f"auto-quote-to-project:{opportunity_id}"


def quote_to_project_trigger(start: StartQuoteToProject) -> Consumer:
    async def on_closed_won(event: EventRecord) -> None:
        if event.subject_id is None:
            raise DeliveryError(f"event {event.cursor} names no opportunity")
        await start(event.subject_id, quote_to_project_key(event.subject_id))

    return Consumer(QUOTE_TO_PROJECT, on_closed_won, frozenset({"OpportunityClosedWon"}))

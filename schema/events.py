"""Subscriptions and the dead-letter queue: the live side of the schema.

`Subscription` is the schema's subscription root. `EventsQuery` and `EventsMutation` add
`deadLetters` and `replayDeadLetter` to the query and mutation roots (merge them in with
`strawberry.tools.merge_types`). `Query.events` (replay) lives with the read side.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from datetime import datetime
from typing import Any, TypeVar, cast

import strawberry

from gateway.store import DeadLetter as DeadLetterRecord
from resolvers import events as resolve
from resolvers.connections import page_size
from schema.common import GatewayInfo, context, described
from schema.projects import Project
from schema.workflows import DomainEvent, Workflow

F = TypeVar("F", bound=Callable[..., Any])


def _subscription(description: str) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.subscription(description=description))


def _mutation(description: str) -> Callable[[F], F]:
    return cast(Callable[[F], F], strawberry.mutation(description=description))


@strawberry.type(description="An event delivery that kept failing, kept for a person to replay.")
class DeadLetter:
    id: strawberry.ID
    kind: str = strawberry.field(
        description='Who failed to take it, e.g. "trigger:quote_to_project".'
    )
    error: str
    attempts: int
    created_at: datetime
    replayed_at: datetime | None
    payload: str = strawberry.field(description="JSON: what was being delivered.")
    record: strawberry.Private[DeadLetterRecord]

    @classmethod
    def of(cls, letter: DeadLetterRecord) -> DeadLetter:
        return cls(
            id=strawberry.ID(str(letter.id)),
            kind=letter.kind,
            error=letter.error,
            attempts=letter.attempts,
            created_at=letter.created_at,
            replayed_at=letter.replayed_at,
            payload=json.dumps(letter.payload, default=str, sort_keys=True),
            record=letter,
        )

    @described("The domain event whose delivery failed, if it was one.")
    def event(self) -> DomainEvent | None:
        view = resolve.dead_letter_event(self.record)
        return DomainEvent.of(view) if view is not None else None


@strawberry.type
class EventsQuery:
    @described("Event deliveries that kept failing, oldest first.")
    async def dead_letters(
        self, info: GatewayInfo, first: int | None = None, include_replayed: bool = False
    ) -> list[DeadLetter]:
        ctx = context(info)
        found = await resolve.dead_letters(
            ctx, include_replayed=include_replayed, limit=page_size(first, ctx.limits)
        )
        return [DeadLetter.of(letter) for letter in found]


@strawberry.type
class EventsMutation:
    @_mutation("Deliver a dead letter again; it is marked replayed if that works.")
    async def replay_dead_letter(self, info: GatewayInfo, id: strawberry.ID) -> DeadLetter:
        letter = await resolve.replay_dead_letter(context(info), str(id))
        return DeadLetter.of(letter)


@strawberry.type
class Subscription:
    @_subscription(
        "Domain events after `after` (only new ones when null), then each new "
        "one as it happens, in order, with no gap and no duplicate."
    )
    async def events(
        self,
        info: GatewayInfo,
        types: list[str] | None = None,
        subject_id: strawberry.ID | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[DomainEvent, None]:
        stream = resolve.events(
            context(info),
            types=types,
            subject_id=str(subject_id) if subject_id is not None else None,
            after=after,
        )
        async for view in stream:
            yield DomainEvent.of(view)

    @_subscription("The workflow now, then each time a step moves.")
    async def workflow_updated(
        self, info: GatewayInfo, id: strawberry.ID
    ) -> AsyncGenerator[Workflow, None]:
        async for view in resolve.workflow_updates(context(info), str(id)):
            yield Workflow.of(view)

    @_subscription(
        "The project now, then each time it or one of its milestones or staffing requests changes."
    )
    async def project_updated(
        self, info: GatewayInfo, id: strawberry.ID
    ) -> AsyncGenerator[Project, None]:
        async for record in resolve.project_updates(context(info), str(id)):
            yield Project.of(record)

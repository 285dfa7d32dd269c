"""Domain events for the experience API: replay (`Query.events`), live streams
(`Subscription.events`, `workflowUpdated`, `projectUpdated`) and the dead-letter queue.

The streams come from the process's `LiveFeed` (gateway.events.live): replay from a cursor,
then live, with no gap and no duplicate. `workflowUpdated` and `projectUpdated` send the
object as it is now when they start, then again each time an event says it changed, read
afresh (the change has already dropped it from the read cache).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from graphql import GraphQLError

from gateway.events.bus import SlowConsumerError
from gateway.events.deliveries import (
    AlreadyReplayedError,
    UnknownDeadLetterError,
    event_from_payload,
)
from gateway.events.live import EventFilter, EventStream, FeedClosedError
from gateway.events.log import EventLog, InvalidCursorError, event_json, format_cursor, parse_cursor
from gateway.store import DeadLetter, EventRecord
from resolvers import ids
from resolvers.context import RequestContext
from resolvers.errors import InvalidInputError
from resolvers.loaders import Loaders
from resolvers.workflows import EventView, WorkflowView
from sources.records import Project, SourceSystem

if TYPE_CHECKING:
    from gateway.events.service import EventsService

SLOW_CONSUMER = "SLOW_CONSUMER"
EVENTS_UNAVAILABLE = "EVENTS_UNAVAILABLE"
MAX_TYPES = 50

WORKFLOW_EVENTS = frozenset({"WorkflowStepChanged", "WorkflowFinished"})


def event_view(record: EventRecord) -> EventView:
    return EventView(
        cursor=format_cursor(record.cursor),
        type=record.type,
        occurred_at=record.occurred_at,
        data=event_json(record),
        source=SourceSystem(record.source) if record.source else None,
        subject_id=record.subject_id,
    )


class LogEvents:
    """`Query.events` over the event log (an `EventReader`)."""

    def __init__(self, log: EventLog) -> None:
        self._log = log

    async def read(
        self, *, after: str | None, types: Sequence[str] | None, limit: int
    ) -> list[EventView]:
        found = await self._log.read_after(_position(after), limit=limit, types=types or None)
        return [event_view(record) for record in found]


def _position(after: str | None) -> int | None:
    try:
        return parse_cursor(after)
    except InvalidCursorError as error:
        raise InvalidInputError(f"after: {error}") from None


def _service(ctx: RequestContext) -> EventsService:
    if ctx.live is None:
        raise GraphQLError(
            "event streams are not enabled on this gateway",
            extensions={"code": EVENTS_UNAVAILABLE},
        )
    return ctx.live


async def _guarded(stream: EventStream) -> AsyncIterator[EventRecord]:
    """The feed's own endings as GraphQL errors the subscriber can act on; the stream is
    closed however the subscription ends."""
    try:
        async for record in stream:
            yield record
    except SlowConsumerError as error:
        raise GraphQLError(str(error), extensions={"code": SLOW_CONSUMER}) from error
    except FeedClosedError as error:
        raise GraphQLError(str(error), extensions={"code": EVENTS_UNAVAILABLE}) from error
    finally:
        await stream.aclose()


async def events(
    ctx: RequestContext,
    *,
    types: Sequence[str] | None,
    subject_id: str | None,
    after: str | None,
) -> AsyncIterator[EventView]:
    """Events after `after` (none from before now when null), then every new one."""
    if types is not None and len(types) > MAX_TYPES:
        raise InvalidInputError(f"types: at most {MAX_TYPES}")
    position = _position(after)
    if subject_id is not None:
        ids.decode(subject_id, argument="subjectId")
    wants = EventFilter(types=frozenset(types or ()), subject_id=subject_id)
    stream = await _service(ctx).feed.stream(after=position, wants=wants)
    async for record in _guarded(stream):
        yield event_view(record)


async def workflow_updates(ctx: RequestContext, workflow_id: str) -> AsyncIterator[WorkflowView]:
    """The workflow now, then after each of its steps moves."""
    key = ids.decode(workflow_id, "Workflow").key
    wants = EventFilter(types=WORKFLOW_EVENTS, subject_id=workflow_id)
    # Registered before the first read, so a change right after that read is not missed.
    stream = await _service(ctx).feed.stream(wants=wants)
    try:
        current = await ctx.workflows.get(key)
        if current is None:
            raise InvalidInputError(f"id: no workflow {workflow_id!r}")
        yield current
        async for _ in _guarded(stream):
            current = await ctx.workflows.get(key)
            if current is not None:
                yield current
    finally:
        await stream.aclose()


def _about_project(project_id: str) -> EventFilter:
    # Milestone and staffing events carry their project's id in `projectId`.
    return EventFilter(
        subject_id=project_id,
        also=lambda record: (
            isinstance(record.data, dict) and record.data.get("projectId") == project_id
        ),
    )


async def project_updates(ctx: RequestContext, project_id: str) -> AsyncIterator[Project]:
    """The project now, then each time it, a milestone or a staffing request of it
    changes; each read afresh, with fresh loaders for its nested fields."""
    key = ids.decode(project_id, "Project").key
    stream = await _service(ctx).feed.stream(wants=_about_project(project_id))
    try:
        current = await _fresh_project(ctx, key)
        if current is None:
            raise InvalidInputError(f"id: no project {project_id!r}")
        yield current
        async for _ in _guarded(stream):
            current = await _fresh_project(ctx, key)
            if current is not None:
                yield current
    finally:
        await stream.aclose()


async def _fresh_project(ctx: RequestContext, key: str) -> Project | None:
    # One context serves a whole WebSocket connection; its loaders would otherwise
    # answer every later read from what they read first.
    ctx.loaders = Loaders(ctx.loaders.upstream, ctx.freshness)
    found = await ctx.loaders.by_id(SourceSystem.PSA, "project").load(key)
    return found if isinstance(found, Project) else None


async def dead_letters(
    ctx: RequestContext, *, include_replayed: bool, limit: int
) -> list[DeadLetter]:
    return await _service(ctx).deliveries.dead_letters(
        include_replayed=include_replayed, limit=limit
    )


async def replay_dead_letter(ctx: RequestContext, letter_id: str) -> DeadLetter:
    """Deliver the letter again; its delivery's own error if it fails again."""
    if not letter_id.isascii() or not letter_id.isdigit():
        raise InvalidInputError(f"id: {letter_id!r} is not a dead letter id")
    try:
        return await _service(ctx).deliveries.replay(int(letter_id))
    except (UnknownDeadLetterError, AlreadyReplayedError) as error:
        raise InvalidInputError(f"id: {error}") from None


def dead_letter_event(letter: DeadLetter) -> EventView | None:
    """The domain event a dead letter holds, if it holds one."""
    payload = letter.payload.get("event") if isinstance(letter.payload, dict) else None
    if not isinstance(payload, dict):
        return None
    try:
        return event_view(event_from_payload(payload))
    except (KeyError, TypeError, ValueError):
        return None

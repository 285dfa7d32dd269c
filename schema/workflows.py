"""Workflow and DomainEvent: read here, started and streamed by the process APIs."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from resolvers import ids
from resolvers.workflows import EventView, WorkflowStepView, WorkflowView
from schema.common import GatewayInfo, Node, SourceSystem, context, described
from sources.records import SourceSystem as System


@strawberry.enum
class WorkflowStatus(Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    COMPENSATED = "COMPENSATED"
    NEEDS_ATTENTION = "NEEDS_ATTENTION"
    CANCELLED = "CANCELLED"


def _system(system: System | None) -> SourceSystem | None:
    return SourceSystem(system.value) if system is not None else None


@strawberry.type
class WorkflowStep:
    name: str
    system: SourceSystem | None
    status: WorkflowStatus
    attempts: int
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, step: WorkflowStepView) -> WorkflowStep:
        return cls(
            name=step.name,
            system=_system(step.system),
            status=WorkflowStatus(step.status),
            attempts=step.attempts,
            error=step.error,
            started_at=step.started_at,
            finished_at=step.finished_at,
        )


@strawberry.type
class Workflow(Node):
    kind: str
    status: WorkflowStatus
    idempotency_key: str | None
    steps: list[WorkflowStep]
    started_at: datetime
    finished_at: datetime | None
    result_id: strawberry.Private[str | None]

    @classmethod
    def of(cls, view: WorkflowView) -> Workflow:
        return cls(
            id=strawberry.ID(ids.encode("Workflow", view.id)),
            kind=view.kind,
            status=WorkflowStatus(view.status),
            idempotency_key=view.idempotency_key,
            steps=[WorkflowStep.of(step) for step in view.steps],
            started_at=view.started_at,
            finished_at=view.finished_at,
            result_id=view.result_id,
        )

    @described("What the workflow made, e.g. the Project created.")
    async def result(self, info: GatewayInfo) -> Node | None:
        if self.result_id is None:
            return None
        from schema.nodes import load_node

        return await load_node(context(info), self.result_id)


@strawberry.type
class DomainEvent:
    cursor: str = strawberry.field(description="Resume a subscription or a replay after this.")
    type: str
    occurred_at: datetime
    source: SourceSystem | None
    subject_id: strawberry.ID | None
    data: str = strawberry.field(description="JSON payload.")

    @classmethod
    def of(cls, event: EventView) -> DomainEvent:
        return cls(
            cursor=event.cursor,
            type=event.type,
            occurred_at=event.occurred_at,
            source=_system(event.source),
            subject_id=strawberry.ID(event.subject_id) if event.subject_id else None,
            data=event.data,
        )

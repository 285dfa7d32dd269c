"""Reading workflows and domain events: what the Query side needs from the process
APIs. The workflow engine and the event log implement these readers; until a gateway
is given one, `NoWorkflows` answers that there is nothing to read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from resolvers.connections import Window
from sources.records import SourceSystem


@dataclass(frozen=True)
class WorkflowStepView:
    name: str
    status: str  # PENDING RUNNING SUCCEEDED FAILED COMPENSATED NEEDS_ATTENTION CANCELLED
    attempts: int = 0
    system: SourceSystem | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class WorkflowView:
    id: str  # the workflow's own id (the global id's key)
    kind: str
    status: str
    started_at: datetime
    idempotency_key: str | None = None
    steps: tuple[WorkflowStepView, ...] = ()
    finished_at: datetime | None = None
    result_id: str | None = None  # global id of what the workflow made, e.g. a Project


@dataclass(frozen=True)
class EventView:
    cursor: str
    type: str
    occurred_at: datetime
    data: str  # JSON
    source: SourceSystem | None = None
    subject_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class WorkflowReader(Protocol):
    async def get(self, workflow_id: str) -> WorkflowView | None: ...

    async def page(
        self, *, status: str | None, first: int, after: str | None
    ) -> Window[WorkflowView]: ...


class EventReader(Protocol):
    async def read(
        self, *, after: str | None, types: Sequence[str] | None, limit: int
    ) -> list[EventView]: ...


class NoWorkflows:
    """Readers for a gateway without a workflow engine or event log."""

    async def get(self, workflow_id: str) -> WorkflowView | None:
        return None

    async def page(
        self, *, status: str | None, first: int, after: str | None
    ) -> Window[WorkflowView]:
        return Window([], False, False, 0)

    async def read(
        self, *, after: str | None, types: Sequence[str] | None, limit: int
    ) -> list[EventView]:
        return []

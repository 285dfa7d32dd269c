"""Workflows as the Query side sees them, read from the gateway's store.

`StoreWorkflowReader` implements `resolvers.workflows.WorkflowReader`: a workflow with its
steps, and pages of workflows newest first with offset cursors. A workflow's result
(`{"type": "Project", "key": "..."}` as the definitions store it) becomes the global id
that `Workflow.result` resolves.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from gateway.store import StepRecord, Store, WorkflowRecord, WorkflowStatus
from resolvers import ids
from resolvers.connections import Cursor, Window
from resolvers.errors import InvalidInputError
from resolvers.workflows import WorkflowStepView, WorkflowView
from sources.records import SourceSystem


class StoreWorkflowReader:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, workflow_id: str) -> WorkflowView | None:
        async with self._store.snapshot() as tx:
            workflow = await tx.workflows.get(workflow_id)
            if workflow is None:
                return None
            return workflow_view(workflow, await tx.steps.for_workflow(workflow_id))

    async def page(
        self, *, status: str | None, first: int, after: str | None
    ) -> Window[WorkflowView]:
        wanted = WorkflowStatus(status) if status is not None else None
        start = _offset(after)
        async with self._store.snapshot() as tx:
            total = await tx.workflows.count(status=wanted)
            found = await tx.workflows.find(status=wanted, limit=first, offset=start)
            steps = await tx.steps.for_workflows([w.id for w in found])
        edges: list[tuple[str | Cursor, WorkflowView]] = [
            (_cursor(start + i + 1), workflow_view(w, steps.get(w.id, [])))
            for i, w in enumerate(found)
        ]
        return Window(edges, start + len(found) < total, start > 0, total)


def workflow_view(workflow: WorkflowRecord, steps: list[StepRecord]) -> WorkflowView:
    return WorkflowView(
        id=workflow.id,
        kind=workflow.kind,
        status=workflow.status.value,
        started_at=workflow.started_at or workflow.created_at,
        idempotency_key=workflow.idempotency_key,
        steps=tuple(_step_view(step) for step in steps),
        finished_at=workflow.finished_at,
        result_id=result_id(workflow.result),
    )


def result_id(result: Any) -> str | None:
    """The global id of what a workflow made, from its stored result."""
    if not isinstance(result, dict):
        return None
    kind, key = result.get("type"), result.get("key")
    if kind not in ids.NODE_TYPES or not isinstance(key, str) or not key:
        return None
    return ids.encode(kind, key)


def _step_view(step: StepRecord) -> WorkflowStepView:
    return WorkflowStepView(
        name=step.name,
        status=step.status.value,
        attempts=step.attempts,
        system=_system(step.system),
        error=step.error,
        started_at=step.started_at,
        finished_at=step.finished_at,
    )


def _system(name: str | None) -> SourceSystem | None:
    return SourceSystem(name) if name is not None and name in SourceSystem.__members__ else None


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"wf:{offset}".encode()).decode("ascii").rstrip("=")


def _offset(after: str | None) -> int:
    if after is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode("ascii")
        prefix, _, number = text.partition(":")
        offset = int(number)
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidInputError(f"after: {after!r} is not a cursor for this list") from None
    if prefix != "wf" or offset < 0:
        raise InvalidInputError(f"after: {after!r} is not a cursor for this list")
    return offset

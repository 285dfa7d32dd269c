"""Persisting one claimed workflow's progress, one transaction per state change.

Each change is fenced by the worker's lease (a worker that lost it cannot write; see
`LeaseLostError`), extends the lease, and writes its `workflow` outbox message in the same
transaction, so every state a reader can see has been announced exactly as it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from gateway.store import StepRecord, Store, WorkflowRecord, WorkflowStatus
from gateway.store.records import Phase
from gateway.workflows.context import Write

TOPIC = "workflow"
UNTOUCHED = (WorkflowStatus.PENDING, WorkflowStatus.RUNNING)


def progress_message(workflow: WorkflowRecord, step: StepRecord | None = None) -> dict[str, Any]:
    """The outbox payload for a workflow's state change (and the step that changed)."""
    return {
        "workflow_id": workflow.id,
        "kind": workflow.kind,
        "status": workflow.status.value,
        "phase": workflow.phase.value,
        "version": workflow.version,
        "step": step.name if step else None,
        "step_status": step.status.value if step else None,
        "error": step.error if step else workflow.error,
        "result": workflow.result if step is None else None,
    }


class Journal:
    def __init__(
        self,
        store: Store,
        workflow: WorkflowRecord,
        *,
        owner: str,
        lease_seconds: float,
        clock: Callable[[], dt.datetime],
        committed: Callable[[], Awaitable[None]],
    ) -> None:
        self._store = store
        self._id = workflow.id
        self._owner = owner
        self._lease = dt.timedelta(seconds=lease_seconds)
        self._clock = clock
        self._committed = committed
        self.workflow = workflow

    def now(self) -> dt.datetime:
        return self._clock()

    async def step_started(self, step: StepRecord, attempt: int) -> StepRecord:
        return await self._step(
            step.name,
            status=WorkflowStatus.RUNNING,
            attempts=attempt,
            started_at=step.started_at or self.now(),
            finished_at=None,
        )

    async def step_succeeded(self, name: str, output: Any, writes: Sequence[Write]) -> StepRecord:
        return await self._step(
            name,
            writes=writes,
            status=WorkflowStatus.SUCCEEDED,
            output=output,
            error=None,
            finished_at=self.now(),
        )

    async def step_waiting(self, name: str, error: str) -> StepRecord:
        """A retriable failure: the step will be tried again."""
        return await self._step(name, status=WorkflowStatus.PENDING, error=error)

    async def step_failed(self, name: str, error: str) -> StepRecord:
        return await self._step(
            name, status=WorkflowStatus.FAILED, error=error, finished_at=self.now()
        )

    async def step_compensated(self, name: str, writes: Sequence[Write]) -> StepRecord:
        return await self._step(
            name, writes=writes, status=WorkflowStatus.COMPENSATED, finished_at=self.now()
        )

    async def compensation_failed(self, name: str, error: str, reason: str) -> None:
        """Park the workflow: undoing `name` failed for good."""
        await self._change(
            name,
            {"error": error},
            {"status": WorkflowStatus.NEEDS_ATTENTION, "error": reason, **_RELEASED},
        )

    async def start_compensating(self, reason: str) -> None:
        await self._change(None, {}, {"phase": Phase.COMPENSATING, "error": reason})

    async def defer(self, until: dt.datetime) -> None:
        """Give the workflow back until `until` (a long retry wait), releasing the lease.

        A hand-back is not a crash: the claim count that parks workflows whose workers
        keep dying on them starts again, so a long outage's many waits never trip it.
        """
        await self._change(
            None,
            {},
            {"status": WorkflowStatus.PENDING, "next_run_at": until, "attempts": 0, **_RELEASED},
        )

    async def settle(
        self,
        status: WorkflowStatus,
        *,
        steps: Sequence[StepRecord] = (),
        result: Any = None,
        error: str | None = None,
    ) -> None:
        """End the run in `status`; `steps` that never ran are CANCELLED unless it is parked."""
        finished = status is not WorkflowStatus.NEEDS_ATTENTION
        abandoned = [s.name for s in steps if finished and s.status in UNTOUCHED]
        async with self._store.transaction() as tx:
            workflow = await tx.workflows.update_leased(
                self._id,
                self._owner,
                status=status,
                result=result,
                error=error,
                finished_at=self.now() if finished else None,
                next_run_at=None,
                **_RELEASED,
            )
            for name in abandoned:
                step = await tx.steps.update(
                    self._id, name, status=WorkflowStatus.CANCELLED, finished_at=self.now()
                )
                await tx.outbox.add(TOPIC, progress_message(workflow, step))
            await tx.outbox.add(TOPIC, progress_message(workflow))
        self.workflow = workflow
        await self._committed()

    async def _step(self, name: str, *, writes: Sequence[Write] = (), **changes: Any) -> StepRecord:
        step = await self._change(name, changes, {}, writes)
        assert step is not None
        return step

    async def _change(
        self,
        step_name: str | None,
        step_changes: dict[str, Any],
        workflow_changes: dict[str, Any],
        writes: Sequence[Write] = (),
    ) -> StepRecord | None:
        """One fenced transaction changing the workflow (and one of its steps)."""
        changes = {"lease_until": self.now() + self._lease, **workflow_changes}
        async with self._store.transaction() as tx:
            workflow = await tx.workflows.update_leased(self._id, self._owner, **changes)
            step = None
            if step_name is not None:
                step = await tx.steps.update(self._id, step_name, **step_changes)
            for write in writes:
                await write(tx)
            await tx.outbox.add(TOPIC, progress_message(workflow, step))
        self.workflow = workflow
        await self._committed()
        return step


_RELEASED: dict[str, Any] = {"lease_owner": None, "lease_until": None}

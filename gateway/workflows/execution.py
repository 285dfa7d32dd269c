"""Driving one claimed workflow from its last persisted state to where it settles.

Forward: every step whose `after` steps have succeeded runs, concurrently with the other
ready ones; completed steps are never run again, and a step left RUNNING by a dead
worker runs again. A retriable error is retried per the step's policy until its attempts
or the workflow's deadline run out (waiting in place for a short wait, or, for a long
one, handing the workflow back with a due time so its worker and lease are free for
others). A terminal failure stops new steps, lets running ones finish, then compensates
or parks.

Compensation: succeeded steps that have a `compensate` are undone one at a time in
reverse order. Undoing something counts as COMPENSATED; a failure with nothing to undo
ends FAILED; a compensation that itself fails for good parks the workflow.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from gateway.store import StepRecord, Store, StoreError, WorkflowStatus
from gateway.store.errors import LeaseLostError
from gateway.store.records import Phase
from gateway.workflows.context import StepContext
from gateway.workflows.definition import OnFailure, Step, WorkflowDefinition
from gateway.workflows.journal import Journal
from gateway.workflows.observe import Unobserved, WorkflowObserver
from gateway.workflows.retry import is_retriable, retry_after

SUCCEEDED = WorkflowStatus.SUCCEEDED


@dataclass(frozen=True)
class Done:
    output: Any


@dataclass(frozen=True)
class Failed:
    error: str


@dataclass(frozen=True)
class Later:
    until: dt.datetime


StepOutcome = Done | Failed | Later


class Execution:
    def __init__(
        self,
        store: Store,
        definition: WorkflowDefinition,
        journal: Journal,
        *,
        max_inline_delay: float,
        observer: WorkflowObserver | None = None,
    ) -> None:
        self._store = store
        self._definition = definition
        self._journal = journal
        self._max_inline_delay = max_inline_delay
        self._observer = observer or Unobserved()
        self._steps: dict[str, StepRecord] = {}

    @property
    def _workflow_id(self) -> str:
        return self._journal.workflow.id

    async def run(self) -> None:
        records = await self._store.steps.for_workflow(self._workflow_id)
        self._steps = {record.name: record for record in records}
        if self._journal.workflow.phase is Phase.FORWARD:
            if not await self._forward():
                return
        await self._compensate()

    # --- forward -----------------------------------------------------------------

    async def _forward(self) -> bool:
        """Run steps until all succeed (True only if compensation must follow)."""
        running: dict[asyncio.Task[StepOutcome], str] = {}
        failure: tuple[str, str] | None = None
        later: dt.datetime | None = None
        try:
            while True:
                if failure is None and later is None:
                    for step in self._ready(set(running.values())):
                        task = asyncio.create_task(self._attempts(step), name=step.name)
                        running[task] = step.name
                if not running:
                    break
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    name = running.pop(task)
                    match task.result():
                        case Failed(error):
                            failure = failure or (name, error)
                        case Later(until):
                            later = max(later or until, until)
                        case Done():
                            pass
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

        if failure is None and later is None:
            failure = self._earlier_failure()
        if failure is not None:
            return await self._fail(*failure)
        if later is not None:
            await self._journal.defer(later)
            return False
        await self._succeed()
        return False

    def _ready(self, running: set[str]) -> list[Step]:
        return [
            step
            for step in self._definition.order
            if step.name not in running
            and self._steps[step.name].status in (WorkflowStatus.PENDING, WorkflowStatus.RUNNING)
            and all(self._steps[before].status is SUCCEEDED for before in step.after)
        ]

    def _earlier_failure(self) -> tuple[str, str] | None:
        """A step that failed before a crash, with its workflow not yet told."""
        for step in self._definition.order:
            record = self._steps[step.name]
            if record.status is WorkflowStatus.FAILED:
                return step.name, record.error or "failed"
        blocked = [s for s, r in self._steps.items() if r.status is not SUCCEEDED]
        if blocked:
            return blocked[0], f"steps {sorted(blocked)} can never run"
        return None

    async def _attempts(self, step: Step) -> StepOutcome:
        """Try `step` until it succeeds, fails for good, or must wait long."""
        while True:
            record = self._steps[step.name]
            attempt = record.attempts + 1
            self._steps[step.name] = await self._journal.step_started(record, attempt)
            context = self._context(step, attempt)
            try:
                output = await self._call(step, context)
            # The step is the definition's code: whatever it raised is recorded as its
            # failure; cancellation (a BaseException) still stops us.
            except Exception as error:
                described = _describe(error)
                delay = step.retry.next_delay(error, attempt, self._elapsed())
                if delay is None:
                    if is_retriable(error, step.retry.retry_on):
                        described = f"gave up after {attempt} attempts: {described}"
                    self._steps[step.name] = await self._journal.step_failed(step.name, described)
                    return Failed(described)
                self._steps[step.name] = await self._journal.step_waiting(step.name, described)
                if delay > self._max_inline_delay:
                    return Later(self._journal.now() + dt.timedelta(seconds=delay))
                await asyncio.sleep(delay)
                continue
            try:
                self._steps[step.name] = await self._journal.step_succeeded(
                    step.name, output, context.writes
                )
            except LeaseLostError:
                raise
            except (StoreError, IntegrityError) as error:
                # A write it asked for was refused (a conflicting crosswalk link, say).
                described = _describe(error)
                self._steps[step.name] = await self._journal.step_failed(step.name, described)
                return Failed(described)
            return Done(output)

    def _elapsed(self) -> float:
        """Seconds since this run of the workflow began: its retry deadline's clock."""
        started = self._journal.workflow.started_at
        if started is None:
            return 0.0
        return (self._journal.now() - started).total_seconds()

    async def _call(self, step: Step, context: StepContext) -> Any:
        with self._observer.step(context.kind, step.name, context.attempt):
            async with asyncio.timeout(step.timeout):
                output = await step.run(context)
        try:
            json.dumps(output)
        except (TypeError, ValueError) as error:
            raise StepOutputError(f"output of step {step.name} is not JSON: {error}") from None
        return output

    def _context(self, step: Step, attempt: int, *, undoing: bool = False) -> StepContext:
        workflow = self._journal.workflow
        visible = set(self._steps) if undoing else self._definition.ancestors(step.name)
        return StepContext(
            workflow_id=workflow.id,
            kind=workflow.kind,
            step=step.name,
            input=workflow.input,
            outputs={
                name: self._steps[name].output
                for name in visible
                if self._steps[name].status in (SUCCEEDED, WorkflowStatus.COMPENSATED)
            },
            attempt=attempt,
            principal=workflow.principal,
            store=self._store,
            output=self._steps[step.name].output if undoing else None,
            business_key=(
                self._definition.business_key(workflow.input)
                if self._definition.business_key
                else None
            ),
        )

    async def _succeed(self) -> None:
        outputs = {name: record.output for name, record in self._steps.items()}
        try:
            result = self._definition.result(outputs) if self._definition.result else None
            json.dumps(result)
        except Exception as error:  # the definition's code; park rather than crash the worker
            await self._journal.settle(
                WorkflowStatus.NEEDS_ATTENTION, error=f"computing the result: {_describe(error)}"
            )
            return
        await self._journal.settle(SUCCEEDED, steps=list(self._steps.values()), result=result)

    async def _fail(self, name: str, error: str) -> bool:
        reason = f"step {name} failed: {error}"
        if self._definition.failure_policy(name) is OnFailure.PARK:
            await self._journal.settle(WorkflowStatus.NEEDS_ATTENTION, error=reason)
            return False
        await self._journal.start_compensating(reason)
        return True

    # --- compensation ------------------------------------------------------------

    async def _compensate(self) -> None:
        for step in reversed(self._definition.order):
            if step.compensate is None or self._steps[step.name].status is not SUCCEEDED:
                continue
            if not await self._undo(step):
                return
        workflow = self._journal.workflow
        if workflow.phase is Phase.CANCELLING:
            status = WorkflowStatus.CANCELLED
        elif any(r.status is WorkflowStatus.COMPENSATED for r in self._steps.values()):
            status = WorkflowStatus.COMPENSATED
        else:
            status = WorkflowStatus.FAILED
        await self._journal.settle(status, steps=list(self._steps.values()), error=workflow.error)

    async def _undo(self, step: Step) -> bool:
        """Compensate one step, retrying per its policy; False if it parked the workflow."""
        assert step.compensate is not None
        attempt = 0
        while True:
            attempt += 1
            context = self._context(step, attempt, undoing=True)
            try:
                async with asyncio.timeout(step.timeout):
                    await step.compensate(context)
            except Exception as error:  # the definition's code: record, retry or park
                described = _describe(error)
                if step.retry.retries(error, attempt):
                    await asyncio.sleep(step.retry.delay(attempt, retry_after(error)))
                    continue
                await self._journal.compensation_failed(
                    step.name, described, f"undoing step {step.name} failed: {described}"
                )
                return False
            self._steps[step.name] = await self._journal.step_compensated(step.name, context.writes)
            return True


class StepOutputError(TypeError):
    """A step returned something that cannot be stored as JSON (a bug: not retried)."""


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"

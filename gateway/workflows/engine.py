"""The workflow engine: start workflows durably, run them on leased workers, retry or
cancel them. See docs/workflows.md for the guarantees.

    engine = Engine(store, [quote_to_project], publish=bus_publish)
    record = await engine.start("quote_to_project", {"opportunity_id": ...},
                                idempotency_key=key, principal=user)
    worker = asyncio.create_task(engine.run_forever())
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import suppress
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from gateway.store import (
    SETTLED_STATUSES,
    IdempotencyConflictError,
    LeaseLostError,
    Publish,
    Store,
    Transaction,
    WorkflowRecord,
    WorkflowStatus,
)
from gateway.store.records import Phase
from gateway.store.types import utcnow
from gateway.workflows.definition import WorkflowDefinition
from gateway.workflows.errors import (
    UnknownWorkflowKindError,
    WorkflowNotFoundError,
    WorkflowStateError,
)
from gateway.workflows.execution import Execution
from gateway.workflows.journal import TOPIC, Journal, progress_message
from gateway.workflows.observe import Unobserved, WorkflowObserver

logger = logging.getLogger(__name__)

# More to write when a start creates a workflow, in the start's own transaction.
AlsoOnStart = Callable[[Transaction, WorkflowRecord], Awaitable[None]]

RETRYABLE = (WorkflowStatus.NEEDS_ATTENTION, WorkflowStatus.FAILED)
CANCELLABLE = (WorkflowStatus.PENDING, WorkflowStatus.NEEDS_ATTENTION, WorkflowStatus.FAILED)


class Engine:
    def __init__(
        self,
        store: Store,
        definitions: Iterable[WorkflowDefinition],
        *,
        worker_id: str | None = None,
        concurrency: int = 8,
        lease_seconds: float = 30.0,
        poll_interval: float = 1.0,
        max_inline_delay: float = 5.0,
        max_claims: int = 20,
        publish: Publish | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        observer: WorkflowObserver | None = None,
    ) -> None:
        """
        `concurrency` bounds the workflows this worker drives at once. A worker that dies
        loses its workflows for `lease_seconds` at most; a live one renews every third of
        it. Retry waits up to `max_inline_delay` seconds happen in place; longer ones give
        the workflow back with a due time. A workflow claimed `max_claims` times without
        settling (its worker keeps dying on it) is parked rather than claimed forever.
        `publish` receives every outbox message after its transaction commits (at least
        once, in order per relay). `observer` watches runs and steps (metrics, traces).
        """
        self._store = store
        self._definitions = {d.kind: d for d in definitions}
        self.worker_id = worker_id or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._concurrency = concurrency
        self._lease_seconds = lease_seconds
        self._poll_interval = poll_interval
        self._max_inline_delay = max_inline_delay
        self._max_claims = max_claims
        self._publish = publish
        self._clock = clock
        self._observer = observer or Unobserved()
        self._wake = asyncio.Event()
        self._stopping = False

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._definitions)

    # --- commands ----------------------------------------------------------------

    async def start(
        self,
        kind: str,
        input: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        principal: str | None = None,
        also: AlsoOnStart | None = None,
    ) -> WorkflowRecord:
        """Persist a new PENDING workflow and return it at once; a worker runs it.

        The same `idempotency_key` with the same kind and input returns the workflow it
        started the first time (whatever its status now); with anything else it raises
        IdempotencyConflictError. A kind with a business key returns the workflow that
        owns the key (running, parked or succeeded), whatever the idempotency key.

        `also` runs in the same transaction, only when this call creates the workflow (an
        audit entry, say): it commits with the workflow or not at all.
        """
        record, _ = await self.start_or_join(
            kind, input, idempotency_key=idempotency_key, principal=principal, also=also
        )
        return record

    async def start_or_join(
        self,
        kind: str,
        input: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        principal: str | None = None,
        also: AlsoOnStart | None = None,
    ) -> tuple[WorkflowRecord, bool]:
        """Like `start`; also says whether this call created the workflow."""
        definition = self._definition(kind)
        payload = dict(input)
        input_hash = request_hash(kind, payload)
        business_key = definition.business_key(payload) if definition.business_key else None
        workflow_id = str(uuid.uuid4())
        now = self._clock()
        async with self._store.transaction() as tx:
            existing = await self._existing(tx, idempotency_key, input_hash)
            if existing is not None:
                return existing, False
            if business_key is not None:
                owner = await business_key.claim(tx, workflow_id, now)
                if owner is not None:
                    return owner, False
            created = await tx.workflows.create(
                id=workflow_id,
                kind=kind,
                input=payload,
                input_hash=input_hash,
                idempotency_key=idempotency_key,
                principal=principal,
                now=now,
            )
            if created is None:  # another request with the key committed first
                raced = await self._existing(tx, idempotency_key, input_hash)
                assert raced is not None
                # Our claim names a workflow that will never exist: the next start takes it.
                return raced, False
            await tx.steps.create_missing(
                created.id, [(step.name, step.system) for step in definition.steps]
            )
            await tx.outbox.add(TOPIC, progress_message(created))
            if also is not None:
                await also(tx, created)
        await self._committed()
        self._wake.set()
        return created, True

    async def retry(self, workflow_id: str, *, principal: str | None = None) -> WorkflowRecord:
        """Queue a NEEDS_ATTENTION or FAILED workflow to run again from where it stopped.

        Failed steps get a fresh attempt budget and the workflow a fresh retry deadline
        (counted from its next claim); succeeded ones are not run again. A workflow parked
        while undoing its steps resumes undoing them.
        """
        async with self._store.transaction() as tx:
            workflow = await self._get(tx, workflow_id)
            definition = self._definition(workflow.kind)
            if definition.business_key is not None:
                owners = await definition.business_key(workflow.input).owners(tx)
                if owners and workflow.id not in owners:
                    raise WorkflowStateError(
                        f"workflow {workflow_id} let its business key go; workflow "
                        f"{', '.join(sorted(owners))} has it now"
                    )
            phase = workflow.phase
            if workflow.status is WorkflowStatus.FAILED or phase is Phase.FORWARD:
                phase = Phase.FORWARD
                for step in await tx.steps.for_workflow(workflow_id):
                    if step.status in (WorkflowStatus.FAILED, WorkflowStatus.CANCELLED):
                        await tx.steps.update(
                            workflow_id,
                            step.name,
                            status=WorkflowStatus.PENDING,
                            attempts=0,
                            finished_at=None,
                        )
            updated = await tx.workflows.update_if(
                workflow_id,
                RETRYABLE,
                status=WorkflowStatus.PENDING,
                phase=phase,
                error=None,
                finished_at=None,
                next_run_at=self._clock(),
                # A person asked for another go: the retry deadline counts from now.
                started_at=None,
            )
            if updated is None:
                raise WorkflowStateError(
                    f"workflow {workflow_id} is {workflow.status}; only "
                    f"{', '.join(RETRYABLE)} workflows can be retried"
                )
            await tx.outbox.add(TOPIC, progress_message(updated))
            await self._audit(tx, principal, "workflow.retry", workflow, updated)
        await self._committed()
        self._wake.set()
        return updated

    async def cancel(self, workflow_id: str, *, principal: str | None = None) -> WorkflowRecord:
        """Cancel a PENDING, NEEDS_ATTENTION or FAILED workflow.

        With nothing to undo it is CANCELLED at once. Otherwise it is queued (PENDING,
        phase CANCELLING) for a worker to compensate its succeeded steps, and ends
        CANCELLED. A RUNNING workflow cannot be cancelled: wait for it to settle.
        """
        async with self._store.transaction() as tx:
            workflow = await self._get(tx, workflow_id)
            definition = self._definition(workflow.kind)
            steps = await tx.steps.for_workflow(workflow_id)
            to_undo = [
                s
                for s in steps
                if s.status is WorkflowStatus.SUCCEEDED
                and definition.step(s.name).compensate is not None
            ]
            now = self._clock()
            if to_undo:
                changes: dict[str, Any] = {
                    "status": WorkflowStatus.PENDING,
                    "phase": Phase.CANCELLING,
                    "next_run_at": now,
                }
            else:
                changes = {"status": WorkflowStatus.CANCELLED, "finished_at": now}
            updated = await tx.workflows.update_if(workflow_id, CANCELLABLE, **changes)
            if updated is None:
                raise WorkflowStateError(
                    f"workflow {workflow_id} is {workflow.status}; only "
                    f"{', '.join(CANCELLABLE)} workflows can be cancelled"
                )
            if not to_undo:
                for step in steps:
                    if step.status in (WorkflowStatus.PENDING, WorkflowStatus.RUNNING):
                        changed = await tx.steps.update(
                            workflow_id,
                            step.name,
                            status=WorkflowStatus.CANCELLED,
                            finished_at=now,
                        )
                        await tx.outbox.add(TOPIC, progress_message(updated, changed))
            await tx.outbox.add(TOPIC, progress_message(updated))
            await self._audit(tx, principal, "workflow.cancel", workflow, updated)
        await self._committed()
        self._wake.set()
        return updated

    async def wait(
        self, workflow_id: str, *, timeout: float = 30.0, poll: float = 0.05
    ) -> WorkflowRecord:
        """Poll until the workflow settles (SUCCEEDED, FAILED, ... NEEDS_ATTENTION)."""
        async with asyncio.timeout(timeout):
            while True:
                workflow = await self._store.workflows.get(workflow_id)
                if workflow is None:
                    raise WorkflowNotFoundError(workflow_id)
                if workflow.status in SETTLED_STATUSES:
                    return workflow
                await asyncio.sleep(poll)

    # --- workers -----------------------------------------------------------------

    async def run_until_idle(self) -> int:
        """Drive runnable workflows until none is left to claim; how many claims it made.

        Workflows leased by another live worker, or due later, are left alone.
        """
        return await self._work(until_idle=True)

    async def run_forever(self) -> None:
        """Claim and drive workflows until `stop()` (graceful) or cancellation.

        Cancelling is like a crash: the workflows in hand are picked up again by any
        worker once their leases run out.
        """
        await self._work(until_idle=False)

    def stop(self) -> None:
        """Stop claiming; `run_forever` returns once the workflows in hand settle."""
        self._stopping = True
        self._wake.set()

    async def _work(self, *, until_idle: bool) -> int:
        self._stopping = False
        active: set[asyncio.Task[None]] = set()
        claims = 0
        woken: asyncio.Task[bool] | None = None
        try:
            while True:
                free = self._concurrency - len(active)
                if free > 0 and not self._stopping:
                    claimed = await self._claim_or_wait(free, until_idle=until_idle)
                    for workflow in claimed:
                        active.add(asyncio.create_task(self._drive(workflow), name=workflow.id))
                    claims += len(claimed)
                    if claimed:
                        continue  # there may be more; claim until full or none is left
                if not active and (until_idle or self._stopping):
                    return claims
                if woken is None or woken.done():
                    self._wake.clear()
                    woken = asyncio.create_task(self._wake.wait())
                waiting: set[asyncio.Future[Any]] = {*active, woken}
                await asyncio.wait(
                    waiting,
                    timeout=None if until_idle else self._poll_interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for task in [task for task in active if task.done()]:
                    active.discard(task)
                    self._reap(task, until_idle=until_idle)
        finally:
            if woken is not None:
                woken.cancel()
            for task in active:
                task.cancel()
            await asyncio.gather(*active, return_exceptions=True)

    def _reap(self, task: asyncio.Task[None], *, until_idle: bool) -> None:
        error = task.exception()
        if error is None:
            return
        if until_idle:
            raise error
        # A worker outlives one workflow's trouble: its lease runs out and it is retried.
        logger.error("driving workflow %s failed", task.get_name(), exc_info=error)

    async def _claim_or_wait(self, limit: int, *, until_idle: bool) -> list[WorkflowRecord]:
        if until_idle:
            return await self._claim(limit)
        try:
            return await self._claim(limit)
        except (SQLAlchemyError, OSError):
            # The database is away; a long-running worker waits for it to come back.
            logger.warning("claiming workflows failed; retrying", exc_info=True)
            await asyncio.sleep(self._poll_interval)
            return []

    async def _claim(self, limit: int) -> list[WorkflowRecord]:
        now = self._clock()
        until = now + dt.timedelta(seconds=self._lease_seconds)
        async with self._store.transaction() as tx:
            claimed = await tx.workflows.claim(
                owner=self.worker_id, kinds=self.kinds, limit=limit, now=now, lease_until=until
            )
            for workflow in claimed:
                await tx.outbox.add(TOPIC, progress_message(workflow))
        if claimed:
            await self._committed()
        return claimed

    async def _drive(self, workflow: WorkflowRecord) -> None:
        definition = self._definitions[workflow.kind]
        await self._store.steps.create_missing(
            workflow.id, [(step.name, step.system) for step in definition.steps]
        )
        journal = Journal(
            self._store,
            workflow,
            owner=self.worker_id,
            lease_seconds=self._lease_seconds,
            clock=self._clock,
            committed=self._committed,
        )
        if workflow.attempts > self._max_claims:
            await journal.settle(
                WorkflowStatus.NEEDS_ATTENTION,
                error=f"claimed {workflow.attempts} times without settling; "
                "its workers may be crashing on it",
            )
            return
        execution = Execution(
            self._store,
            definition,
            journal,
            max_inline_delay=self._max_inline_delay,
            observer=self._observer,
        )
        this = asyncio.current_task()
        assert this is not None
        lost = asyncio.Event()
        renewer = asyncio.create_task(self._keep_lease(workflow.id, this, lost))
        try:
            with self._observer.run(workflow.kind, workflow.id):
                await execution.run()
            self._observer.ended(workflow.kind, journal.workflow.status.value)
        except LeaseLostError:
            logger.warning("worker %s lost workflow %s", self.worker_id, workflow.id)
        except asyncio.CancelledError:
            if not lost.is_set():
                raise
            this.uncancel()
            logger.warning("worker %s lost the lease on workflow %s", self.worker_id, workflow.id)
        finally:
            renewer.cancel()
            with suppress(asyncio.CancelledError):
                await renewer

    async def _keep_lease(
        self, workflow_id: str, driver: asyncio.Task[None], lost: asyncio.Event
    ) -> None:
        while True:
            await asyncio.sleep(self._lease_seconds / 3)
            until = self._clock() + dt.timedelta(seconds=self._lease_seconds)
            try:
                held = await self._store.workflows.renew_lease(workflow_id, self.worker_id, until)
            except (SQLAlchemyError, OSError):
                # The database may be back before the lease runs out; the fence on every
                # write protects the workflow if it is not.
                logger.warning("renewing the lease on %s failed", workflow_id, exc_info=True)
                continue
            if not held:
                lost.set()
                driver.cancel()
                return

    async def _committed(self) -> None:
        if self._publish is None:
            return
        try:
            await self._store.relay_outbox(self._publish)
        except Exception:  # the hook's failure: messages stay in the outbox for next time
            logger.exception("publishing outbox messages failed; they will be retried")

    # --- helpers -----------------------------------------------------------------

    def _definition(self, kind: str) -> WorkflowDefinition:
        try:
            return self._definitions[kind]
        except KeyError:
            raise UnknownWorkflowKindError(kind) from None

    async def _existing(
        self, tx: Transaction, key: str | None, input_hash: str
    ) -> WorkflowRecord | None:
        if key is None:
            return None
        existing = await tx.workflows.by_idempotency_key(key)
        if existing is not None and existing.input_hash != input_hash:
            raise IdempotencyConflictError(
                key,
                f"idempotency key {key!r} already started workflow {existing.id} "
                f"({existing.kind}) with a different input",
            )
        return existing

    async def _get(self, tx: Transaction, workflow_id: str) -> WorkflowRecord:
        workflow = await tx.workflows.get(workflow_id)
        if workflow is None:
            raise WorkflowNotFoundError(workflow_id)
        return workflow

    async def _audit(
        self,
        tx: Transaction,
        principal: str | None,
        action: str,
        before: WorkflowRecord,
        after: WorkflowRecord,
    ) -> None:
        if principal is None:
            return
        await tx.audit.record(
            principal,
            action,
            None,
            "Workflow",
            after.id,
            {"status": before.status.value, "phase": before.phase.value},
            {"status": after.status.value, "phase": after.phase.value},
            after.id,
        )


def request_hash(kind: str, input: Mapping[str, Any]) -> str:
    """Hash of a start request: the same kind and input give the same hash."""
    canonical = json.dumps({"kind": kind, "input": input}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()

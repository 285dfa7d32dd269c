"""The one place that wires workflow definitions, connectors and the store into a
running engine, and the command side the GraphQL mutations call.

    async with open_workflows(settings.store_url, connectors, publish=hook) as workflows:
        record = await workflows.start_project("006...", "key-1", principal="anonymous")

`open_workflows` opens the store (migrating it), starts one engine worker and stops it on
exit; tests and benchmarks can `bootstrap(store, connectors)` and drive the engine
themselves.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from gateway.store import (
    IdempotencyConflictError,
    Publish,
    StepRecord,
    Store,
    WorkflowRecord,
    WorkflowStatus,
)
from gateway.workflows import (
    invoicing,
    milestone_billing,
    quote_to_project,
    remedies,
    staffing_fill,
    time_to_billing,
)
from gateway.workflows.definition import WorkflowDefinition
from gateway.workflows.engine import Engine
from gateway.workflows.retry import RetryPolicy
from gateway.workflows.systems import Systems
from gateway.workflows.time_to_billing import SubmitTime
from sources.connector import Connector
from sources.records import SourceSystem, TimeEntry

log = logging.getLogger(__name__)

# Patient enough to ride out a source's circuit breaker opening (five seconds) twice.
SOURCE_RETRY = RetryPolicy(max_attempts=6, initial_delay=0.5, multiplier=2.0, max_delay=8.0)
LEASE_SECONDS = 10.0  # how long a dead worker's workflows wait before another takes them
STOP_GRACE_SECONDS = 10.0
ANONYMOUS = "anonymous"
# A workflow that ended like this changed nothing: the business key is free again.
ENDED_WITHOUT_EFFECT = frozenset(
    {WorkflowStatus.FAILED, WorkflowStatus.CANCELLED, WorkflowStatus.COMPENSATED}
)


def definitions(systems: Systems, *, retry: RetryPolicy = SOURCE_RETRY) -> list[WorkflowDefinition]:
    return [
        quote_to_project.definition(systems, retry),
        time_to_billing.definition(systems, retry),
        milestone_billing.definition(systems, retry),
        invoicing.definition(systems, retry),
        staffing_fill.definition(systems, retry),
        *remedies.definitions(systems, retry),
    ]


@dataclass
class Workflows:
    """The write side: start, retry and cancel workflows, and submit time.

    Every command is recorded in the audit log with its principal; a start repeated with
    the same idempotency key returns the first workflow and records nothing new.
    """

    engine: Engine
    store: Store
    systems: Systems

    async def start_project(
        self,
        opportunity_id: str,
        idempotency_key: str,
        *,
        start_date: dt.date | None = None,
        manager_id: str | None = None,
        principal: str = ANONYMOUS,
    ) -> WorkflowRecord:
        return await self._start(
            quote_to_project.KIND,
            quote_to_project.quote_input(opportunity_id, start_date, manager_id),
            idempotency_key,
            principal,
        )

    async def approve_time(
        self,
        time_entry_ids: Sequence[str],
        *,
        idempotency_key: str | None = None,
        principal: str = ANONYMOUS,
    ) -> WorkflowRecord:
        return await self._start(
            time_to_billing.KIND,
            time_to_billing.approve_input(time_entry_ids),
            idempotency_key,
            principal,
        )

    async def complete_milestone(
        self, milestone_id: str, *, idempotency_key: str | None = None, principal: str = ANONYMOUS
    ) -> WorkflowRecord:
        return await self._start(
            milestone_billing.KIND,
            milestone_billing.milestone_input(milestone_id),
            idempotency_key,
            principal,
        )

    async def generate_invoice(
        self,
        project_id: str,
        through: dt.date,
        idempotency_key: str,
        *,
        principal: str = ANONYMOUS,
    ) -> WorkflowRecord:
        return await self._start(
            invoicing.KIND, invoicing.invoice_input(project_id, through), idempotency_key, principal
        )

    async def fill_staffing_request(
        self,
        request_id: str,
        worker_id: str,
        *,
        today: dt.date | None = None,
        principal: str = ANONYMOUS,
    ) -> WorkflowRecord:
        """One fill per request, whoever asks with whatever key: a fill that is running or
        succeeded is returned to every later caller; after a fill failed (the person was
        not available), the next one may start. The request is the business key."""
        payload = staffing_fill.fill_input(request_id, worker_id, today or dt.date.today())
        attempt = 0
        while True:
            key = f"{staffing_fill.business_key(request_id)}:{attempt}"
            existing = await self.store.workflows.by_idempotency_key(key)
            if existing is None:
                try:
                    return await self._start(staffing_fill.KIND, payload, key, principal)
                except IdempotencyConflictError:
                    continue  # another caller started this attempt first: read it again
            if existing.status not in ENDED_WITHOUT_EFFECT:
                return existing
            attempt += 1

    async def remedy(
        self, kind: str, project_id: str, idempotency_key: str, *, principal: str = ANONYMOUS
    ) -> WorkflowRecord:
        """A remedy of `gateway.workflows.remedies` (`remedies.FINANCE_CODE` or
        `remedies.BILLING_SCHEDULE`) for the PSA project `project_id`."""
        if kind not in (remedies.FINANCE_CODE, remedies.BILLING_SCHEDULE):
            raise ValueError(f"no remedy workflow {kind!r}")
        return await self._start(
            kind, remedies.project_input(project_id), idempotency_key, principal
        )

    async def submit_time(self, command: SubmitTime, *, principal: str = ANONYMOUS) -> TimeEntry:
        return await time_to_billing.submit_time(
            self.systems, self.store, command, principal=principal
        )

    async def retry(self, workflow_id: str, *, principal: str = ANONYMOUS) -> WorkflowRecord:
        return await self.engine.retry(workflow_id, principal=principal)

    async def cancel(self, workflow_id: str, *, principal: str = ANONYMOUS) -> WorkflowRecord:
        return await self.engine.cancel(workflow_id, principal=principal)

    async def get(self, workflow_id: str) -> tuple[WorkflowRecord, list[StepRecord]] | None:
        async with self.store.snapshot() as tx:
            workflow = await tx.workflows.get(workflow_id)
            if workflow is None:
                return None
            return workflow, await tx.steps.for_workflow(workflow_id)

    async def _start(
        self, kind: str, input: Mapping[str, Any], key: str | None, principal: str
    ) -> WorkflowRecord:
        before = await self.store.workflows.by_idempotency_key(key) if key else None
        record = await self.engine.start(kind, input, idempotency_key=key, principal=principal)
        if before is None:
            await self.store.audit.record(
                principal, f"workflow.start.{kind}", None, "Workflow", record.id, None,
                {"kind": kind, "input": dict(input), "idempotencyKey": key}, record.id,
            )  # fmt: skip
        return record


def bootstrap(
    store: Store,
    connectors: Mapping[SourceSystem, Connector],
    *,
    publish: Publish | None = None,
    retry: RetryPolicy = SOURCE_RETRY,
    **engine_options: Any,
) -> Workflows:
    """Definitions bound to `connectors`, in an engine on `store` (not started)."""
    systems = Systems(connectors)
    engine_options.setdefault("lease_seconds", LEASE_SECONDS)
    engine = Engine(store, definitions(systems, retry=retry), publish=publish, **engine_options)
    return Workflows(engine, store, systems)


async def open_store(url: str) -> Store:
    """The store at `url`, migrated; a SQLite file's folder is made if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return await Store.open(url)


@asynccontextmanager
async def running(workflows: Workflows) -> AsyncIterator[Workflows]:
    """One engine worker for the block; on exit it stops claiming and finishes its steps
    for a while, then is cancelled (its workflows resume on any worker later)."""
    worker = asyncio.create_task(workflows.engine.run_forever(), name="workflow-worker")
    try:
        yield workflows
    finally:
        workflows.engine.stop()
        try:
            await asyncio.wait_for(asyncio.shield(worker), STOP_GRACE_SECONDS)
        except TimeoutError:
            worker.cancel()
            with suppress(asyncio.CancelledError):
                await worker


@asynccontextmanager
async def open_workflows(
    store_url: str,
    connectors: Mapping[SourceSystem, Connector],
    *,
    publish: Publish | None = None,
    **options: Any,
) -> AsyncIterator[Workflows]:
    """Store opened, engine running, for the life of the block."""
    store = await open_store(store_url)
    try:
        async with running(bootstrap(store, connectors, publish=publish, **options)) as workflows:
            yield workflows
    finally:
        await store.close()

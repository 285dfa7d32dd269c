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

from gateway.settings import WorkflowRetryConfig, WorkflowsConfig
from gateway.store import (
    Publish,
    StepRecord,
    Store,
    Transaction,
    WorkflowRecord,
)
from gateway.workflows import (
    invoicing,
    job_status,
    milestone_billing,
    quote_to_project,
    receivables,
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


def retry_policy(config: WorkflowRetryConfig) -> RetryPolicy:
    """A step's retry policy from settings: bounded by the deadline, not by a count."""
    return RetryPolicy(
        max_attempts=None,
        initial_delay=config.initial_delay_s,
        multiplier=config.multiplier,
        max_delay=config.max_delay_s,
        jitter=config.jitter,
        deadline=config.deadline_s,
    )


SOURCE_RETRY = retry_policy(WorkflowRetryConfig())
LEASE_SECONDS = 10.0  # how long a dead worker's workflows wait before another takes them
STOP_GRACE_SECONDS = 10.0
ANONYMOUS = "anonymous"


def definitions(
    systems: Systems,
    *,
    retry: RetryPolicy = SOURCE_RETRY,
    retry_by_kind: Mapping[str, RetryPolicy] | None = None,
) -> list[WorkflowDefinition]:
    """Every workflow kind; each kind's steps retry per `retry_by_kind`, else `retry`."""
    by_kind = retry_by_kind or {}
    return [
        *(
            module.definition(systems, by_kind.get(module.KIND, retry))
            for module in (
                quote_to_project,
                time_to_billing,
                milestone_billing,
                invoicing,
                staffing_fill,
                job_status,
                receivables,
            )
        ),
        *remedies.definitions(systems, retry),
    ]


def engine_options(config: WorkflowsConfig) -> dict[str, Any]:
    """`bootstrap` keyword arguments from the `workflows:` settings block."""
    return {
        "retry": retry_policy(config.retry),
        "retry_by_kind": {
            kind: retry_policy(kind_config) for kind, kind_config in config.kinds.items()
        },
        "concurrency": config.concurrency,
        "max_inline_delay": config.max_inline_delay_s,
    }


@dataclass
class Workflows:
    """The write side: start, retry and cancel workflows, and submit time.

    Every command is recorded in the audit log with its principal; a start repeated with
    the same idempotency key, or for the same business key (one project per opportunity,
    one billing per milestone: see keys.py), returns the first workflow and records
    nothing new.
    """

    engine: Engine
    store: Store
    systems: Systems

    async def start(
        self,
        kind: str,
        input: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        principal: str = ANONYMOUS,
    ) -> WorkflowRecord:
        """Any workflow kind by its input (the automations start workflows this way)."""
        return await self._start(kind, input, idempotency_key, principal)

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
        """One fill per request, whoever asks: a fill that is running or succeeded is
        returned to every later caller; after a fill failed (the person was not
        available), the next one may start. The request is the business key."""
        payload = staffing_fill.fill_input(request_id, worker_id, today or dt.date.today())
        return await self._start(staffing_fill.KIND, payload, None, principal)

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
        async def audit(tx: Transaction, created: WorkflowRecord) -> None:
            # Only a start that created the workflow is audited: a repeat with its key
            # finds the first one and writes nothing.
            await tx.audit.record(
                principal, f"workflow.start.{kind}", None, "Workflow", created.id, None,
                {"kind": kind, "input": dict(input), "idempotencyKey": key}, created.id,
            )  # fmt: skip

        return await self.engine.start(
            kind, input, idempotency_key=key, principal=principal, also=audit
        )


def bootstrap(
    store: Store,
    connectors: Mapping[SourceSystem, Connector],
    *,
    publish: Publish | None = None,
    retry: RetryPolicy = SOURCE_RETRY,
    retry_by_kind: Mapping[str, RetryPolicy] | None = None,
    **options: Any,
) -> Workflows:
    """Definitions bound to `connectors`, in an engine on `store` (not started)."""
    systems = Systems(connectors)
    options.setdefault("lease_seconds", LEASE_SECONDS)
    made = definitions(systems, retry=retry, retry_by_kind=retry_by_kind)
    engine = Engine(store, made, publish=publish, **options)
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

"""What the store hands back: frozen records, one per table, and the status vocabularies.

Records are plain values detached from any connection, so they can cross task and
transaction boundaries freely. Timestamps are timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class WorkflowStatus(StrEnum):
    """Status of a workflow and of each of its steps (the contract's `WorkflowStatus`)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    COMPENSATED = "COMPENSATED"
    NEEDS_ATTENTION = "NEEDS_ATTENTION"
    CANCELLED = "CANCELLED"


# Settled: no worker will touch the workflow again unless someone retries or cancels it.
SETTLED_STATUSES = frozenset(
    {
        WorkflowStatus.SUCCEEDED,
        WorkflowStatus.FAILED,
        WorkflowStatus.COMPENSATED,
        WorkflowStatus.NEEDS_ATTENTION,
        WorkflowStatus.CANCELLED,
    }
)


class Phase(StrEnum):
    """Which way a workflow is moving: doing its steps, or undoing them."""

    FORWARD = "FORWARD"
    COMPENSATING = "COMPENSATING"  # a step failed for good; undoing completed steps
    CANCELLING = "CANCELLING"  # cancelled by a person; undoing completed steps


@dataclass(frozen=True, slots=True)
class WorkflowRecord:
    id: str
    kind: str
    status: WorkflowStatus
    phase: Phase
    idempotency_key: str | None
    input_hash: str
    input: dict[str, Any]
    result: Any
    error: str | None
    principal: str | None
    attempts: int  # how many times a worker has claimed it
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    next_run_at: dt.datetime | None
    lease_owner: str | None
    lease_until: dt.datetime | None
    version: int  # bumped on every change, steps included; orders progress messages


@dataclass(frozen=True, slots=True)
class StepRecord:
    workflow_id: str
    name: str
    position: int
    system: str | None
    status: WorkflowStatus
    attempts: int
    output: Any
    error: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    scope: str
    key: str
    request_hash: str
    workflow_id: str | None
    response: Any
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    topic: str
    payload: dict[str, Any]
    created_at: dt.datetime
    published_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class CrosswalkEntry:
    entity: str
    system: str
    native_id: str
    global_key: str
    created_by_workflow: str | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: dt.datetime
    principal: str
    action: str
    system: str | None
    object_type: str
    object_id: str
    before: Any
    after: Any
    workflow_id: str | None


@dataclass(frozen=True, slots=True)
class EventRecord:
    cursor: int
    type: str
    occurred_at: dt.datetime
    source: str | None
    subject_id: str | None
    data: Any
    dedup_key: str | None


@dataclass(frozen=True, slots=True)
class ChangeCursor:
    source: str
    entity: str
    cursor: str
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    kind: str
    payload: Any
    error: str
    attempts: int
    created_at: dt.datetime
    replayed_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class BusinessExceptionRow:
    """One condition found in the sources; see `gateway.visibility`."""

    id: str
    kind: str
    status: str  # OPEN ACKNOWLEDGED RESOLVED
    owner_team: str
    subject_type: str | None
    subject_key: str | None
    source: str | None
    summary: str
    suggested_action: str | None
    amount_at_risk: str | None
    currency: str | None
    since: dt.datetime | None
    detected_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    note: str | None
    resolved_at: dt.datetime | None
    updated_at: dt.datetime

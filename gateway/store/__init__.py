"""The gateway's durable state: workflows, outbox, event log, crosswalk, audit and more.

Same code on SQLite (`sqlite+aiosqlite:///path`, one process) and PostgreSQL
(`postgresql+asyncpg://...`, many replicas). Open with `await Store.open(url)`.
"""

from __future__ import annotations

from gateway.store.errors import (
    CrosswalkConflictError,
    IdempotencyConflictError,
    LeaseLostError,
    NestedTransactionError,
    StoreError,
)
from gateway.store.migrate import migrate
from gateway.store.records import (
    SETTLED_STATUSES,
    AuditEntry,
    ChangeCursor,
    CrosswalkEntry,
    DeadLetter,
    EventRecord,
    IdempotencyRecord,
    Lease,
    OutboxMessage,
    Phase,
    StepRecord,
    WorkflowRecord,
    WorkflowStatus,
)
from gateway.store.store import Publish, Store, Transaction

__all__ = [
    "SETTLED_STATUSES",
    "AuditEntry",
    "ChangeCursor",
    "CrosswalkConflictError",
    "CrosswalkEntry",
    "DeadLetter",
    "EventRecord",
    "IdempotencyConflictError",
    "IdempotencyRecord",
    "Lease",
    "LeaseLostError",
    "NestedTransactionError",
    "OutboxMessage",
    "Phase",
    "Publish",
    "StepRecord",
    "Store",
    "StoreError",
    "Transaction",
    "WorkflowRecord",
    "WorkflowStatus",
    "migrate",
]

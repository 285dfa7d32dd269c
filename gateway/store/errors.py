"""Errors the store raises, classified by what the caller should do.

StoreError                    anything the store refuses
├── IdempotencyConflictError       the key was used before with a different request (client bug)
├── CrosswalkConflictError         the native id or global key is already linked elsewhere
├── LeaseLostError                 another worker owns the workflow now; stop touching it
└── NestedTransactionError         a write transaction was opened inside another (SQLite would
                              deadlock); use the open transaction's repositories instead
"""

from __future__ import annotations


class StoreError(Exception):
    pass


class IdempotencyConflictError(StoreError):
    def __init__(self, key: str, message: str | None = None) -> None:
        super().__init__(
            message or f"idempotency key {key!r} was already used with a different request"
        )
        self.key = key


class CrosswalkConflictError(StoreError):
    pass


class LeaseLostError(StoreError):
    def __init__(self, workflow_id: str, owner: str) -> None:
        super().__init__(f"worker {owner} no longer holds the lease on workflow {workflow_id}")
        self.workflow_id = workflow_id
        self.owner = owner


class NestedTransactionError(StoreError):
    pass

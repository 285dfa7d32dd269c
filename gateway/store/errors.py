"""Errors the store raises, classified by what the caller should do.

StoreError                    anything the store refuses
├── IdempotencyConflict       the key was used before with a different request (client bug)
├── CrosswalkConflict         the native id or global key is already linked elsewhere
├── LeaseLost                 another worker owns the workflow now; stop touching it
└── NestedTransaction         a write transaction was opened inside another (SQLite would
                              deadlock); use the open transaction's repositories instead
"""

from __future__ import annotations


class StoreError(Exception):
    pass


class IdempotencyConflict(StoreError):
    def __init__(self, key: str, message: str | None = None) -> None:
        super().__init__(
            message or f"idempotency key {key!r} was already used with a different request"
        )
        self.key = key


class CrosswalkConflict(StoreError):
    pass


class LeaseLost(StoreError):
    def __init__(self, workflow_id: str, owner: str) -> None:
        super().__init__(f"worker {owner} no longer holds the lease on workflow {workflow_id}")
        self.workflow_id = workflow_id
        self.owner = owner


class NestedTransaction(StoreError):
    pass

"""Errors the workflow engine raises to its callers.

WorkflowError
├── UnknownWorkflowKindError     no definition registered for the kind
├── WorkflowNotFoundError        no workflow with that id
├── WorkflowStateError      the workflow's status does not allow that (retry a success...)
└── InvalidDefinitionError       a definition's steps do not form a DAG
IdempotencyConflictError         (from the store) same key, different input
"""

from __future__ import annotations

from gateway.store.errors import IdempotencyConflictError


class WorkflowError(Exception):
    pass


class UnknownWorkflowKindError(WorkflowError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"no workflow definition for kind {kind!r}")
        self.kind = kind


class WorkflowNotFoundError(WorkflowError):
    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"no workflow {workflow_id}")
        self.workflow_id = workflow_id


class WorkflowStateError(WorkflowError):
    pass


class InvalidDefinitionError(WorkflowError):
    pass


__all__ = [
    "IdempotencyConflictError",
    "InvalidDefinitionError",
    "UnknownWorkflowKindError",
    "WorkflowError",
    "WorkflowNotFoundError",
    "WorkflowStateError",
]

"""Errors the workflow engine raises to its callers.

WorkflowError
├── UnknownWorkflowKind     no definition registered for the kind
├── WorkflowNotFound        no workflow with that id
├── WorkflowStateError      the workflow's status does not allow that (retry a success...)
└── InvalidDefinition       a definition's steps do not form a DAG
IdempotencyConflict         (from the store) same key, different input
"""

from __future__ import annotations

from gateway.store.errors import IdempotencyConflict


class WorkflowError(Exception):
    pass


class UnknownWorkflowKind(WorkflowError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"no workflow definition for kind {kind!r}")
        self.kind = kind


class WorkflowNotFound(WorkflowError):
    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"no workflow {workflow_id}")
        self.workflow_id = workflow_id


class WorkflowStateError(WorkflowError):
    pass


class InvalidDefinition(WorkflowError):
    pass


__all__ = [
    "IdempotencyConflict",
    "InvalidDefinition",
    "UnknownWorkflowKind",
    "WorkflowError",
    "WorkflowNotFound",
    "WorkflowStateError",
]

"""Durable, orchestrated workflows: definitions of steps, and the engine that runs them.

A workflow kind is a `WorkflowDefinition` of `Step`s (plain async functions taking a
`StepContext`); an `Engine` starts workflows, runs them on leased workers and retries
or cancels them. docs/workflows.md has the guarantees.
"""

from __future__ import annotations

from gateway.store import IdempotencyConflictError, StepRecord, WorkflowRecord, WorkflowStatus
from gateway.workflows.context import StepContext, Write
from gateway.workflows.definition import (
    Compensation,
    OnFailure,
    Step,
    StepFunction,
    WorkflowDefinition,
)
from gateway.workflows.engine import Engine, request_hash
from gateway.workflows.errors import (
    InvalidDefinitionError,
    UnknownWorkflowKindError,
    WorkflowError,
    WorkflowNotFoundError,
    WorkflowStateError,
)
from gateway.workflows.execution import StepOutputError
from gateway.workflows.journal import TOPIC, progress_message
from gateway.workflows.retry import NO_RETRY, RetryPolicy, is_retriable

__all__ = [
    "NO_RETRY",
    "TOPIC",
    "Compensation",
    "Engine",
    "IdempotencyConflictError",
    "InvalidDefinitionError",
    "OnFailure",
    "RetryPolicy",
    "Step",
    "StepContext",
    "StepFunction",
    "StepOutputError",
    "StepRecord",
    "UnknownWorkflowKindError",
    "WorkflowDefinition",
    "WorkflowError",
    "WorkflowNotFoundError",
    "WorkflowRecord",
    "WorkflowStateError",
    "WorkflowStatus",
    "Write",
    "is_retriable",
    "progress_message",
    "request_hash",
]

"""The hook through which workflow runs and steps are watched (metrics, traces).

The engine calls `run(kind, workflow_id)` around each time it drives a workflow and
`step(kind, name, attempt)` around each attempt of a step; both are context managers,
so whatever a step does upstream happens inside them (a trace's step span is the parent
of the step's upstream calls). `ended(kind, status)` tells where a run left the workflow.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Protocol


class WorkflowObserver(Protocol):
    def run(self, kind: str, workflow_id: str) -> AbstractContextManager[object]: ...

    def step(self, kind: str, step: str, attempt: int) -> AbstractContextManager[object]: ...

    def ended(self, kind: str, status: str) -> None: ...


class Unobserved:
    """The default: nothing is watched."""

    def run(self, kind: str, workflow_id: str) -> AbstractContextManager[object]:
        return nullcontext()

    def step(self, kind: str, step: str, attempt: int) -> AbstractContextManager[object]:
        return nullcontext()

    def ended(self, kind: str, status: str) -> None:
        return None

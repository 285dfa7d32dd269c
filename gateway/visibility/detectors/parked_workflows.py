"""WORKFLOW_NEEDS_ATTENTION: a workflow parked for a person (its error says why)."""

from __future__ import annotations

from gateway.store import WorkflowStatus
from gateway.visibility.detectors.base import Detector, ScanContext
from gateway.visibility.findings import ExceptionKind, Finding

KIND = ExceptionKind.WORKFLOW_NEEDS_ATTENTION
MAX_PARKED = 1000


async def detect(ctx: ScanContext) -> list[Finding]:
    if ctx.store is None:
        return []
    parked = await ctx.store.workflows.find(status=WorkflowStatus.NEEDS_ATTENTION, limit=MAX_PARKED)
    return [
        Finding(
            KIND,
            "Workflow",
            workflow.id,
            None,
            f"Workflow {workflow.kind} needs attention: {(workflow.error or '?')[:300]}",
            "Fix the cause, then retry the workflow",
            None,
            None,
            workflow.finished_at or workflow.created_at,
        )
        for workflow in parked
    ]


DETECTOR = Detector(KIND, detect, on_events=frozenset({"WorkflowFinished", "WorkflowStepChanged"}))

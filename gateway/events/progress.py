"""Workflow progress as domain events: the engine's `workflow` outbox messages, appended
to the log as `WorkflowStepChanged` (a step moved) and `WorkflowFinished` (the workflow
settled). Hand `WorkflowProgress(log).publish` to the engine as its `publish` hook.

The relay delivers at least once; the dedup key (workflow, version, step) makes a message
published twice one event.
"""

from __future__ import annotations

from typing import Any

from gateway.events.domain import DomainEvent, IdEncoder, workflow_event
from gateway.events.log import EventLog
from gateway.store import SETTLED_STATUSES, OutboxMessage

TOPIC = "workflow"  # the engine's outbox topic for progress


def progress_events(
    message: OutboxMessage, subject_id: IdEncoder | None = None
) -> list[DomainEvent]:
    if message.topic != TOPIC:
        return []
    payload: dict[str, Any] = message.payload
    workflow_id = str(payload["workflow_id"])
    version = str(payload.get("version"))
    status = str(payload.get("status"))
    step = payload.get("step")
    common = {"kind": payload.get("kind"), "status": status}
    if step is not None:
        data = {**common, "step": step, "stepStatus": payload.get("step_status")}
        if payload.get("error"):
            data["error"] = payload["error"]
        return [workflow_event("WorkflowStepChanged", workflow_id, data, f"{version}:{step}")]
    if status in {s.value for s in SETTLED_STATUSES}:
        data = {**common, "error": payload.get("error")}
        result = payload.get("result")
        if subject_id is not None and isinstance(result, dict) and result.get("type") == "Project":
            # A workflow that touched a project's figures wakes its `projectUpdated` subscribers.
            data["projectId"] = subject_id("Project", str(result["key"]))
        return [workflow_event("WorkflowFinished", workflow_id, data, f"{version}:{status}")]
    return []


class WorkflowProgress:
    def __init__(self, log: EventLog, *, subject_id: IdEncoder | None = None) -> None:
        self._log = log
        self._subject_id = subject_id

    async def publish(self, message: OutboxMessage) -> None:
        await self._log.append(progress_events(message, self._subject_id))

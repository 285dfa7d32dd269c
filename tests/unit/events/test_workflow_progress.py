"""The engine's progress messages become WorkflowStepChanged and WorkflowFinished events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.events.log import EventLog
from gateway.events.progress import WorkflowProgress, progress_events
from gateway.store import OutboxMessage

NOW = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


def message(topic: str = "workflow", **payload: Any) -> OutboxMessage:
    base = {
        "workflow_id": "wf-1",
        "kind": "quote_to_project",
        "status": "RUNNING",
        "phase": "FORWARD",
        "version": 3,
        "step": None,
        "step_status": None,
        "error": None,
    }
    return OutboxMessage(1, topic, {**base, **payload}, NOW, None)


def test_a_step_moving_is_a_step_changed_event():
    [event] = progress_events(message(step="create_psa_project", step_status="SUCCEEDED"))

    assert event.type == "WorkflowStepChanged"
    assert (event.subject.type, event.subject.key) == ("Workflow", "wf-1")  # type: ignore[union-attr]
    assert event.data == {
        "workflowId": "wf-1",
        "kind": "quote_to_project",
        "status": "RUNNING",
        "step": "create_psa_project",
        "stepStatus": "SUCCEEDED",
    }


def test_a_settled_workflow_is_a_finished_event():
    [event] = progress_events(message(status="SUCCEEDED", version=9))

    assert event.type == "WorkflowFinished"
    assert event.data["status"] == "SUCCEEDED"


def test_a_workflow_still_moving_without_a_step_is_no_event():
    assert progress_events(message(status="RUNNING")) == []
    assert progress_events(message(topic="something_else")) == []


async def test_a_message_relayed_twice_is_one_event(event_log: EventLog):
    progress = WorkflowProgress(event_log)
    step = message(step="validate", step_status="RUNNING")

    await progress.publish(step)
    await progress.publish(step)
    await progress.publish(message(step="validate", step_status="SUCCEEDED", version=4))

    assert [e.data["stepStatus"] for e in await event_log.read_after(None)] == [
        "RUNNING",
        "SUCCEEDED",
    ]

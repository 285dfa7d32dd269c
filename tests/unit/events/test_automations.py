"""Automations as configuration: which events an automation takes, the input it makes of
them, and that one switched off has no consumer at all."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gateway.events.deliveries import DeliveryError
from gateway.events.triggers import (
    automation_triggers,
    idempotency_key,
    joined,
    wanted,
    workflow_input,
)
from gateway.settings import AutomationConfig, EventsConfig
from gateway.store import EventRecord


def event(type: str, **data: Any) -> EventRecord:
    return EventRecord(
        cursor=7, type=type, occurred_at=dt.datetime.now(dt.UTC), source="PSA",
        subject_id="UHJvamVjdDox", data=data, dedup_key=None,
    )  # fmt: skip


def automation(name: str) -> AutomationConfig:
    return next(a for a in EventsConfig().automations if a.name == name)


def test_every_automation_is_off_unless_a_deployment_turns_it_on() -> None:
    assert [a.name for a in EventsConfig().automations] == [
        "opportunity-won-to-project",
        "time-approved-to-erp",
        "milestone-completed-to-erp",
        "project-status-to-erp",
        "invoice-to-receivables",
    ]
    assert not any(a.enabled for a in EventsConfig().automations)
    assert automation_triggers(EventsConfig().automations, None) == []


def test_an_automation_switched_on_becomes_one_consumer_of_its_event_types() -> None:
    on = automation("project-status-to-erp").model_copy(update={"enabled": True})

    async def start(*args: object) -> None: ...

    [consumer] = automation_triggers([on, automation("time-approved-to-erp")], start)

    assert consumer.name == "automation:project-status-to-erp"
    assert consumer.types == frozenset({"ProjectStatusChanged"})


def test_an_automation_on_without_a_way_to_start_workflows_is_refused() -> None:
    on = automation("time-approved-to-erp").model_copy(update={"enabled": True})
    with pytest.raises(ValueError, match="time-approved-to-erp"):
        automation_triggers([on], None)


def test_the_input_is_made_from_the_event() -> None:
    made = workflow_input(automation("project-status-to-erp"), event("X", id="42", to="ACTIVE"))
    assert made == {"project_id": "42", "status": "ACTIVE"}
    entries = workflow_input(automation("time-approved-to-erp"), event("TimeApproved", id="9"))
    assert entries == {"time_entry_ids": ["9"]}


def test_an_event_without_what_the_input_needs_is_a_delivery_error() -> None:
    with pytest.raises(DeliveryError, match="project-status-to-erp"):
        workflow_input(automation("project-status-to-erp"), event("X", id="42"))


def test_when_narrows_the_events_an_automation_takes() -> None:
    status = automation("project-status-to-erp")
    assert wanted(status, event("ProjectStatusChanged", id="1", to="COMPLETED"))
    assert not wanted(status, event("ProjectStatusChanged", id="1", to="ON_HOLD"))


def test_the_same_input_gives_the_same_idempotency_key() -> None:
    first = idempotency_key("a", "approve_time", {"time_entry_ids": ["1"]})
    assert first == idempotency_key("a", "approve_time", {"time_entry_ids": ["1"]})
    assert first != idempotency_key("a", "approve_time", {"time_entry_ids": ["2"]})


def test_yaml_reads_an_unquoted_on_key_as_true_and_it_still_means_on() -> None:
    parsed = AutomationConfig.model_validate(
        {"name": "x", True: ["TimeApproved"], "workflow": "approve_time", "input": {}}
    )
    assert parsed.on == ["TimeApproved"]


def test_inputs_of_events_taken_together_join_where_only_their_lists_differ() -> None:
    approvals = [{"time_entry_ids": ["1"]}, {"time_entry_ids": ["2"]}, {"time_entry_ids": ["1"]}]
    assert joined(approvals) == [{"time_entry_ids": ["1", "2"]}]
    statuses = [{"project_id": "1", "status": "ACTIVE"}, {"project_id": "2", "status": "ACTIVE"}]
    assert joined(statuses) == statuses


def test_the_replaced_quote_to_project_switch_is_refused_with_what_replaces_it() -> None:
    with pytest.raises(ValueError, match="opportunity-won-to-project"):
        EventsConfig.model_validate({"auto_start_quote_to_project": True})

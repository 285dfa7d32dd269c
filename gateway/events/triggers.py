"""Automations: domain events that start workflows by themselves, as configured.

Every entry of `events.automations` that is enabled becomes one log consumer: each event
of its types (and matching its `when`) starts its workflow with an input made from the
event. The workflow's business key derives from that input (one project per opportunity,
one posting per approved entry, ...), and the idempotency key from the automation and
the input, so the same event seen twice, by a second gateway process, or replayed from
the dead letters lands on the one workflow; a person who already acted through a
mutation owns the key, and the automation joins their workflow instead of acting again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from gateway.events.deliveries import Consumer, DeliveryError
from gateway.settings import AutomationConfig
from gateway.store import EventRecord

PRINCIPAL_PREFIX = "automation:"

StartWorkflow = Callable[[str, Mapping[str, Any], str, str], Awaitable[object]]
"""start(kind, input, idempotency_key, principal): a workflow started by an automation."""


def principal(automation_name: str) -> str:
    """Who an automation's workflows are started by (their runs are counted by it)."""
    return f"{PRINCIPAL_PREFIX}{automation_name}"


def consumer_name(automation_name: str) -> str:
    return f"automation:{automation_name}"


def idempotency_key(automation_name: str, kind: str, input: Mapping[str, Any]) -> str:
    canonical = json.dumps({"kind": kind, "input": input}, sort_keys=True, default=str)
    return f"{principal(automation_name)}:{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"


def workflow_input(automation: AutomationConfig, event: EventRecord) -> dict[str, Any]:
    """The automation's input template filled in from `event`."""
    data = event.data if isinstance(event.data, dict) else {}
    values = {"data": data, "subject": event.subject_id, "type": event.type}

    def fill(template: Any) -> Any:
        if isinstance(template, str):
            try:
                return template.format_map(values)
            except (KeyError, IndexError) as error:
                raise DeliveryError(
                    f"event {event.cursor} ({event.type}) has no {error} for automation "
                    f"{automation.name}"
                ) from None
        if isinstance(template, list):
            return [fill(item) for item in template]
        if isinstance(template, dict):
            return {name: fill(value) for name, value in template.items()}
        return template

    filled = fill(automation.input)
    assert isinstance(filled, dict)
    return filled


def wanted(automation: AutomationConfig, event: EventRecord) -> bool:
    data = event.data if isinstance(event.data, dict) else {}
    return all(data.get(field) in values for field, values in automation.when.items())


def joined(inputs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Inputs that differ only in their list values, joined into one (lists concatenated,
    repeats dropped); the others kept apart, in order."""
    groups: dict[str, dict[str, Any]] = {}
    for input in inputs:
        fixed = {k: v for k, v in input.items() if not isinstance(v, list)}
        group = groups.setdefault(json.dumps(fixed, sort_keys=True, default=str), dict(fixed))
        for name, value in input.items():
            if isinstance(value, list):
                group[name] = list(dict.fromkeys([*group.get(name, []), *value]))
    return list(groups.values())


def automation_trigger(automation: AutomationConfig, start: StartWorkflow) -> Consumer:
    async def begin(input: dict[str, Any]) -> None:
        await start(
            automation.workflow,
            input,
            idempotency_key(automation.name, automation.workflow, input),
            principal(automation.name),
        )

    async def on_event(event: EventRecord) -> None:
        if wanted(automation, event):
            await begin(workflow_input(automation, event))

    async def on_events(events: Sequence[EventRecord]) -> None:
        inputs = [workflow_input(automation, e) for e in events if wanted(automation, e)]
        for input in joined(inputs):
            await begin(input)

    return Consumer(
        consumer_name(automation.name),
        on_event,
        frozenset(automation.on),
        handle_batch=on_events,
        batch_max=automation.batch,
    )


def automation_triggers(
    automations: list[AutomationConfig], start: StartWorkflow | None
) -> list[Consumer]:
    """One consumer per enabled automation."""
    enabled = [automation for automation in automations if automation.enabled]
    if not enabled:
        return []
    if start is None:
        raise ValueError(
            f"automations {[a.name for a in enabled]} are on but no workflow starter was given"
        )
    return [automation_trigger(automation, start) for automation in enabled]

"""A workflow kind as data: named steps, what each comes after, how each fails.

    definition = WorkflowDefinition(
        "quote_to_project",
        steps=[
            Step("validate", validate_opportunity, system="CRM"),
            Step("customer", ensure_customer, after=["validate"], system="ERP"),
            Step("project", create_project, compensate=close_project, after=["validate"]),
            Step("write_back", write_back, after=["customer", "project"], system="CRM"),
        ],
        result=lambda outputs: outputs["project"],
    )

Steps whose `after` steps have all succeeded run concurrently. Each step function must be
idempotent: a step that was running when its worker died runs again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gateway.workflows.context import StepContext
from gateway.workflows.errors import InvalidDefinitionError
from gateway.workflows.keys import BusinessKey
from gateway.workflows.retry import RetryPolicy

StepFunction = Callable[[StepContext], Awaitable[Any]]
Compensation = Callable[[StepContext], Awaitable[None]]


class OnFailure(StrEnum):
    """What a step's terminal failure does to its workflow."""

    COMPENSATE = "COMPENSATE"  # undo completed steps in reverse order; ends COMPENSATED
    PARK = "PARK"  # stop as NEEDS_ATTENTION for a person to retry or cancel


@dataclass(frozen=True)
class Step:
    """One named step: `run(ctx)` returns its JSON output; `compensate(ctx)` undoes it."""

    name: str
    run: StepFunction
    compensate: Compensation | None = None
    after: Sequence[str] = ()
    system: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_failure: OnFailure | None = None  # None: the workflow's
    timeout: float | None = None  # seconds per attempt; a timeout is retriable

    def __post_init__(self) -> None:
        object.__setattr__(self, "after", tuple(self.after))


@dataclass(frozen=True)
class WorkflowDefinition:
    kind: str
    steps: Sequence[Step]
    on_failure: OnFailure = OnFailure.COMPENSATE
    # The workflow's result from its steps' outputs (e.g. a reference to what it made).
    result: Callable[[Mapping[str, Any]], Any] | None = None
    # The business fact a workflow's input is about; one workflow per key at a time.
    business_key: Callable[[Mapping[str, Any]], BusinessKey] | None = None
    _by_name: dict[str, Step] = field(init=False, repr=False, compare=False)
    _order: tuple[Step, ...] = field(init=False, repr=False, compare=False)
    _ancestors: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        if not steps:
            raise InvalidDefinitionError(f"{self.kind}: a workflow needs at least one step")
        by_name = {step.name: step for step in steps}
        if len(by_name) != len(steps):
            raise InvalidDefinitionError(f"{self.kind}: step names must be unique")
        for step in steps:
            unknown = set(step.after) - set(by_name)
            if unknown:
                raise InvalidDefinitionError(
                    f"{self.kind}.{step.name}: unknown steps {sorted(unknown)}"
                )
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_order", _topological(self.kind, steps))
        object.__setattr__(self, "_ancestors", _ancestors(self._order))

    def step(self, name: str) -> Step:
        return self._by_name[name]

    @property
    def order(self) -> tuple[Step, ...]:
        """Every step after all the steps it comes after; ties in declaration order."""
        return self._order

    def ancestors(self, name: str) -> frozenset[str]:
        """The steps `name` comes after, directly or through others."""
        return self._ancestors[name]

    def failure_policy(self, name: str) -> OnFailure:
        return self._by_name[name].on_failure or self.on_failure


def _topological(kind: str, steps: tuple[Step, ...]) -> tuple[Step, ...]:
    ordered: list[Step] = []
    placed: set[str] = set()
    remaining = list(steps)
    while remaining:
        ready = [step for step in remaining if set(step.after) <= placed]
        if not ready:
            cycle = sorted(step.name for step in remaining)
            raise InvalidDefinitionError(f"{kind}: steps {cycle} depend on each other in a cycle")
        for step in ready:
            ordered.append(step)
            placed.add(step.name)
            remaining.remove(step)
    return tuple(ordered)


def _ancestors(order: tuple[Step, ...]) -> dict[str, frozenset[str]]:
    found: dict[str, frozenset[str]] = {}
    for step in order:
        inherited = (found[parent] for parent in step.after)
        found[step.name] = frozenset(step.after).union(*inherited)
    return found

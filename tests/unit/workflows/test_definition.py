"""Definitions: steps form a DAG, checked when the definition is made."""

from __future__ import annotations

import pytest

from gateway.workflows import InvalidDefinitionError, OnFailure, Step, WorkflowDefinition


async def _noop(ctx):
    return None


def _steps(*pairs: tuple[str, list[str]]) -> list[Step]:
    return [Step(name, _noop, after=after) for name, after in pairs]


def test_steps_are_ordered_after_what_they_depend_on():
    definition = WorkflowDefinition(
        "demo",
        _steps(
            ("report", ["bill", "staff"]),
            ("bill", ["create"]),
            ("create", []),
            ("staff", ["create"]),
        ),
    )

    assert [s.name for s in definition.order] == ["create", "bill", "staff", "report"]
    assert definition.ancestors("report") == {"create", "bill", "staff"}
    assert definition.ancestors("create") == frozenset()


def test_a_step_failure_policy_falls_back_to_the_workflow_one():
    definition = WorkflowDefinition(
        "demo",
        [Step("a", _noop), Step("b", _noop, on_failure=OnFailure.PARK)],
        on_failure=OnFailure.COMPENSATE,
    )

    assert definition.failure_policy("a") is OnFailure.COMPENSATE
    assert definition.failure_policy("b") is OnFailure.PARK


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param([], id="no-steps"),
        pytest.param(_steps(("a", []), ("a", [])), id="duplicate-names"),
        pytest.param(_steps(("a", ["missing"])), id="unknown-dependency"),
        pytest.param(_steps(("a", ["b"]), ("b", ["a"])), id="cycle"),
        pytest.param(_steps(("a", ["a"])), id="depends-on-itself"),
    ],
)
def test_an_invalid_graph_is_refused(steps: list[Step]):
    with pytest.raises(InvalidDefinitionError):
        WorkflowDefinition("demo", steps)

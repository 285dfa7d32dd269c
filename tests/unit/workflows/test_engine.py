"""The engine: durable start, DAG execution, crash recovery, retries, compensation,
parking, retry and cancel, idempotency, and an outbox message for every change."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gateway.store import Store, Transaction, WorkflowRecord, WorkflowStatus
from gateway.store.records import Phase
from gateway.workflows import (
    Engine,
    IdempotencyConflictError,
    OnFailure,
    RetryPolicy,
    Step,
    UnknownWorkflowKindError,
    WorkflowDefinition,
    WorkflowNotFoundError,
    WorkflowStateError,
)
from tests.unit.store.fixtures import Clock
from tests.unit.workflows.support import QUICK, FatalError, Script, TransientError

S = WorkflowStatus
MakeEngine = Callable[..., Engine]


def chain(script: Script, *names: str, kind: str = "chain", **options: Any) -> WorkflowDefinition:
    """Steps that run one after another, each undoable."""
    steps = [
        Step(
            name,
            script.step(name),
            compensate=script.undo(name),
            after=[names[i - 1]] if i else [],
            retry=QUICK,
        )
        for i, name in enumerate(names)
    ]
    return WorkflowDefinition(kind, steps, **options)


async def step_states(store: Store, workflow_id: str) -> dict[str, WorkflowStatus]:
    return {s.name: s.status for s in await store.steps.for_workflow(workflow_id)}


async def within(awaitable: Awaitable[Any], seconds: float = 5.0) -> Any:
    return await asyncio.wait_for(awaitable, timeout=seconds)


# --- starting ------------------------------------------------------------------------


async def test_start_persists_a_pending_workflow_and_returns_at_once(
    store: Store, make_engine: MakeEngine
):
    script = Script()
    engine = make_engine(chain(script, "a", "b"))

    started = await engine.start("chain", {"opportunity": "006"}, principal="alice")

    assert started.status is S.PENDING
    assert started.input == {"opportunity": "006"}
    assert started.principal == "alice"
    assert script.log == []
    assert await step_states(store, started.id) == {"a": S.PENDING, "b": S.PENDING}


async def test_the_same_key_and_input_return_the_same_workflow(
    store: Store, make_engine: MakeEngine
):
    engine = make_engine(chain(Script(), "a"))

    first = await engine.start("chain", {"n": 1}, idempotency_key="key-1")
    await engine.run_until_idle()
    again = await engine.start("chain", {"n": 1}, idempotency_key="key-1")

    assert again.id == first.id
    assert again.status is S.SUCCEEDED
    assert await store.workflows.count() == 1


@pytest.mark.parametrize(
    ("kind", "input"),
    [
        pytest.param("chain", {"n": 2}, id="different-input"),
        pytest.param("other", {"n": 1}, id="different-kind"),
    ],
)
async def test_the_same_key_with_another_request_is_a_conflict(
    make_engine: MakeEngine, kind: str, input: dict[str, Any]
):
    script = Script()
    engine = make_engine(chain(script, "a"), chain(script, "a", kind="other"))
    await engine.start("chain", {"n": 1}, idempotency_key="key-1")

    with pytest.raises(IdempotencyConflictError, match="key-1"):
        await engine.start(kind, input, idempotency_key="key-1")


async def test_without_a_key_every_start_is_a_new_workflow(store: Store, make_engine: MakeEngine):
    engine = make_engine(chain(Script(), "a"))

    first = await engine.start("chain", {"n": 1})
    second = await engine.start("chain", {"n": 1})

    assert first.id != second.id


async def test_what_a_start_also_writes_commits_with_the_workflow_only_when_it_is_created(
    store: Store, make_engine: MakeEngine
):
    engine = make_engine(chain(Script(), "a"))

    async def audit(tx: Transaction, created: WorkflowRecord) -> None:
        await tx.audit.record("alice", "workflow.start.chain", None, "Workflow", created.id,
                              None, {}, created.id)  # fmt: skip

    first = await engine.start("chain", {"n": 1}, idempotency_key="key-1", also=audit)
    again = await engine.start("chain", {"n": 1}, idempotency_key="key-1", also=audit)

    assert again.id == first.id
    [entry] = await store.audit.find(workflow_id=first.id)
    assert entry.action == "workflow.start.chain"


async def test_a_start_whose_extra_write_fails_leaves_no_workflow(
    store: Store, make_engine: MakeEngine
):
    engine = make_engine(chain(Script(), "a"))

    async def failing(tx: Transaction, created: WorkflowRecord) -> None:
        await tx.audit.record("alice", "workflow.start.chain", None, "Workflow", created.id,
                              None, {}, created.id)  # fmt: skip
        raise RuntimeError("audit refused")

    with pytest.raises(RuntimeError, match="audit refused"):
        await engine.start("chain", {"n": 1}, also=failing)

    assert await store.workflows.count() == 0
    assert await store.audit.find() == []


async def test_an_unknown_kind_is_refused(make_engine: MakeEngine):
    with pytest.raises(UnknownWorkflowKindError):
        await make_engine(chain(Script(), "a")).start("nope", {})


# --- running -------------------------------------------------------------------------


async def test_steps_run_after_their_dependencies_and_independent_ones_concurrently(
    store: Store, make_engine: MakeEngine
):
    script = Script()
    started = {"bill": asyncio.Event(), "staff": asyncio.Event()}
    release = asyncio.Event()
    definition = WorkflowDefinition(
        "project",
        [
            Step("create", script.step("create")),
            Step(
                "bill", script.step("bill", hold=release, started=started["bill"]), after=["create"]
            ),
            Step(
                "staff",
                script.step("staff", hold=release, started=started["staff"]),
                after=["create"],
            ),
            Step("report", script.step("report", output={"id": "P-1"}), after=["bill", "staff"]),
        ],
        result=lambda outputs: outputs["report"],
    )
    engine = make_engine(definition)
    workflow = await engine.start("project", {})

    worker = asyncio.create_task(engine.run_until_idle())
    # Both wait on `release`: they can only both start if they run at the same time.
    await within(asyncio.gather(started["bill"].wait(), started["staff"].wait()))
    release.set()
    await within(worker)

    done = await store.workflows.get(workflow.id)
    assert done is not None
    assert done.status is S.SUCCEEDED
    assert done.result == {"id": "P-1"}
    assert done.finished_at is not None
    assert script.order()[0] == "create"
    assert script.order()[-1] == "report"
    assert script.most_at_once == 2
    assert set((await step_states(store, workflow.id)).values()) == {S.SUCCEEDED}


async def test_a_step_sees_the_input_and_the_outputs_of_the_steps_before_it(
    make_engine: MakeEngine,
):
    script = Script()
    definition = WorkflowDefinition(
        "demo",
        [
            Step("a", script.step("a", output={"customer": "C-1"})),
            Step("side", script.step("side")),
            Step("b", script.step("b"), after=["a"]),
        ],
    )
    engine = make_engine(definition)
    workflow = await engine.start("demo", {"opportunity": "006"}, principal="alice")

    await engine.run_until_idle()

    ctx = script.contexts["b"]
    assert ctx.input == {"opportunity": "006"}
    assert ctx.outputs == {"a": {"customer": "C-1"}}
    assert ctx.workflow_id == workflow.id
    assert ctx.principal == "alice"
    assert ctx.attempt == 1
    assert ctx.idempotency_key == f"{workflow.id}:b"


async def test_a_second_worker_resumes_after_the_first_dies_without_rerunning_done_steps(
    store: Store,
    make_engine: MakeEngine,
    open_store: Callable[[], Awaitable[Store]],
    clock: Clock,
):
    script = Script()
    reached, never = asyncio.Event(), asyncio.Event()
    held = WorkflowDefinition(
        "chain",
        [
            Step("a", script.step("a")),
            Step("b", script.step("b", hold=never, started=reached), after=["a"]),
            Step("c", script.step("c"), after=["b"]),
        ],
    )
    first = make_engine(held, lease_seconds=30)
    workflow = await first.start("chain", {})
    dying = asyncio.create_task(first.run_until_idle())
    await within(reached.wait())
    dying.cancel()  # the process dies while b runs; nothing more is written
    with pytest.raises(asyncio.CancelledError):
        await dying
    assert await step_states(store, workflow.id) == {
        "a": S.SUCCEEDED,
        "b": S.RUNNING,
        "c": S.PENDING,
    }

    healthy = WorkflowDefinition(
        "chain",
        [
            Step("a", script.step("a")),
            Step("b", script.step("b"), after=["a"]),
            Step("c", script.step("c"), after=["b"]),
        ],
    )
    second = make_engine(healthy, store=await open_store(), lease_seconds=30)
    assert await second.run_until_idle() == 0  # the first worker's lease still holds
    clock.advance(31)
    assert await second.run_until_idle() == 1

    done = await store.workflows.get(workflow.id)
    assert done is not None
    assert done.status is S.SUCCEEDED
    assert done.attempts == 2
    assert done.lease_owner is None
    assert (script.runs("a"), script.runs("b"), script.runs("c")) == (1, 2, 1)
    steps = {s.name: s for s in await store.steps.for_workflow(workflow.id)}
    assert steps["b"].attempts == 2


async def test_a_worker_that_lost_its_lease_cannot_overwrite_the_new_owner(
    store: Store,
    make_engine: MakeEngine,
    open_store: Callable[[], Awaitable[Store]],
    clock: Clock,
):
    script = Script()
    reached, release = asyncio.Event(), asyncio.Event()
    slow = WorkflowDefinition("one", [Step("a", script.step("a", hold=release, started=reached))])
    stalled = make_engine(slow, lease_seconds=30)
    workflow = await stalled.start("one", {})
    stalled_run = asyncio.create_task(stalled.run_until_idle())
    await within(reached.wait())

    clock.advance(31)  # the stalled worker's lease runs out; another takes over
    fast = WorkflowDefinition("one", [Step("a", script.step("a", output={"by": "new"}))])
    taker = make_engine(fast, store=await open_store(), lease_seconds=30)
    await taker.run_until_idle()
    release.set()
    await within(stalled_run)

    done = await store.workflows.get(workflow.id)
    assert done is not None
    assert done.status is S.SUCCEEDED
    steps = await store.steps.for_workflow(workflow.id)
    assert steps[0].output == {"by": "new"}


async def test_a_workflow_its_workers_keep_dying_on_is_parked(
    store: Store, make_engine: MakeEngine, clock: Clock
):
    script = Script()
    reached, never = asyncio.Event(), asyncio.Event()
    deadly = WorkflowDefinition("one", [Step("a", script.step("a", hold=never, started=reached))])
    engine = make_engine(deadly, lease_seconds=30, max_claims=1)
    workflow = await engine.start("one", {})
    dying = asyncio.create_task(engine.run_until_idle())
    await within(reached.wait())
    dying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await dying

    clock.advance(31)
    await engine.run_until_idle()

    parked = await store.workflows.get(workflow.id)
    assert parked is not None
    assert parked.status is S.NEEDS_ATTENTION
    assert "claimed 2 times" in (parked.error or "")
    assert script.runs("a") == 1


async def test_retriable_failures_are_retried_until_the_step_succeeds(
    store: Store, make_engine: MakeEngine
):
    script = Script()
    script.fail("a", TransientError("503"), TransientError("503"))
    engine = make_engine(chain(script, "a", "b"))
    workflow = await engine.start("chain", {})

    await engine.run_until_idle()

    done = await store.workflows.get(workflow.id)
    assert done is not None
    assert done.status is S.SUCCEEDED
    assert script.runs("a") == 3
    a = (await store.steps.for_workflow(workflow.id))[0]
    assert a.attempts == 3
    assert a.error is None
    assert script.contexts["a"].attempt == 3


async def test_a_fatal_error_is_not_retried(store: Store, make_engine: MakeEngine):
    script = Script()
    script.fail("a", FatalError("400 bad request"))
    engine = make_engine(chain(script, "a"))
    workflow = await engine.start("chain", {})

    await engine.run_until_idle()

    assert script.runs("a") == 1
    a = (await store.steps.for_workflow(workflow.id))[0]
    assert a.status is S.FAILED
    assert a.error == "FatalError: 400 bad request"


async def test_a_long_retry_wait_hands_the_workflow_back_until_it_is_due(
    store: Store, make_engine: MakeEngine, clock: Clock
):
    script = Script()
    script.fail("a", TransientError("429"))
    patient = RetryPolicy(max_attempts=2, initial_delay=60, jitter=0)
    engine = make_engine(
        WorkflowDefinition("one", [Step("a", script.step("a"), retry=patient)]),
        max_inline_delay=1,
    )
    workflow = await engine.start("one", {})

    await engine.run_until_idle()
    waiting = await store.workflows.get(workflow.id)
    clock.advance(61)
    await engine.run_until_idle()

    assert waiting is not None
    assert waiting.status is S.PENDING
    assert waiting.lease_owner is None
    assert waiting.next_run_at is not None
    done = await store.workflows.get(workflow.id)
    assert done is not None
    assert done.status is S.SUCCEEDED
    assert script.runs("a") == 2


async def test_a_step_timeout_counts_as_a_retriable_failure(store: Store, make_engine: MakeEngine):
    script = Script()
    never = asyncio.Event()
    engine = make_engine(
        WorkflowDefinition(
            "one",
            [Step("a", script.step("a", hold=never), timeout=0.01, retry=QUICK)],
            on_failure=OnFailure.PARK,
        )
    )
    workflow = await engine.start("one", {})

    await engine.run_until_idle()

    parked = await store.workflows.get(workflow.id)
    assert parked is not None
    assert parked.status is S.NEEDS_ATTENTION
    assert script.runs("a") == QUICK.max_attempts
    assert "TimeoutError" in (parked.error or "")


async def test_an_output_that_is_not_json_fails_the_step(store: Store, make_engine: MakeEngine):
    script = Script()
    engine = make_engine(
        WorkflowDefinition("one", [Step("a", script.step("a", output={"when": object()}))])
    )
    workflow = await engine.start("one", {})

    await engine.run_until_idle()

    a = (await store.steps.for_workflow(workflow.id))[0]
    assert a.status is S.FAILED
    assert "not JSON" in (a.error or "")
    assert script.runs("a") == 1


# --- failing: compensate or park -------------------------------------------------------


async def test_exhausted_retries_undo_the_done_steps_in_reverse_order(
    store: Store, make_engine: MakeEngine
):
    script = Script()
    script.fail("d", TransientError("503"), TransientError("503"), TransientError("503"))
    definition = WorkflowDefinition(
        "chain",
        [
            Step("a", script.step("a")),  # a read: nothing to undo
            Step("b", script.step("b"), compensate=script.undo("b"), after=["a"]),
            Step("c", script.step("c"), compensate=script.undo("c"), after=["b"]),
            Step("d", script.step("d"), compensate=script.undo("d"), after=["c"], retry=QUICK),
            Step("e", script.step("e"), after=["d"]),
        ],
    )
    engine = make_engine(definition)
    workflow = await engine.start("chain", {})

    await engine.run_until_idle()

    done = await store.workflows.get(workflow.id)
    assert done is not None
    assert done.status is S.COMPENSATED
    assert done.error == "step d failed: gave up after 3 attempts: TransientError: 503"
    assert script.order("undo") == ["c", "b"]
    assert await step_states(store, workflow.id) == {
        "a": S.SUCCEEDED,
        "b": S.COMPENSATED,
        "c": S.COMPENSATED,
        "d": S.FAILED,
        "e": S.CANCELLED,
    }
    assert script.contexts["undo:b"].output == {"step": "b"}


async def test_a_failure_with_nothing_to_undo_ends_failed_and_can_be_retried(
    store: Store, make_engine: MakeEngine
):
    script = Script()
    script.fail("b", FatalError("closed-lost opportunity"))
    definition = WorkflowDefinition(
        "demo", [Step("a", script.step("a")), Step("b", script.step("b"), after=["a"])]
    )
    engine = make_engine(definition)
    workflow = await engine.start("demo", {})

    await engine.run_until_idle()
    failed = await store.workflows.get(workflow.id)
    await engine.retry(workflow.id)
    await engine.run_until_idle()

    assert failed is not None
    assert failed.status is S.FAILED
    done = await store.workflows.get(workflow.id)
    assert done is not None
    assert done.status is S.SUCCEEDED
    assert (script.runs("a"), script.runs("b")) == (1, 2)


async def test_a_parked_workflow_waits_for_a_person_then_retries_from_the_failed_step(
    store: Store, make_engine: MakeEngine
):
    script = Script()
    script.fail("b", FatalError("ERP project has no finance code"))
    engine = make_engine(chain(script, "a", "b", "c", on_failure=OnFailure.PARK))
    workflow = await engine.start("chain", {})

    await engine.run_until_idle()
    parked = await store.workflows.get(workflow.id)
    states = await step_states(store, workflow.id)
    retried = await engine.retry(workflow.id, principal="ops@firm")
    await engine.run_until_idle()

    assert parked is not None
    assert parked.status is S.NEEDS_ATTENTION
    assert parked.error == "step b failed: FatalError: ERP project has no finance code"
    assert parked.finished_at is None
    assert states == {"a": S.SUCCEEDED, "b": S.FAILED, "c": S.PENDING}
    assert retried.status is S.PENDING
    done = await store.workflows.get(workflow.id)
    assert done is not None
    assert done.status is S.SUCCEEDED
    assert done.error is None
    assert (script.runs("a"), script.runs("b"), script.runs("c")) == (1, 2, 1)
    assert script.order("undo") == []
    [audit] = await store.audit.find(workflow_id=workflow.id)
    assert (audit.principal, audit.action) == ("ops@firm", "workflow.retry")


async def test_a_step_can_park_while_the_workflow_compensates_otherwise(
    store: Store, make_engine: MakeEngine
):
    script = Script()
    script.fail("b", FatalError("needs a person"))
    definition = WorkflowDefinition(
        "demo",
        [
            Step("a", script.step("a"), compensate=script.undo("a")),
            Step("b", script.step("b"), after=["a"], on_failure=OnFailure.PARK),
        ],
        on_failure=OnFailure.COMPENSATE,
    )
    engine = make_engine(definition)
    workflow = await engine.start("demo", {})

    await engine.run_until_idle()

    parked = await store.workflows.get(workflow.id)
    assert parked is not None
    assert parked.status is S.NEEDS_ATTENTION
    assert script.order("undo") == []


async def test_a_failing_compensation_parks_and_retry_resumes_undoing(
    store: Store, make_engine: MakeEngine
):
    script = Script()
    script.fail("c", FatalError("rejected"))
    script.fail("a", FatalError("ERP refuses to delete"), undo=True)
    engine = make_engine(chain(script, "a", "b", "c"))
    workflow = await engine.start("chain", {})

    await engine.run_until_idle()
    parked = await store.workflows.get(workflow.id)
    await engine.retry(workflow.id)
    await engine.run_until_idle()

    assert parked is not None
    assert parked.status is S.NEEDS_ATTENTION
    assert parked.phase is Phase.COMPENSATING
    assert parked.error == "undoing step a failed: FatalError: ERP refuses to delete"
    done = await store.workflows.get(workflow.id)
    assert done is not None
    assert done.status is S.COMPENSATED
    assert script.order("undo") == ["b", "a", "a"]
    assert script.runs("c") == 1
    assert await step_states(store, workflow.id) == {
        "a": S.COMPENSATED,
        "b": S.COMPENSATED,
        "c": S.FAILED,
    }


async def test_retriable_compensation_failures_are_retried(store: Store, make_engine: MakeEngine):
    script = Script()
    script.fail("b", FatalError("rejected"))
    script.fail("a", TransientError("503"), undo=True)
    engine = make_engine(chain(script, "a", "b"))
    workflow = await engine.start("chain", {})

    await engine.run_until_idle()

    done = await store.workflows.get(workflow.id)
    assert done is not None
    assert done.status is S.COMPENSATED
    assert script.order("undo") == ["a", "a"]


# --- retry and cancel ----------------------------------------------------------------


async def test_cancelling_a_pending_workflow_ends_it_at_once(store: Store, make_engine: MakeEngine):
    script = Script()
    engine = make_engine(chain(script, "a", "b"))
    workflow = await engine.start("chain", {})

    cancelled = await engine.cancel(workflow.id, principal="alice")
    claims = await engine.run_until_idle()

    assert cancelled.status is S.CANCELLED
    assert cancelled.finished_at is not None
    assert claims == 0
    assert script.log == []
    assert await step_states(store, workflow.id) == {"a": S.CANCELLED, "b": S.CANCELLED}


async def test_cancelling_a_parked_workflow_undoes_its_done_steps(
    store: Store, make_engine: MakeEngine
):
    script = Script()
    script.fail("c", FatalError("rejected"))
    engine = make_engine(chain(script, "a", "b", "c", on_failure=OnFailure.PARK))
    workflow = await engine.start("chain", {})
    await engine.run_until_idle()

    cancelling = await engine.cancel(workflow.id)
    await engine.run_until_idle()

    assert cancelling.status is S.PENDING
    assert cancelling.phase is Phase.CANCELLING
    done = await store.workflows.get(workflow.id)
    assert done is not None
    assert done.status is S.CANCELLED
    assert script.order("undo") == ["b", "a"]
    assert await step_states(store, workflow.id) == {
        "a": S.COMPENSATED,
        "b": S.COMPENSATED,
        "c": S.FAILED,
    }


@pytest.mark.parametrize(
    ("action", "fails"),
    [
        pytest.param("retry", False, id="retry-succeeded"),
        pytest.param("cancel", False, id="cancel-succeeded"),
        pytest.param("retry", True, id="retry-compensated"),
        pytest.param("cancel", True, id="cancel-compensated"),
    ],
)
async def test_a_finished_workflow_can_be_neither_retried_nor_cancelled(
    make_engine: MakeEngine, action: str, fails: bool
):
    script = Script()
    if fails:
        script.fail("b", FatalError("rejected"))
    engine = make_engine(chain(script, "a", "b"))
    workflow = await engine.start("chain", {})
    await engine.run_until_idle()

    with pytest.raises(WorkflowStateError):
        await getattr(engine, action)(workflow.id)


async def test_a_running_workflow_cannot_be_cancelled(make_engine: MakeEngine):
    reached, release = asyncio.Event(), asyncio.Event()
    script = Script()
    engine = make_engine(
        WorkflowDefinition("one", [Step("a", script.step("a", hold=release, started=reached))])
    )
    workflow = await engine.start("one", {})
    worker = asyncio.create_task(engine.run_until_idle())
    await within(reached.wait())

    with pytest.raises(WorkflowStateError, match="RUNNING"):
        await engine.cancel(workflow.id)
    release.set()
    await within(worker)


async def test_an_unknown_workflow_cannot_be_retried(make_engine: MakeEngine):
    with pytest.raises(WorkflowNotFoundError):
        await make_engine(chain(Script(), "a")).retry("no-such-id")


# --- outbox, crosswalk and audit in the same transactions --------------------------------


async def test_every_state_change_writes_one_outbox_message(store: Store, make_engine: MakeEngine):
    engine = make_engine(chain(Script(), "a", "b"))
    workflow = await engine.start("chain", {})

    await engine.run_until_idle()

    messages = await store.outbox.fetch_unpublished()
    assert {m.topic for m in messages} == {"workflow"}
    assert [
        (m.payload["status"], m.payload["step"], m.payload["step_status"]) for m in messages
    ] == [
        ("PENDING", None, None),
        ("RUNNING", None, None),
        ("RUNNING", "a", "RUNNING"),
        ("RUNNING", "a", "SUCCEEDED"),
        ("RUNNING", "b", "RUNNING"),
        ("RUNNING", "b", "SUCCEEDED"),
        ("SUCCEEDED", None, None),
    ]
    assert {m.payload["workflow_id"] for m in messages} == {workflow.id}
    assert {m.payload["kind"] for m in messages} == {"chain"}
    versions = [m.payload["version"] for m in messages]
    assert versions == sorted(set(versions))


async def test_retries_and_compensation_are_announced_too(store: Store, make_engine: MakeEngine):
    script = Script()
    script.fail("b", TransientError("503"), FatalError("rejected"))
    engine = make_engine(chain(script, "a", "b"))
    await engine.start("chain", {})

    await engine.run_until_idle()

    changes = [
        (m.payload["status"], m.payload["phase"], m.payload["step"], m.payload["step_status"])
        for m in await store.outbox.fetch_unpublished()
    ][4:]
    assert changes == [
        ("RUNNING", "FORWARD", "b", "RUNNING"),
        ("RUNNING", "FORWARD", "b", "PENDING"),  # waiting to retry
        ("RUNNING", "FORWARD", "b", "RUNNING"),
        ("RUNNING", "FORWARD", "b", "FAILED"),
        ("RUNNING", "COMPENSATING", None, None),
        ("RUNNING", "COMPENSATING", "a", "COMPENSATED"),
        ("COMPENSATED", "COMPENSATING", None, None),
    ]


async def test_the_publish_hook_receives_every_message_after_commit(
    store: Store, make_engine: MakeEngine
):
    published: list[dict[str, Any]] = []

    async def publish(message):
        # Committed before publishing: the store already shows the announced state.
        if message.payload["step"] is None:
            current = await store.workflows.get(message.payload["workflow_id"])
            assert current is not None
            assert current.version >= message.payload["version"]
        published.append(message.payload)

    engine = make_engine(chain(Script(), "a"), publish=publish)
    await engine.start("chain", {})
    await engine.run_until_idle()

    assert [(p["status"], p["step_status"]) for p in published] == [
        ("PENDING", None),
        ("RUNNING", None),
        ("RUNNING", "RUNNING"),
        ("RUNNING", "SUCCEEDED"),
        ("SUCCEEDED", None),
    ]
    assert await store.outbox.fetch_unpublished() == []


async def test_a_failing_publish_hook_leaves_messages_for_the_next_relay(
    store: Store, make_engine: MakeEngine
):
    async def broken(message):
        raise ConnectionError("bus down")

    engine = make_engine(chain(Script(), "a"), publish=broken)
    await engine.start("chain", {})
    await engine.run_until_idle()

    assert len(await store.outbox.fetch_unpublished()) == 5


async def test_crosswalk_links_and_audit_entries_commit_with_the_step(
    store: Store, make_engine: MakeEngine
):
    async def create_project(ctx):
        ctx.link("Project", "P-1", "PSA", "ws-77")
        ctx.audit("project.create", "PSA", "Project", "ws-77", None, {"name": "Apollo"})
        return {"workspace": "ws-77"}

    engine = make_engine(WorkflowDefinition("one", [Step("create", create_project)]))
    workflow = await engine.start("one", {}, principal="alice")

    await engine.run_until_idle()

    assert await store.crosswalk.native_id("Project", "P-1", "PSA") == "ws-77"
    [entry] = await store.audit.find(workflow_id=workflow.id)
    assert (entry.principal, entry.action, entry.after) == (
        "alice",
        "project.create",
        {"name": "Apollo"},
    )


async def test_a_conflicting_link_fails_the_step_and_writes_nothing(
    store: Store, make_engine: MakeEngine
):
    await store.crosswalk.link("Project", "P-1", "PSA", "ws-1")

    async def create_project(ctx):
        ctx.audit("project.create", "PSA", "Project", "ws-2", None, {})
        ctx.link("Project", "P-1", "PSA", "ws-2")
        return {}

    engine = make_engine(
        WorkflowDefinition("one", [Step("create", create_project)], on_failure=OnFailure.PARK)
    )
    workflow = await engine.start("one", {})

    await engine.run_until_idle()

    parked = await store.workflows.get(workflow.id)
    assert parked is not None
    assert parked.status is S.NEEDS_ATTENTION
    assert "CrosswalkConflictError" in (parked.error or "")
    assert await store.audit.find(workflow_id=workflow.id) == []


# --- workers -------------------------------------------------------------------------


async def test_run_forever_picks_up_new_workflows_until_stopped(
    store: Store, make_engine: MakeEngine
):
    engine = make_engine(chain(Script(), "a"))
    worker = asyncio.create_task(engine.run_forever())

    workflow = await engine.start("chain", {})
    done = await engine.wait(workflow.id, timeout=5)
    engine.stop()
    await within(worker)

    assert done.status is S.SUCCEEDED


async def test_a_worker_only_claims_kinds_it_knows(store: Store, make_engine: MakeEngine):
    script = Script()
    api = make_engine(chain(script, "a"), chain(script, "a", kind="other"))
    worker = make_engine(chain(script, "a"))
    other = await api.start("other", {})
    await api.start("chain", {})

    assert await worker.run_until_idle() == 1
    waiting = await store.workflows.get(other.id)
    assert waiting is not None
    assert waiting.status is S.PENDING


async def test_many_workflows_run_within_the_concurrency_bound(
    store: Store, make_engine: MakeEngine
):
    script = Script()
    engine = make_engine(WorkflowDefinition("one", [Step("a", script.step("a"))]), concurrency=3)
    for n in range(10):
        await engine.start("one", {"n": n})

    assert await engine.run_until_idle() == 10
    assert script.runs("a") == 10
    assert script.most_at_once <= 3
    assert await store.workflows.count(status=S.SUCCEEDED) == 10

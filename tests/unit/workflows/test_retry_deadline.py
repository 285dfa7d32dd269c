"""Retries on a time budget: transient failures are retried with backoff until the
workflow's deadline, long waits give the worker back, and only business errors or a
spent deadline park a workflow."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.store import Store, WorkflowStatus
from gateway.workflows import Engine, OnFailure, RetryPolicy, Step, WorkflowDefinition
from sources.errors import RateLimited, SourceRejected, SourceUnavailable
from sources.records import SourceSystem
from tests.unit.store.fixtures import Clock
from tests.unit.workflows.support import FatalError, Script, TransientError

S = WorkflowStatus
MakeEngine = Callable[..., Engine]
HOUR = 3600.0
OUTAGE = SourceUnavailable(SourceSystem.ERP, "503")


def budget(deadline: float = HOUR, **options: float) -> RetryPolicy:
    values = {"initial_delay": 1.0, "multiplier": 2.0, "max_delay": 60.0, "jitter": 0.0}
    return RetryPolicy(max_attempts=None, deadline=deadline, **{**values, **options})


def one_step(script: Script, retry: RetryPolicy, kind: str = "one") -> WorkflowDefinition:
    return WorkflowDefinition(
        kind, [Step("a", script.step("a"), retry=retry)], on_failure=OnFailure.PARK
    )


# --- the policy --------------------------------------------------------------------


def test_a_transient_failure_is_retried_however_many_times_until_the_deadline():
    policy = budget(deadline=HOUR)

    assert policy.next_delay(OUTAGE, attempt=500, elapsed=HOUR - 120) == 60.0
    assert policy.next_delay(OUTAGE, attempt=500, elapsed=HOUR - 30) is None


def test_backoff_is_capped_and_a_retry_after_is_honoured_beyond_the_cap():
    policy = budget(max_delay=10.0)
    storm = RateLimited(SourceSystem.TIME, "429", retry_after=45.0)

    assert [policy.next_delay(OUTAGE, n, elapsed=0) for n in (1, 2, 3, 4, 5)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        10.0,
    ]
    assert policy.next_delay(storm, 1, elapsed=0) == 45.0


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(SourceRejected(SourceSystem.ERP, "closed", status=400), id="rejected"),
        pytest.param(ValueError("bug"), id="bug"),
    ],
)
def test_a_business_or_programming_error_is_never_retried(error: Exception):
    assert budget().next_delay(error, attempt=1, elapsed=0) is None


def test_a_policy_must_be_bounded_by_something():
    with pytest.raises(ValueError, match="deadline"):
        RetryPolicy(max_attempts=None)


# --- the engine --------------------------------------------------------------------


async def test_an_outage_longer_than_the_claim_limit_is_ridden_out_until_it_ends(
    store: Store, make_engine: MakeEngine, clock: Clock
):
    script = Script()
    script.fail("a", *[TransientError("503")] * 30)
    engine = make_engine(one_step(script, budget()), max_inline_delay=0.5, max_claims=5)
    workflow = await engine.start("one", {})

    for _ in range(31):
        await engine.run_until_idle()
        clock.advance(61)

    done = await store.workflows.get(workflow.id)
    assert done is not None
    assert done.status is S.SUCCEEDED, done.error
    assert script.runs("a") == 31


async def test_a_waiting_workflow_gives_its_worker_to_others_meanwhile(
    store: Store, make_engine: MakeEngine
):
    script = Script()
    script.fail("a", TransientError("503"))
    engine = make_engine(
        one_step(script, budget(initial_delay=30.0), kind="flaky"),
        one_step(Script(), budget(), kind="healthy"),
        concurrency=1,
        max_inline_delay=0.5,
    )
    flaky = await engine.start("flaky", {})
    healthy = await engine.start("healthy", {})

    await engine.run_until_idle()

    waiting, done = await store.workflows.get(flaky.id), await store.workflows.get(healthy.id)
    assert waiting is not None
    assert done is not None
    assert (waiting.status, waiting.lease_owner) == (S.PENDING, None)
    assert done.status is S.SUCCEEDED


async def test_a_spent_deadline_parks_the_workflow_naming_the_last_error(
    store: Store, make_engine: MakeEngine, clock: Clock
):
    script = Script()
    script.fail("a", *[TransientError("503")] * 100)
    engine = make_engine(one_step(script, budget(deadline=300.0)), max_inline_delay=0.5)
    workflow = await engine.start("one", {})

    for _ in range(20):
        await engine.run_until_idle()
        clock.advance(61)

    parked = await store.workflows.get(workflow.id)
    assert parked is not None
    assert parked.status is S.NEEDS_ATTENTION
    assert "gave up after" in (parked.error or "")
    assert "TransientError: 503" in (parked.error or "")


async def test_a_business_error_parks_at_once(store: Store, make_engine: MakeEngine, clock: Clock):
    script = Script()
    script.fail("a", FatalError("NOT_CLOSED_WON"))
    engine = make_engine(one_step(script, budget()))
    workflow = await engine.start("one", {})

    await engine.run_until_idle()

    parked = await store.workflows.get(workflow.id)
    assert parked is not None
    assert parked.status is S.NEEDS_ATTENTION
    assert parked.error == "step a failed: FatalError: NOT_CLOSED_WON"
    assert script.runs("a") == 1


async def test_a_manual_retry_after_a_spent_deadline_gets_a_fresh_one(
    store: Store, make_engine: MakeEngine, clock: Clock
):
    script = Script()
    script.fail("a", *[TransientError("503")] * 3)
    engine = make_engine(
        one_step(script, budget(deadline=60.0, initial_delay=40.0)), max_inline_delay=1.0
    )
    workflow = await engine.start("one", {})
    await engine.run_until_idle()  # fails, waits 40 s of the 60
    clock.advance(41)
    await engine.run_until_idle()  # fails again: the next wait would end past the deadline
    parked = await store.workflows.get(workflow.id)
    clock.advance(HOUR)

    await engine.retry(workflow.id)
    await engine.run_until_idle()  # fails a third time, inside its fresh deadline
    clock.advance(41)
    await engine.run_until_idle()

    assert parked is not None
    assert parked.status is S.NEEDS_ATTENTION
    done = await store.workflows.get(workflow.id)
    assert done is not None
    assert done.status is S.SUCCEEDED, done.error
    assert script.runs("a") == 4

"""Workflow runs and steps as spans and metrics: a run is the root of its trace, each
step attempt its child, and what a step calls upstream the step's child."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from gateway.observability.health import SourceHealthTracker
from gateway.observability.metrics import Metrics
from gateway.observability.tracing import Tracing
from gateway.observability.upstream import UpstreamObserver
from gateway.observability.watchers import WorkflowWatcher
from gateway.settings import TracingConfig
from gateway.store import Store, WorkflowStatus
from gateway.workflows import Engine, Step, WorkflowDefinition
from gateway.workflows.context import StepContext
from sources.config import SourceSettings
from sources.http import SourceClient
from sources.records import SourceSystem
from tests.unit.workflows.support import QUICK, FatalError, Script


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


async def test_a_run_traces_its_steps_and_their_upstream_calls(
    make_engine: Callable[..., Engine],
) -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing(TracingConfig(), exporter=exporter)
    metrics = Metrics()
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    erp = SourceClient(
        SourceSystem.ERP,
        SourceSettings(base_url="http://erp.test"),
        transport=httpx.MockTransport(answer),
    )
    erp.observer = UpstreamObserver(metrics, SourceHealthTracker({}), tracing.tracer)

    async def post(context: StepContext) -> Any:
        await erp.request("POST", "/record/v1/job", json={}, idempotent=True)
        return {"posted": True}

    script = Script()
    script.fail("second", FatalError("no"))
    definition = WorkflowDefinition(
        "demo",
        [
            Step("first", post, retry=QUICK),
            Step("second", script.step("second"), after=["first"], retry=QUICK),
        ],
    )
    engine = make_engine(definition, observer=WorkflowWatcher(metrics, tracing.tracer))
    started = await engine.start("demo", {})
    await engine.run_until_idle()
    await erp.aclose()

    spans = {span.name: span for span in exporter.get_finished_spans()}
    run, first, second = spans["workflow demo"], spans["step first"], spans["step second"]
    call = spans["ERP POST /record/v1/job"]
    assert run.parent is None
    assert first.parent is not None
    assert second.parent is not None
    assert first.parent.span_id == second.parent.span_id == run.context.span_id
    assert call.parent is not None
    assert call.parent.span_id == first.context.span_id
    assert (run.attributes or {})["psgraph.workflow.id"] == started.id
    assert not second.status.is_ok
    assert seen[0].headers["traceparent"].split("-")[1] == f"{run.context.trace_id:032x}"

    found = samples(await metrics.render())
    steps = "psgraph_workflow_steps_total"
    assert found[(steps, (("kind", "demo"), ("outcome", "ok"), ("step", "first")))] == 1
    assert found[(steps, (("kind", "demo"), ("outcome", "error"), ("step", "second")))] == 1
    workflow = await engine.wait(started.id, timeout=5)
    runs = "psgraph_workflow_runs_total"
    assert found[(runs, (("kind", "demo"), ("status", workflow.status.value)))] == 1
    assert workflow.status is not WorkflowStatus.SUCCEEDED


async def test_with_tracing_off_steps_are_still_counted(
    make_engine: Callable[..., Engine],
) -> None:
    metrics = Metrics()
    tracing = Tracing(TracingConfig(exporter="none"))
    assert tracing.tracer is None
    script = Script()
    definition = WorkflowDefinition("one", [Step("only", script.step("only"), retry=QUICK)])
    engine = make_engine(definition, observer=WorkflowWatcher(metrics, tracing.tracer))
    await engine.start("one", {})
    await engine.run_until_idle()

    found = samples(await metrics.render())
    steps = "psgraph_workflow_steps_total"
    assert found[(steps, (("kind", "one"), ("outcome", "ok"), ("step", "only")))] == 1
    runs = "psgraph_workflow_runs_total"
    assert found[(runs, (("kind", "one"), ("status", "SUCCEEDED")))] == 1


async def test_the_store_counts_workflows_by_kind_and_status(
    store: Store, make_engine: Callable[..., Engine]
) -> None:
    script = Script()
    definition = WorkflowDefinition("one", [Step("only", script.step("only"), retry=QUICK)])
    engine = make_engine(definition)
    await engine.start("one", {})
    await engine.start("one", {"n": 2})
    assert await store.workflows.counts() == {("one", WorkflowStatus.PENDING): 2}
    await engine.run_until_idle()
    assert await store.workflows.counts() == {("one", WorkflowStatus.SUCCEEDED): 2}

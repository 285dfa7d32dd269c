"""A workflow parked by an automation, from a change made in the vendor's own system: time
approved directly in TIME on a project without a finance code starts the time-to-ERP
automation, which parks; the parked workflow appears in the queue and on the stream, and
retrying it once its cause is remedied resolves it."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.settings import EventsConfig, Settings
from gateway.workflows.systems import Systems
from resolvers import ids
from sandboxes.harness.identity import Identity
from sandboxes.harness.served import RunningGateway, serve
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from tests.conftest import WORLD_TODAY
from tests.e2e.events.conftest import automations_on
from tests.e2e.visibility.conftest import (
    REMEDY,
    WAIT_S,
    Visibility,
    after_the_first_scan,
    monitored,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.usefixtures("seeded_world_after"),
]

AUTOMATION = "time-approved-to-erp"


@pytest.fixture(scope="module")
def running_gateway(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    """The visibility gateway, also polling TIME's entries with the time-to-ERP automation on."""
    store = tmp_path_factory.mktemp("parked") / "store.db"
    events = EventsConfig(
        capture=True,
        poll={"time": {"time_entry": 0.5}},
        baseline={},
        log_poll_s=0.2,
        automations=automations_on(AUTOMATION),
    )
    settings = monitored(demo_settings, sandboxes, store).model_copy(update={"events": events})
    running = serve(settings)
    yield after_the_first_scan(running, Identity.of(sandboxes, demo_settings))
    running.stop()


async def _polling(url: str) -> None:
    """Until the gateway has scanned TIME's entries once (so later changes are events)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            metrics = httpx.get(f"{url}/metrics", timeout=30).text
            if any(
                sample.labels.get("source") == "TIME"
                for family in text_string_to_metric_families(metrics)
                if family.name == "psgraph_capture_lag_seconds"
                for sample in family.samples
            ):
                return
            await asyncio.sleep(0.2)


async def _parked(visibility: Visibility, known: set[str]) -> dict[str, Any]:
    """The first open WORKFLOW_NEEDS_ATTENTION exception not in `known`."""
    async with asyncio.timeout(WAIT_S):
        while True:
            queue = await visibility.queue("WORKFLOW_NEEDS_ATTENTION", "OPEN")
            fresh = [found for key, found in queue.items() if key not in known]
            if fresh:
                return fresh[0]
            await asyncio.sleep(0.5)


async def test_time_approved_in_time_on_a_project_without_finance_code_parks_and_is_remedied(
    visibility: Visibility, systems: Systems, world: World
) -> None:
    await _polling(visibility.url)
    known = set(await visibility.queue("WORKFLOW_NEEDS_ATTENTION"))
    project = next(
        world.projects[key]
        for key in world.defects.projects_without_finance_code
        if world.projects[key].status == "ACTIVE"
    )
    person = world.people[project.manager_key]

    # Keyed and approved in TIME by the people who work there, not through the gateway.
    entry = await systems.time.create_time_entry(
        person.time_user_id,
        project.time_project_id,
        WORLD_TODAY - dt.timedelta(days=1),
        2.0,
        True,
        "parked by the automation",
        external_reference=f"parked-{uuid.uuid4().hex[:10]}",
    )
    await systems.time.approve([entry.id])

    found = await _parked(visibility, known)
    workflow = ids.decode(found["id"], "BusinessException").key.partition(":")[2]
    await visibility.pushed("WORKFLOW_NEEDS_ATTENTION", workflow, "OPEN")
    assert found["ownerTeam"] == "INTEGRATION"
    started = ids.encode("Workflow", workflow)
    assert (await visibility.gql.settled(started))["status"] == "NEEDS_ATTENTION"

    # Its cause first: the project's finance code, by that exception's own remedy.
    cause = await visibility.opened("PROJECT_MISSING_FINANCE_CODE", project.psa_id)
    fixed = await visibility.gql(REMEDY, id=cause["id"], key=f"fix-{workflow}")
    assert (await visibility.gql.settled(fixed["remediateException"]["id"]))[
        "status"
    ] == "SUCCEEDED"

    retried = await visibility.gql(REMEDY, id=found["id"], key=f"retry-{workflow}")
    assert retried["remediateException"]["id"] == started
    assert (await visibility.gql.settled(started))["status"] == "SUCCEEDED"
    await visibility.resolved("WORKFLOW_NEEDS_ATTENTION", workflow)
    await visibility.pushed("WORKFLOW_NEEDS_ATTENTION", workflow, "RESOLVED")

"""What the workflow tests share: fresh won deals, and what a project left in each system."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from gateway.workflows import RetryPolicy
from gateway.workflows.systems import Systems
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from sources.records import Job, Opportunity, Project, SourceSystem

# Retries quick enough for tests, patient enough for a breaker that resets in a second.
QUICK_RETRY = RetryPolicy(max_attempts=10, initial_delay=0.05, multiplier=2.0, max_delay=1.0)
READS = ("suiteql", "composite", "token")  # POST routes that only read

_deals = itertools.count(1)


async def won_deal(
    systems: Systems, world: World, *, contract_type: str = "FIXED_FEE", amount: int = 96_000
) -> str:
    """A new closed-won opportunity on an existing account; its CRM id."""
    number = next(_deals)
    client = world.clients[number % len(world.clients)]
    return await systems.crm.create_opportunity(
        {
            "account_id": client.crm_id,
            "name": f"{client.name} - Workflow test deal {number}",
            "stage": "CLOSED_WON",
            "close_date": dt.date(2026, 1, 15),
            "amount": Decimal(amount),
            "practice": "Cloud",
            "region": client.region,
            "contract_type": contract_type,
        }
    )


@dataclass(frozen=True)
class Footprint:
    """What one opportunity's project left in each system."""

    workspaces: list[Project]
    jobs: list[Job]
    schedules: int
    staffing_requests: int
    crm_project: str | None

    def complete(self) -> bool:
        return (
            len(self.workspaces) == 1
            and len(self.jobs) == 1
            and self.schedules == 1
            and self.staffing_requests == 3
            and self.workspaces[0].erp_job_id == self.jobs[0].id
            and self.crm_project == self.workspaces[0].id
        )


async def footprint(systems: Systems, opportunity_id: str) -> Footprint:
    page = await systems.psa.list("project", {"crm_opportunity_id": opportunity_id}, page_size=50)
    workspaces = [p for p in page.items if isinstance(p, Project)]
    jobs: list[Job] = []
    schedules = requests = 0
    for workspace in workspaces:
        found = await systems.erp.list("job", {"psa_project_id": workspace.id}, page_size=50)
        jobs.extend(j for j in found.items if isinstance(j, Job))
        staffed = await systems.psa.list(
            "staffing_request", {"project_id": workspace.id}, page_size=50
        )
        requests += len(staffed.items)
    for job in jobs:
        schedules += len((await systems.erp.list("billing_schedule", {"job_id": job.id})).items)
    opportunity = (await systems.crm.get_many("opportunity", [opportunity_id]))[0]
    assert isinstance(opportunity, Opportunity)
    return Footprint(workspaces, jobs, schedules, requests, opportunity.psa_project_id)


def write_counts(cluster: SandboxCluster) -> dict[str, int]:
    """Requests that write, per system and route, from each sandbox's own counters."""
    counts: dict[str, int] = {}
    for running in cluster.running:
        stats = httpx.get(f"{running.url}/_sandbox/stats").json()
        for route, count in stats["routes"].items():
            method, _, path = route.partition(" ")
            reading = method in ("GET", "HEAD") or (
                method == "POST" and any(word in path for word in READS)
            )
            if not reading:
                counts[f"{running.name} {route}"] = count
    return counts


def set_faults(cluster: SandboxCluster, system: str, **faults: Any) -> None:
    response = httpx.post(f"{cluster[system].url}/_sandbox/faults", json=faults)
    response.raise_for_status()


def clear_faults(cluster: SandboxCluster, system: str) -> None:
    httpx.delete(f"{cluster[system].url}/_sandbox/faults").raise_for_status()


def connectors_of(systems: Systems) -> Mapping[SourceSystem, Any]:
    return systems.connectors

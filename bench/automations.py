"""Automations benchmark: approved time reaching the ERP by itself.

The sandboxes run in a process of their own; the gateway runs here with the demo's
settings (its source limits and its TIME poll interval), change capture polling TIME
only and the time-approved automation on. 200 submitted entries on projects with a
finance code are approved directly in the TIME sandbox, a few at a time as people would.
For each entry the latency runs from its approval returning to the automation's workflow
settling with the hours posted (both on this machine's clock); p50 / p95 over all
entries, and the ERP requests the postings took (from the ERP sandbox's own count; no
one else talks to it meanwhile). The goal is a p95 under 10 s.

    python -m bench.automations [--approvals 200] [--scale 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.read_queries import sandboxes_apart
from gateway.app import create_app
from gateway.settings import Settings, load_settings
from gateway.store import SETTLED_STATUSES, Store, WorkflowStatus
from sandboxes.world.generate import generate
from sources.config import SourceSettings
from sources.errors import RateLimited
from sources.registry import make_connector
from sources.time.connector import TimeConnector

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"
AUTOMATION = "time-approved-to-erp"
SEED = 42
AT_ONCE = 5  # entries approved per moment
BETWEEN_S = 0.25  # between those moments
TIMEOUT_S = 300.0
PERSON_RATE = 3.0  # TIME requests per second the approvers make


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.automations")
    parser.add_argument("--approvals", type=int, default=200)
    parser.add_argument("--scale", type=float, default=0.5, help="size of the generated firm")
    args = parser.parse_args(list(argv) if argv is not None else [])
    asyncio.run(_bench(args.approvals, args.scale))


async def _bench(approvals: int, scale: float) -> None:
    demo = load_settings(DEMO_CONFIG)
    entries = _submitted_on_billed_projects(scale, approvals)
    with (
        sandboxes_apart(SEED, scale, dict(demo.sandbox.tokens)) as firm,
        tempfile.TemporaryDirectory() as tmp,
    ):
        settings = _settings(demo, firm.urls, Path(tmp))
        poll_s = settings.events.poll["time"]["time_entry"]
        print(f"firm: {firm.summary}")
        print(f"{len(entries)} approvals in TIME, {AT_ONCE} every {BETWEEN_S} s;", end=" ")
        print(f"TIME polled every {poll_s:g} s")
        app = create_app(settings)
        gateway = app.state.gateway
        async with app.router.lifespan_context(app):
            store: Store = gateway.store
            while await store.cursors.get("TIME", "time_entry") is None:
                await asyncio.sleep(0.05)
            erp_before = _requests(firm.urls["erp"])
            approved_at = await _approve(settings, firm.urls["time"], entries)
            settled = await _settled(store, set(entries))
            erp_requests = _requests(firm.urls["erp"]) - erp_before
    latencies = sorted(settled[e][0] - approved_at[e] for e in entries if e in settled)
    failed = [e for e, (_, status) in settled.items() if status is not WorkflowStatus.SUCCEEDED]
    print(f"approved time to ERP, {len(latencies)} entries:")
    print(f"  p50 {statistics.median(latencies):6.2f} s")
    print(f"  p95 {_p95(latencies):6.2f} s  (goal: under 10 s)")
    print(f"  ERP requests {erp_requests} ({erp_requests / max(len(latencies), 1):.1f} per entry)")
    if failed:
        print(f"  {len(failed)} workflows did not succeed, e.g. {failed[:3]}")


def _submitted_on_billed_projects(scale: float, count: int) -> list[str]:
    world = generate(seed=SEED, scale=scale)
    billed = {
        p.key
        for p in world.projects
        if p.status == "ACTIVE" and p.erp_job_id and p.contract_type == "TIME_AND_MATERIALS"
    }
    found = [
        t.time_id for t in world.time_entries if t.status == "SUBMITTED" and t.project_key in billed
    ]
    if len(found) < count:
        sys.exit(f"the firm has only {len(found)} submitted entries on billed projects")
    return found[:count]


def _settings(demo: Settings, urls: dict[str, str], tmp: Path) -> Settings:
    sources = {
        name: source.model_copy(update={"base_url": urls[name]})
        for name, source in demo.sources.items()
    }
    automations = [
        a.model_copy(update={"enabled": a.name == AUTOMATION}) for a in demo.events.automations
    ]
    events = demo.events.model_copy(
        update={
            "capture": True,
            "poll": {"time": {"time_entry": demo.events.poll["time"]["time_entry"]}},
            "automations": automations,
        }
    )
    # Approvals reach the gateway through TIME, not GraphQL; still, the gateway trusts the
    # firm's own identity provider, as every benchmark's gateway does.
    auth = demo.auth.model_copy(update={"issuer": urls["idp"]})
    return demo.model_copy(
        update={
            "sources": sources,
            "events": events,
            "store_url": f"sqlite+aiosqlite:///{tmp / 'store.db'}",
            "auth": auth,
        }
    )


async def _approve(settings: Settings, url: str, entries: list[str]) -> dict[str, float]:
    """Approve in TIME as people do, not through the gateway; when each approval returned."""
    # People share TIME's request budget with the gateway (one account): pace them below it.
    person = SourceSettings(
        **{**settings.source("time").model_dump(), "base_url": url, "rate_limit_per_s": PERSON_RATE}
    )
    time_ = make_connector("time", person)
    assert isinstance(time_, TimeConnector)
    approved_at: dict[str, float] = {}
    try:
        for start in range(0, len(entries), AT_ONCE):
            moment = entries[start : start + AT_ONCE]
            while True:
                try:
                    await time_.approve(moment)
                    break
                except RateLimited as limited:
                    await asyncio.sleep(limited.retry_after or 1.0)
            now = time.time()
            approved_at.update(dict.fromkeys(moment, now))
            await asyncio.sleep(BETWEEN_S)
    finally:
        await time_.aclose()
    return approved_at


async def _settled(store: Store, entries: set[str]) -> dict[str, tuple[float, WorkflowStatus]]:
    """Per entry: when its automation's workflow settled, and how."""
    found: dict[str, tuple[float, WorkflowStatus]] = {}
    deadline = time.monotonic() + TIMEOUT_S
    while len(found) < len(entries) and time.monotonic() < deadline:
        for workflow in await store.workflows.find(kind="approve_time", limit=10_000):
            if workflow.status not in SETTLED_STATUSES or workflow.finished_at is None:
                continue
            for entry in workflow.input["time_entry_ids"]:
                if entry in entries and entry not in found:
                    found[entry] = (workflow.finished_at.timestamp(), workflow.status)
        await asyncio.sleep(0.1)
    return found


def _requests(url: str) -> int:
    return int(httpx.get(f"{url}/_sandbox/stats").json()["total"])


def _p95(values: list[float]) -> float:
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


if __name__ == "__main__":
    main(sys.argv[1:])

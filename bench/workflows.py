"""Workflow benchmark: quote-to-project against the sandboxes with 20 ms of latency on
every vendor request.

- latency: quote-to-project run one at a time; its wall time (created to finished, from
  the store) next to its critical path (the longest chain of steps that wait for one
  another, from each step's own start and finish) and the sum of its steps (what running
  them one after another would cost). Wall over critical path near 1.0 means the engine
  adds little beyond the source round trips it must wait for;
- throughput: 100 workflows started at once on one engine worker (100 at a time), how
  many finish per second, and their p50 / p95 time to finish.

The store is a temporary SQLite file (one writer at a time: the throughput bound) unless
`--store-url` names an empty PostgreSQL database; each workflow is a fresh closed-won deal.

    python -m bench.workflows [--runs 10] [--concurrent 100] [--store-url postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import httpx

from gateway.settings import load_settings
from gateway.store import (
    SETTLED_STATUSES,
    StepRecord,
    Store,
    WorkflowRecord,
    WorkflowStatus,
)
from gateway.workflows import RetryPolicy, WorkflowDefinition
from gateway.workflows.bootstrap import Workflows, bootstrap, running
from gateway.workflows.systems import Systems
from sandboxes.runner import SandboxCluster
from sandboxes.world.generate import generate
from sandboxes.world.model import World
from sources.config import SourceSettings
from sources.records import SourceSystem
from sources.registry import SYSTEMS, make_connector

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"
LATENCY_MS = 20
# Workflows one worker drives at once; the rest wait their turn in the store. More than the
# store's connection pool (20 on PostgreSQL) only queues them inside the process instead,
# where lease renewals wait behind them.
WORKER_SLOTS = 16
RETRY = RetryPolicy(max_attempts=10, initial_delay=0.1, multiplier=2.0, max_delay=2.0)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.workflows")
    parser.add_argument("--runs", type=int, default=10, help="sequential runs for latency")
    parser.add_argument("--concurrent", type=int, default=100, help="workflows at once")
    parser.add_argument("--scale", type=float, default=0.5, help="size of the generated firm")
    parser.add_argument(
        "--store-url", default=None, help="an empty database (default: a temporary SQLite file)"
    )
    args = parser.parse_args(list(argv) if argv is not None else [])
    asyncio.run(_bench(args.runs, args.concurrent, args.scale, args.store_url))


async def _bench(runs: int, concurrent: int, scale: float, store_url: str | None) -> None:
    demo = load_settings(DEMO_CONFIG)
    world = generate(seed=42, scale=scale)
    with (
        SandboxCluster(world, demo.sandbox.tokens) as cluster,
        tempfile.TemporaryDirectory() as tmp,
    ):
        connectors = {
            SourceSystem(name.upper()): make_connector(
                name,
                SourceSettings(**{**demo.source(name).model_dump(), "base_url": cluster[name].url}),
            )
            for name in SYSTEMS
        }
        systems = Systems(connectors)
        store = await Store.open(store_url or f"sqlite+aiosqlite:///{Path(tmp) / 'store.db'}")
        print(f"store: {store.dialect}")
        try:
            deals = [await _deal(systems, world, n) for n in range(runs + concurrent)]
            for running_sandbox in cluster.running:
                httpx.post(
                    f"{running_sandbox.url}/_sandbox/faults", json={"latency_ms": LATENCY_MS}
                ).raise_for_status()
            workflows = bootstrap(
                store, connectors, retry=RETRY, concurrency=WORKER_SLOTS, poll_interval=0.05
            )
            async with running(workflows):
                await _latency(workflows, deals[:runs])
                await _throughput(workflows, deals[runs:])
        finally:
            await store.close()
            for connector in connectors.values():
                await connector.aclose()


async def _deal(systems: Systems, world: World, n: int) -> str:
    client = world.clients[n % len(world.clients)]
    return await systems.crm.create_opportunity(
        {
            "account_id": client.crm_id,
            "name": f"{client.name} - Benchmark deal {n}",
            "stage": "CLOSED_WON",
            "close_date": dt.date(2026, 1, 15),
            "amount": Decimal(120_000),
            "practice": "Data & AI",
            "region": client.region,
            "contract_type": "TIME_AND_MATERIALS",
        }
    )


async def _latency(workflows: Workflows, deals: Sequence[str]) -> None:
    definition = _definition(workflows, "quote_to_project")
    walls, paths, sums = [], [], []
    for n, deal in enumerate(deals):
        started = await workflows.start_project(deal, f"bench-latency-{n}")
        done = await workflows.engine.wait(started.id, poll=0.005, timeout=120)
        steps = await workflows.store.steps.for_workflow(done.id)
        _check(done)
        walls.append(_seconds(done.created_at, done.finished_at))
        paths.append(_critical_path(definition, steps))
        sums.append(sum(_duration(step) for step in steps))
    wall, path = statistics.median(walls), statistics.median(paths)
    print(f"quote-to-project at {LATENCY_MS} ms per vendor request, {len(deals)} runs (median):")
    print(f"  wall time            {wall * 1000:7.0f} ms")
    print(f"  critical path        {path * 1000:7.0f} ms  (longest chain of dependent steps)")
    print(f"  steps one by one     {statistics.median(sums) * 1000:7.0f} ms")
    print(f"  wall / critical path {wall / path:7.2f}")


async def _throughput(workflows: Workflows, deals: Sequence[str]) -> None:
    began = time.perf_counter()
    started = await asyncio.gather(
        *(workflows.start_project(deal, f"bench-throughput-{n}") for n, deal in enumerate(deals))
    )
    done = await _all_settled(workflows.store, [s.id for s in started])
    elapsed = time.perf_counter() - began
    for record in done:
        _check(record)
    times = sorted(_seconds(r.created_at, r.finished_at) for r in done)
    print(f"quote-to-project, {len(deals)} started at once:")
    print(f"  all finished in      {elapsed:7.2f} s")
    print(f"  workflows per second {len(deals) / elapsed:7.1f}")
    print(f"  p50 / p95 to finish  {_pct(times, 50):7.2f} / {_pct(times, 95):.2f} s")


async def _all_settled(store: Store, ids: Sequence[str]) -> list[WorkflowRecord]:
    """One reader polling for the lot (a waiter per workflow would load the store more
    than the workflows do)."""
    async with asyncio.timeout(300):
        while True:
            found = await store.workflows.get_many(ids)
            if all(w.status in SETTLED_STATUSES for w in found.values()):
                return [found[i] for i in ids]
            await asyncio.sleep(0.05)


def _definition(workflows: Workflows, kind: str) -> WorkflowDefinition:
    return workflows.engine._definitions[kind]


def _critical_path(definition: WorkflowDefinition, steps: Sequence[StepRecord]) -> float:
    took: Mapping[str, float] = {step.name: _duration(step) for step in steps}
    longest: dict[str, float] = {}
    for step in definition.order:
        before = max((longest[name] for name in step.after), default=0.0)
        longest[step.name] = before + took[step.name]
    return max(longest.values())


def _duration(step: StepRecord) -> float:
    return _seconds(step.started_at, step.finished_at)


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> float:
    if start is None or end is None:
        return 0.0
    return (end - start).total_seconds()


def _pct(ordered: Sequence[float], pct: int) -> float:
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _check(record: WorkflowRecord) -> None:
    if record.status is not WorkflowStatus.SUCCEEDED:
        raise SystemExit(f"workflow {record.id} ended {record.status}: {record.error}")


if __name__ == "__main__":
    main(sys.argv[1:])

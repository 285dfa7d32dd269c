"""Read-side benchmark: three dashboard queries at 10, 100 and 1,000 rows.

It starts the five sandboxes (a `SandboxCluster` over a generated firm large enough for
1,000 rows of each query, in a process of its own so the sandboxes' work does not share
the gateway's interpreter) with 20 ms of latency injected into every vendor request,
serves the gateway under uvicorn on a loopback port, and for each query and size prints:

- upstream: vendor requests the query cost (the sandboxes' own counters, all five);
- levels: the longest chain of connector calls that had to wait for one another;
- p50 / p95: the query's latency as the client sees it;
- critical: levels x 20 ms, and ratio: p50 over it (1.0 would be pure network wait);
- waiting: how long the longest chain of connector calls actually took (the sources'
  own work included: the sandboxes compute reports and filters in Python), so p50 minus
  waiting is roughly the gateway's own time.

Where a query takes more levels at a size than at 10 rows, a line after the table gives
the longest chain of calls at that size, each link with what held it up: the call
before it (its answer was needed), the vendor's paging (the next cursor comes with the
last page), or the gateway's own work (the call started more than 5 ms after the one
before it ended).

Reads are cold (no cache TTLs, no connector snapshots kept), so every run reaches the
sources; TIME's request quota is lifted and its client-side pacing turned off, since
neither is what is being measured.

    python -m bench.read_queries [--scale 1.7] [--reps 5]
"""

from __future__ import annotations

import argparse
import itertools
import math
import multiprocessing
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from gateway.app import create_app, tune_gc
from gateway.settings import Settings, load_settings
from resolvers.upstream import UpstreamCall
from sandboxes.harness.identity import Identity
from sandboxes.runner import SANDBOXES, SandboxCluster
from sandboxes.world.generate import generate
from sources.config import Timeouts
from sources.registry import SYSTEMS

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"
LATENCY_MS = 20
SIZES = (10, 100, 1000)
# Every entity any connector keeps a snapshot or the gateway caches, set to keep nothing.
COLD = {
    entity: 0.0
    for entity in (
        "account", "opportunity", "contact", "project", "milestone", "assignment",
        "staffing_request", "user", "worker", "customer", "job", "invoice",
        "billing_schedule", "payment", "time_posting", "time_entry", "expense",
    )
}  # fmt: skip

PROJECT_HEALTH_BOARD = """
query($n: Int!) { projects(first: $n) { edges { node {
  code name status financeCode client { name } manager { name }
  health { budgetBurn hoursApproved hoursUnbilled invoicedAmount { amount } billingReady risks }
} } } }
"""
UTILIZATION_BY_PRACTICE = """
query($n: Int!, $from: Date!, $to: Date!) { resources(first: $n) { edges { node {
  name title practice manager { name } utilization(from: $from, to: $to)
} } } }
"""
RECEIVABLES_AND_BILLING_READINESS = """
query($n: Int!) { invoices(first: $n) { edges { node {
  number status amount { amount currency } dueDate
  client { name creditStatus paymentTerms receivables { amount } }
  project { code financeCode health { billingReady hoursUnbilled } }
} } } }
"""


@dataclass(frozen=True)
class Dashboard:
    name: str
    query: str
    root: str  # the top-level field whose edges are the rows
    variables: Callable[[int, date], dict[str, Any]]  # rows, the firm's today


DASHBOARDS = (
    Dashboard("project health board", PROJECT_HEALTH_BOARD, "projects", lambda n, t: {"n": n}),
    Dashboard(
        "utilization by practice",
        UTILIZATION_BY_PRACTICE,
        "resources",
        lambda n, t: {"n": n, "from": (t - timedelta(days=30)).isoformat(), "to": t.isoformat()},
    ),
    Dashboard(
        "receivables & billing readiness",
        RECEIVABLES_AND_BILLING_READINESS,
        "invoices",
        lambda n, t: {"n": n},
    ),
)


@dataclass(frozen=True)
class Firm:
    """What the sandboxes' process tells the benchmark about the firm it serves."""

    urls: dict[str, str]  # every sandbox's, the identity provider's among them
    today: date
    summary: str

    @property
    def sources(self) -> dict[str, str]:
        """The vendor systems' sandboxes (not the identity provider)."""
        return {name: url for name, url in self.urls.items() if name in SYSTEMS}

    def identity(self, demo: Settings) -> Identity:
        """Tokens from the firm's identity provider, which `bench_settings` trusts."""
        return Identity(self.urls["idp"], demo.sandbox.tokens["idp"], demo.auth.audience)


def serve_sandboxes(
    connection: Connection,
    seed: int,
    scale: float,
    tokens: dict[str, str],
    names: Sequence[str] = SANDBOXES,
) -> None:
    """The sandboxes' process: generate the firm, serve it, report, wait to be told to stop."""
    world = generate(seed=seed, scale=scale)
    cluster = SandboxCluster(world, tokens, names).start()
    summary = (
        f"{len(world.projects)} projects, {len(world.people)} people, "
        f"{len(world.invoices)} invoices, {len(world.time_entries)} time entries"
    )
    connection.send(Firm({r.name: r.url for r in cluster.running}, world.today, summary))
    connection.recv()
    cluster.stop()


@contextmanager
def sandboxes_apart(
    seed: int, scale: float, tokens: dict[str, str], names: Sequence[str] = SANDBOXES
) -> Iterator[Firm]:
    """The sandboxes in a process of their own (their work does not share the gateway's
    interpreter), for the life of the block."""
    spawn = multiprocessing.get_context("spawn")
    ours, theirs = spawn.Pipe()
    process = spawn.Process(
        target=serve_sandboxes, args=(theirs, seed, scale, tokens, names), daemon=True
    )
    process.start()
    try:
        yield ours.recv()
    finally:
        ours.send("stop")
        process.join(timeout=30)


@dataclass(frozen=True)
class Run:
    rows: int
    upstream: int
    levels: int
    waiting: float  # seconds along the longest chain of connector calls
    seconds: float
    chain: list[UpstreamCall]


class Calls:
    """The gateway's connector calls, collected from the thread that serves it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[UpstreamCall] = []

    def __call__(self, call: UpstreamCall) -> None:
        with self._lock:
            self._calls.append(call)

    def take(self) -> list[UpstreamCall]:
        with self._lock:
            taken, self._calls = self._calls, []
        return taken


def levels(calls: Sequence[UpstreamCall]) -> int:
    """The longest chain of calls each started after the one before it had ended."""
    return len(chain(calls))


def chain(calls: Sequence[UpstreamCall]) -> list[UpstreamCall]:
    """That longest chain, each call after the one that ended last before it started."""
    ordered = sorted(calls, key=lambda c: c.started)
    best: list[list[UpstreamCall]] = []
    for i, call in enumerate(ordered):
        before = [j for j in range(i) if ordered[j].ended <= call.started]
        longest = max((len(best[j]) for j in before), default=0)
        gate = max((j for j in before if len(best[j]) == longest), key=lambda j: ordered[j].ended,
                   default=None)  # fmt: skip
        best.append([*(best[gate] if gate is not None else []), call])
    return max(best, key=len, default=[])


# A call starting this long after the one before it in its chain ended was held up by the
# gateway's own work, not by that call's answer.
BUSY_S = 0.005


def why(longer: Sequence[UpstreamCall]) -> str:
    """A chain of calls, each link saying what held the call up: the call before it
    (its answer was needed), the gateway being busy, or the vendor's paging."""
    links = [f"{longer[0].system.value} {longer[0].entity}"]
    for before, call in itertools.pairwise(longer):
        gap = call.started - before.ended
        name = f"{call.system.value} {call.entity}"
        if (call.system, call.entity) == (before.system, before.entity):
            links.append(f"{name} (the next page: the vendor's cursor comes with the last)")
        elif gap > BUSY_S:
            links.append(f"{name} ({gap * 1000:.0f} ms later: the gateway was busy)")
        else:
            links.append(name)
    return " → ".join(links)


def waiting(calls: Sequence[UpstreamCall]) -> float:
    """The longest time along a chain of calls each started after the one before ended."""
    ordered = sorted(calls, key=lambda c: c.started)
    total: list[float] = []
    for i, call in enumerate(ordered):
        before = [total[j] for j in range(i) if ordered[j].ended <= call.started]
        total.append(call.ended - call.started + max(before, default=0.0))
    return max(total, default=0.0)


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def upstream_total(firm: Firm, http: httpx.Client) -> int:
    return sum(
        int(http.get(f"{url}/_sandbox/stats").json()["total"]) for url in firm.sources.values()
    )


def bench_settings(demo: Settings, firm: Firm, store: Path) -> Settings:
    sources = {
        name: config.model_copy(
            update={
                "base_url": firm.urls[name],
                "cache_ttl": COLD,
                "rate_limit_per_s": None,
                "timeouts": Timeouts(connect=2.0, read=30.0, total=60.0),
            }
        )
        for name, config in demo.sources.items()
    }
    auth = demo.auth.model_copy(update={"issuer": firm.urls["idp"]})
    return demo.model_copy(
        update={"sources": sources, "store_url": f"sqlite+aiosqlite:///{store}", "auth": auth}
    )


def serve(
    settings: Settings, calls: Calls, *, enforce_policy: bool = True
) -> tuple[str, uvicorn.Server, threading.Thread]:
    app = create_app(settings, enforce_policy=enforce_policy)
    app.state.gateway.upstream.add_listener(calls)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    tune_gc()  # as a serving gateway process does
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the gateway failed to start")
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}/graphql", server, thread


def measure(
    http: httpx.Client,
    url: str,
    firm: Firm,
    calls: Calls,
    dashboard: Dashboard,
    variables: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> Run:
    """One run; fields the caller's role may not read are expected errors (FORBIDDEN)."""
    before = upstream_total(firm, http)
    calls.take()
    started = time.perf_counter()
    response = http.post(
        url, json={"query": dashboard.query, "variables": variables}, headers=headers
    )
    seconds = time.perf_counter() - started
    body = response.json()
    unexpected = [
        e for e in body.get("errors", []) if e.get("extensions", {}).get("code") != "FORBIDDEN"
    ]
    if response.status_code != 200 or unexpected:
        raise RuntimeError(f"{dashboard.name}: {response.status_code} {unexpected}")
    made = calls.take()
    return Run(
        rows=len(body["data"][dashboard.root]["edges"]),
        upstream=upstream_total(firm, http) - before,
        levels=levels(made),
        waiting=waiting(made),
        seconds=seconds,
        chain=chain(made),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.read_queries", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.7, help="world size (1.7: 1,020 people)")
    parser.add_argument("--reps", type=int, default=4, help="measured runs per query and size")
    args = parser.parse_args(argv)

    demo = load_settings(DEMO_CONFIG)
    started = time.perf_counter()
    spawn = multiprocessing.get_context("spawn")
    ours, theirs = spawn.Pipe()
    sandboxes = spawn.Process(
        target=serve_sandboxes,
        args=(theirs, demo.sandbox.seed, args.scale, dict(demo.sandbox.tokens)),
        daemon=True,
    )
    sandboxes.start()
    firm: Firm = ours.recv()
    print(
        f"firm at scale {args.scale}: {firm.summary} (ready in "
        f"{time.perf_counter() - started:.0f} s); {LATENCY_MS} ms injected per vendor "
        f"request; cold reads; {args.reps} runs each after one warm-up",
        flush=True,
    )
    calls = Calls()
    admin = firm.identity(demo).headers_for("admin")
    with (
        tempfile.TemporaryDirectory() as scratch,
        httpx.Client(timeout=120, headers=admin) as http,
    ):
        url, server, thread = serve(bench_settings(demo, firm, Path(scratch) / "g.db"), calls)
        try:
            http.post(
                f"{firm.urls['time']}/_sandbox/limits", json={"requests": 1_000_000, "window_s": 1}
            ).raise_for_status()
            for sandbox in firm.sources.values():
                http.post(
                    f"{sandbox}/_sandbox/faults", json={"latency_ms": LATENCY_MS}
                ).raise_for_status()
            header = (
                f"{'query':32} {'rows':>5} {'upstream':>8} {'levels':>6} {'p50 ms':>7} "
                f"{'p95 ms':>7} {'critical ms':>11} {'ratio':>6} {'waiting ms':>10}"
            )
            print(header)
            print("-" * len(header))
            extra: list[str] = []
            for dashboard in DASHBOARDS:
                fewest: int | None = None
                for size in SIZES:
                    variables = dashboard.variables(size, firm.today)
                    measure(http, url, firm, calls, dashboard, variables)  # warm-up
                    runs = [
                        measure(http, url, firm, calls, dashboard, variables)
                        for _ in range(args.reps)
                    ]
                    p50 = statistics.median(r.seconds for r in runs) * 1000
                    p95 = percentile([r.seconds for r in runs], 0.95) * 1000
                    depth = round(statistics.median(r.levels for r in runs))
                    fewest = depth if fewest is None else fewest
                    if depth > fewest:
                        slowest = max(runs, key=lambda r: r.levels)
                        extra.append(
                            f"{dashboard.name}, {size} rows: {depth} levels, {fewest} at "
                            f"{SIZES[0]}: {why(slowest.chain)}"
                        )
                    critical = depth * LATENCY_MS
                    wait = statistics.median(r.waiting for r in runs) * 1000
                    print(
                        f"{dashboard.name:32} {runs[0].rows:>5} "
                        f"{round(statistics.median(r.upstream for r in runs)):>8} {depth:>6} "
                        f"{p50:>7.0f} {p95:>7.0f} {critical:>11} {p50 / critical:>6.1f} "
                        f"{wait:>10.0f}",
                        flush=True,
                    )
            for line in extra:
                print(f"  more levels than at {SIZES[0]} rows — {line}")
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            ours.send("stop")
            sandboxes.join(timeout=30)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])

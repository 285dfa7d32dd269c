"""What the role policy costs: the three dashboard queries (bench.read_queries) at 100 rows,
with an admin's token and with a client portal user's, beside the same queries on a gateway
built with the policy switched off in process (it still checks tokens; it only stops
asking what each caller may see).

The set-up is bench.read_queries' own: the sandboxes in a process of their own, 20 ms of
latency on every vendor request, cold reads. The client's dashboards return fewer rows
(its own projects and invoices; no people) and FORBIDDEN errors for the fields it may not
read, so its figures say what a portal user waits, not a like-for-like overhead; the
overhead column compares the admin's p50 with policy to the p50 without.

    python -m bench.policy [--scale 1.0] [--reps 15] [--rows 100]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.read_queries import (
    DASHBOARDS,
    DEMO_CONFIG,
    LATENCY_MS,
    Calls,
    Run,
    bench_settings,
    measure,
    sandboxes_apart,
    serve,
)
from gateway.settings import load_settings

FIRST_CLIENT = "{ projects(first: 1) { edges { node { client { id } } } } }"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.policy", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--rows", type=int, default=100)
    args = parser.parse_args(argv)

    demo = load_settings(DEMO_CONFIG)
    with (
        sandboxes_apart(demo.sandbox.seed, args.scale, dict(demo.sandbox.tokens)) as firm,
        tempfile.TemporaryDirectory() as scratch,
        httpx.Client(timeout=120) as http,
    ):
        identity = firm.identity(demo)
        admin = identity.headers_for("admin")
        settings = bench_settings(demo, firm, Path(scratch) / "g.db")
        calls = Calls()
        guarded, server, thread = serve(settings, calls)
        open_, server_open, thread_open = serve(
            settings.model_copy(update={"store_url": f"sqlite+aiosqlite:///{scratch}/o.db"}),
            calls,
            enforce_policy=False,
        )
        try:
            http.post(
                f"{firm.urls['time']}/_sandbox/limits", json={"requests": 1_000_000, "window_s": 1}
            ).raise_for_status()
            for sandbox in firm.sources.values():
                http.post(
                    f"{sandbox}/_sandbox/faults", json={"latency_ms": LATENCY_MS}
                ).raise_for_status()
            first = http.post(guarded, json={"query": FIRST_CLIENT}, headers=admin).json()
            client_id = first["data"]["projects"]["edges"][0]["node"]["client"]["id"]
            client = identity.headers_for("client", client=client_id)
            print(
                f"firm: {firm.summary}; {args.rows} rows asked; {LATENCY_MS} ms per vendor "
                f"request; cold reads; {args.reps} runs each after one warm-up; p50 in ms"
            )
            header = (
                f"{'query':32} {'no policy':>9} {'admin':>7} {'overhead':>8} "
                f"{'client':>7} {'its rows':>8}"
            )
            print(header)
            print("-" * len(header))
            for dashboard in DASHBOARDS:
                variables = dashboard.variables(args.rows, firm.today)
                variants = (
                    ("none", open_, admin),
                    ("admin", guarded, admin),
                    ("client", guarded, client),
                )
                for _label, url, headers in variants:  # warm-up
                    measure(http, url, firm, calls, dashboard, variables, headers)
                # The variants take turns, run after run: a slower moment of the machine
                # falls on all three alike instead of on one variant's block of runs.
                runs: dict[str, list[Run]] = {label: [] for label, _, _ in variants}
                for _ in range(args.reps):
                    for label, url, headers in variants:
                        runs[label].append(
                            measure(http, url, firm, calls, dashboard, variables, headers)
                        )
                figures = {
                    label: (statistics.median(r.seconds for r in done) * 1000, done[0].rows)
                    for label, done in runs.items()
                }
                none, with_policy = figures["none"][0], figures["admin"][0]
                print(
                    f"{dashboard.name:32} {none:>9.0f} {with_policy:>7.0f} "
                    f"{(with_policy - none) / none * 100:>7.1f}% "
                    f"{figures['client'][0]:>7.0f} {figures['client'][1]:>8}",
                    flush=True,
                )
        finally:
            for running, serving in ((server, thread), (server_open, thread_open)):
                running.should_exit = True
                serving.join(timeout=10)


if __name__ == "__main__":
    main()

"""Staffing benchmark: ranking candidates for every open staffing request of one practice.

The same five sandboxes and cold gateway as `bench.read_queries` (20 ms injected per vendor
request, nothing cached). For one practice, the open requests are asked for in growing
numbers, each with its ten best candidates; printed per size: the requests ranked, the
people considered per request, upstream requests (all five sandboxes' own counters), and
p50 / p95 latency. Batching shows as an upstream count that does not grow with the number
of requests or of candidates (beyond the vendors' page and chunk sizes).

    python -m bench.staffing [--scale 1.0] [--reps 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.read_queries import (
    DEMO_CONFIG,
    LATENCY_MS,
    Calls,
    Firm,
    bench_settings,
    percentile,
    sandboxes_apart,
    serve,
    upstream_total,
)
from gateway.settings import load_settings

RANKING = """
query($n: Int!, $practice: String) {
  staffingRequests(first: $n, status: OPEN, practice: $practice) { totalCount edges { node {
    role hoursPerWeek
    candidates(first: 10) { score skillMatch availableHoursPerWeek resource { name } }
  } } }
}
"""
SIZES = (1, 10, 50)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.staffing", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--reps", type=int, default=4)
    args = parser.parse_args(argv)

    demo = load_settings(DEMO_CONFIG)
    tokens = dict(demo.sandbox.tokens)
    with (
        sandboxes_apart(demo.sandbox.seed, args.scale, tokens) as firm,
        tempfile.TemporaryDirectory() as scratch,
        httpx.Client(timeout=120) as http,
    ):
        http.headers.update(firm.identity(demo).headers_for("admin"))
        url, server, thread = serve(bench_settings(demo, firm, Path(scratch) / "g.db"), Calls())
        try:
            http.post(
                f"{firm.urls['time']}/_sandbox/limits", json={"requests": 1_000_000, "window_s": 1}
            ).raise_for_status()
            for sandbox in firm.sources.values():
                http.post(
                    f"{sandbox}/_sandbox/faults", json={"latency_ms": LATENCY_MS}
                ).raise_for_status()
            practice = busiest_practice(http, url)
            everyone = people(http, url)
            print(
                f"firm: {firm.summary}; practice {practice!r}; {LATENCY_MS} ms per vendor "
                f"request; cold reads; {args.reps} runs each after one warm-up"
            )
            header = f"{'requests':>8} {'people':>7} {'upstream':>8} {'p50 ms':>7} {'p95 ms':>7}"
            print(header)
            print("-" * len(header))
            for size in SIZES:
                ask(http, url, firm, size, practice)  # warm-up
                runs = [ask(http, url, firm, size, practice) for _ in range(args.reps)]
                upstream = statistics.median(r[1] for r in runs)
                seconds = [r[2] for r in runs]
                print(
                    f"{runs[0][0]:>8} {everyone:>7} {upstream:>8.0f} "
                    f"{statistics.median(seconds) * 1000:>7.0f} "
                    f"{percentile(seconds, 0.95) * 1000:>7.0f}",
                    flush=True,
                )
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def busiest_practice(http: httpx.Client, url: str) -> str | None:
    body = http.post(
        url,
        json={
            "query": "{ staffingRequests(first: 200, status: OPEN) "
            "{ edges { node { project { practice } } } } }"
        },
    ).json()
    practices = [
        e["node"]["project"]["practice"] for e in body["data"]["staffingRequests"]["edges"]
    ]
    return max(set(practices), key=practices.count) if practices else None


def ask(
    http: httpx.Client, url: str, firm: Firm, size: int, practice: str | None
) -> tuple[int, int, float]:
    """Requests ranked, upstream requests, seconds."""
    before = upstream_total(firm, http)
    started = time.perf_counter()
    response = http.post(
        url, json={"query": RANKING, "variables": {"n": size, "practice": practice}}
    )
    seconds = time.perf_counter() - started
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"ranking: {body['errors']}")
    edges = body["data"]["staffingRequests"]["edges"]
    return len(edges), upstream_total(firm, http) - before, seconds


def people(http: httpx.Client, url: str) -> int:
    """Everyone the ranking weighs (every worker of the HCM)."""
    body = http.post(url, json={"query": "{ resources(first: 1) { totalCount } }"}).json()
    return int(body["data"]["resources"]["totalCount"])


if __name__ == "__main__":
    main(sys.argv[1:])

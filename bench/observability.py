"""What watching costs: one upstream call and one GraphQL operation, timed unwatched,
watched with tracing off (metrics and source health only, the default), and traced.

    python -m bench.observability [--calls N] [--operations N]

The upstream calls go to an in-process transport that answers at once, and the
operation reads one constant field, so the figures are the watching's own cost per call
and per operation, not a source's latency. Tracing exports to memory (an OTLP exporter
batches in the background; its cost on the request path is the same span work).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx
import strawberry
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.observability.health import SourceHealthTracker
from gateway.observability.metrics import Metrics
from gateway.observability.operations import operation_extension
from gateway.observability.tracing import Tracing
from gateway.observability.upstream import UpstreamObserver
from gateway.settings import TracingConfig
from sources.config import SourceSettings
from sources.http import SourceClient
from sources.records import SourceSystem

ROUNDS = 5


@strawberry.type
class Query:
    @strawberry.field
    def ping(self) -> str:
        return "pong"


def _client(observer: UpstreamObserver | None) -> SourceClient:
    client = SourceClient(
        SourceSystem.TIME,
        SourceSettings(base_url="http://time.bench"),
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json={})),
    )
    client.observer = observer
    return client


def _observer(tracing: Tracing) -> UpstreamObserver:
    metrics = Metrics()
    health = SourceHealthTracker({SourceSystem.TIME: lambda: "closed"})
    return UpstreamObserver(metrics, health, tracing.tracer)


Run = Callable[[], Awaitable[object]]


async def _per_item(runs: dict[str, Run], n: int) -> dict[str, float]:
    """Median over rounds of the microseconds one run takes, per variant. The variants
    take turns within each round, so a busy machine slows them alike; one warm-up round
    is not counted."""
    rounds: dict[str, list[float]] = {label: [] for label in runs}
    for round_ in range(ROUNDS + 1):
        for label, run in runs.items():
            started = time.perf_counter()
            for _ in range(n):
                await run()
            if round_:
                rounds[label].append((time.perf_counter() - started) / n * 1e6)
    return {label: statistics.median(times) for label, times in rounds.items()}


def _caller(client: SourceClient) -> Run:
    return lambda: client.request("GET", "/v2/users/1")


def _operation(schema: strawberry.Schema) -> Run:
    return lambda: schema.execute("query Ping { ping }")


async def _calls(n: int) -> dict[str, float]:
    off = Tracing(TracingConfig(exporter="none"))
    on = Tracing(TracingConfig(), exporter=InMemorySpanExporter())
    clients = {
        "unwatched": _client(None),
        "tracing off": _client(_observer(off)),
        "traced": _client(_observer(on)),
    }
    try:
        return await _per_item({k: _caller(c) for k, c in clients.items()}, n)
    finally:
        for client in clients.values():
            await client.aclose()
        on.shutdown()


async def _operations(n: int) -> dict[str, float]:
    metrics = Metrics()
    off = Tracing(TracingConfig(exporter="none"))
    on = Tracing(TracingConfig(), exporter=InMemorySpanExporter())
    schemas = {
        "unwatched": strawberry.Schema(query=Query),
        "tracing off": strawberry.Schema(
            query=Query, extensions=[operation_extension(metrics, off.tracer)]
        ),
        "traced": strawberry.Schema(
            query=Query, extensions=[operation_extension(metrics, on.tracer)]
        ),
    }
    try:
        return await _per_item({k: _operation(s) for k, s in schemas.items()}, n)
    finally:
        on.shutdown()


def _print(title: str, figures: dict[str, float]) -> None:
    base = figures["unwatched"]
    print(title)
    for label, micros in figures.items():
        print(f"  {label:<12} {micros:8.1f} µs  ({micros - base:+.1f} µs)")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.observability")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--operations", type=int, default=1000)
    args = parser.parse_args(argv)
    _print("one upstream call (in-process answer)", asyncio.run(_calls(args.calls)))
    _print("one GraphQL operation (one constant field)", asyncio.run(_operations(args.operations)))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

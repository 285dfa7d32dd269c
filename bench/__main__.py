"""`make bench`: every benchmark, one after the other, each printing its own figures."""

from __future__ import annotations

import importlib
import sys
import time

BENCHMARKS = (
    "bench.read_queries",
    "bench.policy",
    "bench.staffing",
    "bench.workflows",
    "bench.events",
    "bench.automations",
    "bench.observability",
    "bench.field_cost",
    "bench.visibility",
)


def main(names: list[str]) -> int:
    for name in names or BENCHMARKS:
        started = time.perf_counter()
        print(f"\n=== {name} ===", flush=True)
        module = importlib.import_module(name)
        module.main([])  # each with its own defaults
        print(f"({name} took {time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

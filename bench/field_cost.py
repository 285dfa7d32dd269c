"""What one resolved field costs once the data is cached: the gateway's own work per field.

    python -m bench.field_cost [--reps 200]

The gateway runs as configured for the demo (cache on), in this process, over the CRM,
PSA and identity sandboxes in a process of their own. After a warm-up has cached every
record, `projects(first: n) { edges { node { name client { name } } } }` is asked
sequentially for a small and a large page, in turn; each row resolves five fields (edge, node,
name, client, client name). The difference of the two medians, divided by the difference
in resolved fields, is the cost of one more field: what a request costs beyond its fixed
part (HTTP, token, parsing, validation), which is printed apart.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.read_queries import DEMO_CONFIG, Calls, sandboxes_apart, serve
from gateway.settings import Settings, load_settings

QUERY = "query($n: Int!) { projects(first: $n) { edges { node { name client { name } } } } }"
FIELDS_PER_ROW = 5
SMALL, LARGE = 10, 100


def settings_for(demo: Settings, urls: dict[str, str], store: Path) -> Settings:
    sources = {
        name: config.model_copy(update={"base_url": urls[name], "rate_limit_per_s": None})
        if name in urls
        else config
        for name, config in demo.sources.items()
    }
    auth = demo.auth.model_copy(update={"issuer": urls["idp"]})
    return demo.model_copy(
        update={"sources": sources, "store_url": f"sqlite+aiosqlite:///{store}", "auth": auth}
    )


def ask_ms(http: httpx.Client, url: str, headers: dict[str, str], n: int) -> float:
    started = time.perf_counter()
    response = http.post(url, json={"query": QUERY, "variables": {"n": n}}, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"n={n}: {response.status_code} {body.get('errors')}")
    if len(body["data"]["projects"]["edges"]) != n:
        raise RuntimeError(f"n={n}: a short page")
    return elapsed


def medians_ms(
    http: httpx.Client, url: str, headers: dict[str, str], reps: int
) -> tuple[float, float]:
    """The two pages' medians, asked in turn so that a slow spell of the machine weighs
    on both alike rather than on whichever was being measured."""
    small, large = [], []
    for _ in range(reps):
        small.append(ask_ms(http, url, headers, SMALL))
        large.append(ask_ms(http, url, headers, LARGE))
    return statistics.median(small), statistics.median(large)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.field_cost", description=__doc__)
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args(argv)
    demo = load_settings(DEMO_CONFIG)
    with (
        sandboxes_apart(
            demo.sandbox.seed, 1.0, dict(demo.sandbox.tokens), ("crm", "psa", "idp")
        ) as firm,
        tempfile.TemporaryDirectory() as folder,
        httpx.Client(timeout=60) as http,
    ):
        settings = settings_for(demo, firm.urls, Path(folder) / "store.db")
        url, server, thread = serve(settings, Calls())
        try:
            headers = {"Authorization": f"Bearer {firm.identity(demo).token_for('admin')}"}
            medians_ms(http, url, headers, 20)  # warm: every record cached
            small, large = medians_ms(http, url, headers, args.reps)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    per_field_us = (large - small) * 1000 / ((LARGE - SMALL) * FIELDS_PER_ROW)
    fixed_ms = small - SMALL * FIELDS_PER_ROW * per_field_us / 1000
    print(f"cached query, sequential, median of {args.reps}:")
    print(f"  {SMALL:>4} rows: {small:7.2f} ms   {LARGE:>4} rows: {large:7.2f} ms")
    print(f"  per resolved field: {per_field_us:5.2f} µs   fixed per request: {fixed_ms:5.2f} ms")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

"""Instructions per request: the gateway's own work, counted rather than timed.

On a shared machine the same build measures ±20% from one minute to the next, in req/s and
CPU time alike, so an optimisation of a few percent cannot be told from the noise by
timing it. Valgrind's callgrind counts the instructions the gateway's process executes,
which do not depend on what else the machine is doing: the same code gives the same count
to well under 1%.

The gateway runs as its own process under callgrind, with instrumentation off while it
starts (`--instr-atstart=no`, so start-up takes seconds, not minutes), over the CRM, PSA and
identity sandboxes of `bench.peers`. After a warm-up, instrumentation is switched on with
`callgrind_control`, the question of `bench.peers` is asked `--requests` times in turn, and
switched off again; the count over those requests, divided by them, is printed for:

- n = 10 and n = 100 like for like (no cache, no sharing, as `bench.peers`' like-for-like
  psgraph: every request makes its PSA and CRM calls), and
- n = 100 as configured (the demo's cache: the rows' fields are the work, as in
  `bench.field_cost`).

Compare two builds by running this on each: only the difference means anything, and it
means the same on any machine with the same Python and libraries. Needs `valgrind`.

    python -m bench.instructions [--requests 100]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.peers import PSGRAPH_QUERY, psgraph_config
from bench.read_queries import DEMO_CONFIG, Firm, sandboxes_apart
from gateway.settings import load_settings
from sandboxes.harness.processes import GatewayProcess

WARM_UP = 20
VARIANTS = (
    ("like for like", 10, True),
    ("like for like", 100, True),
    ("as configured", 100, False),
)
_TOTALS = re.compile(rb"^totals:\s+(\d+)", re.MULTILINE)


def totals(profile: bytes) -> int:
    """The instructions a callgrind output file counts in all ("totals:"); 0 if none."""
    found = _TOTALS.search(profile)
    return int(found.group(1)) if found else 0


def per_request(
    firm: Firm, scratch: Path, label: str, n: int, *, cold: bool, requests: int
) -> float:
    config = psgraph_config(scratch, f"{label}-{n}".replace(" ", "-"), firm.urls, cold=cold)
    out = scratch / f"callgrind.{label}.{n}".replace(" ", "-")
    valgrind = ("valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}")
    gateway = GatewayProcess(config, scratch / "gateway.log", prefix=valgrind).start()
    try:
        gateway.ready()
        assert gateway.process is not None
        pid = str(gateway.process.pid)
        body = {"query": PSGRAPH_QUERY, "variables": {"n": n}}
        with httpx.Client(timeout=120, headers=gateway.headers) as http:

            def ask() -> None:
                response = http.post(gateway.graphql, json=body)
                response.raise_for_status()
                if response.json().get("errors"):
                    raise RuntimeError(f"{label} n={n}: {response.text[:500]}")

            for _ in range(WARM_UP):
                ask()
            subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
            for _ in range(requests):
                ask()
            subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)
    finally:
        gateway.stop()
    counted = totals(out.read_bytes()) if out.exists() else 0
    if not counted:
        raise RuntimeError(f"callgrind counted nothing for {label} n={n}: {gateway.log()[-2000:]}")
    return counted / requests


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--requests", type=int, default=100, help="counted requests per variant")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("bench.instructions needs valgrind (Debian's package: valgrind)")
    demo = load_settings(DEMO_CONFIG)
    tokens = dict(demo.sandbox.tokens)
    with (
        sandboxes_apart(demo.sandbox.seed, 1.0, tokens, ("crm", "psa", "idp")) as firm,
        tempfile.TemporaryDirectory() as folder,
    ):
        httpx.post(f"{firm.urls['psa']}/_sandbox/rate_limit", json={"per_s": None})
        print(f"{firm.summary}; {args.requests} requests counted per variant, after {WARM_UP}")
        print(f"{'psgraph':16} {'n':>4} {'instructions per request':>26}")
        for label, n, cold in VARIANTS:
            count = per_request(firm, Path(folder), label, n, cold=cold, requests=args.requests)
            print(f"{label:16} {n:>4} {count / 1e6:>24.2f} M", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

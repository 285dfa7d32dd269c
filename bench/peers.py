"""Side by side with Hive Gateway: the same question, the same sandboxes, the same load.

`make bench-peers` installs The Guild's Hive Gateway and Mesh Compose with npm into a
scratch folder (`var/bench-peers/`, once), composes the PSA and CRM sandboxes from the
project's own OpenAPI subsets (`bench/peers/`), and puts one question to both gateways:

    psgraph: projects(first: $n) { edges { node { name client { name } } } }
    Hive:    workspaces(per_page: $n) { workspaces { … title client { Name } } }

Each costs one PSA and one CRM call per query. For n = 10 and 100 and 0 or 20 ms of
latency injected into every vendor request, the variants run alternated, round after
round, each for a closed-loop load of 20 connections (`bench/peers/load.mjs`, autocannon),
after 20 sequential requests that give the unloaded latency. Printed per variant (medians
over the rounds): req/s, p50/p95/p99 under load, CPU ms per query of the gateway process,
and latency ÷ critical path (two sequential vendor calls: twice the injected latency).

Variants: Hive; psgraph like for like (no cache, no sharing of identical reads in flight,
and as many requests in flight to each vendor as the load has connections: Hive has no
cache or sharing and caps no vendor's connections); psgraph as configured (the demo's
cache TTLs and per-vendor caps). Every response of a run must equal the first (load.mjs
checks), and psgraph's and Hive's (project, client) lists must be equal before anything
is measured. Three dashboard queries, which Hive cannot express over these two sources,
are measured for psgraph alone.

    python -m bench.peers [--rounds 3] [--duration 10] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench import read_queries
from bench.read_queries import Firm, serve_sandboxes
from gateway.settings import load_settings
from sandboxes.harness.processes import GatewayProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
RIG = Path(__file__).resolve().parent / "peers"
SCRATCH = ROOT / "var" / "bench-peers"
DEMO_CONFIG = ROOT / "config" / "demo.yaml"
START_TIMEOUT_S = 60.0

PSGRAPH_QUERY = (
    "query($n: Int!) { projects(first: $n) { edges { node { name client { name } } } } }"
)
HIVE_QUERY = (
    'query($n: Int) { workspaces(include_archived: "true", page: 1, per_page: $n) '
    "{ workspaces { additionalProperties { value { title client { Name } } } } } }"
)
SIZES = (10, 100)
CONNECTIONS = 20  # the closed loop's, for every variant
LATENCIES_MS = (0, 20)
CRITICAL_CALLS = 2  # PSA, then CRM for the page's clients
# Every entity the two connectors could cache or snapshot, kept for no time at all.
COLD = {"crm": ["account", "opportunity", "contact"], "psa": ["project", "milestone", "user"]}


@dataclass(frozen=True)
class Variant:
    name: str
    url: str
    query: str
    pid: int
    headers: dict[str, str] = field(default_factory=dict)  # psgraph's: an admin's token
    # A bad response under load stops the run for ours; the peer's are counted and shown
    # (Hive answers a rare upstream hiccup with an error where psgraph retries).
    strict: bool = True


@dataclass
class Sample:
    rps: float
    p50: float
    p95: float
    p99: float
    cpu_ms: float
    unloaded_ms: float
    upstream_per_query: float


# --- the npm rig ----------------------------------------------------------------------


def install_rig() -> Path:
    """The rig in the scratch folder, npm-installed when its package.json changed."""
    SCRATCH.mkdir(parents=True, exist_ok=True)
    wanted = (RIG / "package.json").read_bytes()
    stamp = SCRATCH / ".installed"
    digest = hashlib.sha256(wanted).hexdigest()
    for name in ("package.json", "mesh.config.ts", "links.graphql", "load.mjs"):
        shutil.copyfile(RIG / name, SCRATCH / name)
    for spec in RIG.glob("*.openapi.json"):
        shutil.copyfile(spec, SCRATCH / spec.name)
    if not stamp.exists() or stamp.read_text() != digest:
        print("installing Hive Gateway and Mesh Compose with npm (once)…", flush=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=SCRATCH,
            check=True,
        )
        stamp.write_text(digest)
    return SCRATCH


def compose(rig: Path, urls: dict[str, str], tokens: dict[str, str]) -> Path:
    env = {
        **os.environ,
        "PSA_URL": urls["psa"],
        "CRM_URL": urls["crm"],
        "PSA_TOKEN": tokens["psa"],
        "CRM_TOKEN": tokens["crm"],
        "SPEC_DIR": str(rig),
        "LINKS_FILE": str(rig / "links.graphql"),
    }
    out = rig / "supergraph.graphql"
    subprocess.run(
        [str(rig / "node_modules/.bin/mesh-compose"), "-c", "mesh.config.ts", "-o", out.name],
        cwd=rig,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out


# --- processes ------------------------------------------------------------------------


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited: {log.read_text()[-2000:]}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not start: {log.read_text()[-2000:]}")


@contextmanager
def hive_gateway(rig: Path, supergraph: Path, scratch: Path) -> Iterator[Variant]:
    port = free_port()
    log = scratch / "hive.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(rig / "node_modules/.bin/hive-gateway"),
                "supergraph",
                str(supergraph),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=rig,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        wait_until_up(f"http://127.0.0.1:{port}/healthcheck", process, log)
        yield Variant("Hive Gateway", url, HIVE_QUERY, process.pid, strict=False)
    finally:
        process.terminate()
        process.wait(timeout=10)


def psgraph_config(scratch: Path, name: str, urls: dict[str, str], *, cold: bool) -> Path:
    demo: dict[str, Any] = yaml.safe_load(DEMO_CONFIG.read_text())
    sources = {}
    for system in ("crm", "psa"):
        source = {**demo["sources"][system], "base_url": urls[system]}
        if cold:
            source["cache_ttl"] = dict.fromkeys(COLD[system], 0)
            # The demo's cap (8 per vendor) would queue a load of more connections; Hive,
            # whose client opens a connection per request in flight, has none.
            source["concurrency"] = CONNECTIONS
        sources[system] = source
    config = {
        **demo,
        "port": free_port(),
        "store_url": f"sqlite+aiosqlite:///{scratch / (name + '.db')}",
        "sources": sources,
        "auth": {**demo["auth"], "issuer": urls["idp"]},
        "cache": {**demo.get("cache", {}), "share_in_flight": not cold},
    }
    path = scratch / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextmanager
def psgraph(scratch: Path, name: str, label: str, urls: dict[str, str], *, cold: bool
            ) -> Iterator[Variant]:  # fmt: skip
    config = psgraph_config(scratch, name, urls, cold=cold)
    gateway = GatewayProcess(config, scratch / f"{name}.log").start()
    try:
        gateway.ready()
        assert gateway.process is not None
        yield Variant(label, gateway.graphql, PSGRAPH_QUERY, gateway.process.pid, gateway.headers)
    finally:
        gateway.stop()


# --- measuring ------------------------------------------------------------------------


def pairs_psgraph(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [
        (e["node"]["name"], (e["node"]["client"] or {}).get("name"))
        for e in body["data"]["projects"]["edges"]
    ]


def pairs_hive(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    found = body["data"]["workspaces"]["workspaces"]["additionalProperties"]
    return [(w["value"]["title"], (w["value"]["client"] or {}).get("Name")) for w in found]


def ask(http: httpx.Client, variant: Variant, n: int) -> dict[str, Any]:
    response = http.post(
        variant.url,
        json={"query": variant.query, "variables": {"n": n}},
        headers=variant.headers,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    if body.get("errors") or not body.get("data"):
        raise RuntimeError(f"{variant.name}: {json.dumps(body)[:500]}")
    return body


def same_answers(http: httpx.Client, hive: Variant, ours: Variant, n: int) -> None:
    theirs = pairs_hive(ask(http, hive, n))
    mine = pairs_psgraph(ask(http, ours, n))
    if theirs != mine:
        raise AssertionError(f"n={n}: the gateways disagree: {theirs[:3]} vs {mine[:3]}")


def unloaded_ms(http: httpx.Client, variant: Variant, n: int, count: int = 20) -> float:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        ask(http, variant, n)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def load(rig: Path, variant: Variant, n: int, duration: int, stats: list[str]) -> dict[str, Any]:
    result = subprocess.run(
        [
            "node",
            str(rig / "load.mjs"),
            "--url",
            variant.url,
            "--n",
            str(n),
            "-c",
            str(CONNECTIONS),
            "-d",
            str(duration),
            "--warmup",
            "2",
            "--query",
            variant.query,
            "--pids",
            f"gateway={variant.pid}",
            "--stats",
            ",".join(stats),
            *(["--auth", variant.headers["Authorization"]] if variant.headers else []),
        ],
        cwd=rig,
        env={**os.environ, "HIVE_DIR": str(rig)},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"load.mjs for {variant.name}: {result.stderr[-1000:]}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    bad = figures["mismatches"] + figures["non2xx"] + figures["errors"]
    if bad and variant.strict:
        raise AssertionError(f"{variant.name} n={n}: bad responses under load: {figures}")
    if bad:
        samples = figures.get("mismatch_samples", [])[:1]
        print(f"  ({variant.name} n={n}: {bad} bad responses in this run: {samples})", flush=True)
    return figures


def measure(
    http: httpx.Client, rig: Path, variant: Variant, n: int, duration: int, stats: list[str]
) -> Sample:
    quiet = unloaded_ms(http, variant, n)
    figures = load(rig, variant, n, duration, stats)
    rps = figures["rps"]
    return Sample(
        rps=rps,
        p50=figures["p50_ms"],
        p95=figures["p95_ms"],
        p99=figures["p99_ms"],
        cpu_ms=figures["cpu_pct"]["gateway"] * 10 / rps if rps else float("nan"),
        unloaded_ms=quiet,
        upstream_per_query=figures["upstream_per_query"],
    )


def median_sample(samples: Sequence[Sample]) -> Sample:
    def med(field: str) -> float:
        return float(statistics.median(float(getattr(s, field)) for s in samples))

    return Sample(**{f: med(f) for f in Sample.__dataclass_fields__})


def set_latency(http: httpx.Client, urls: Sequence[str], ms: int) -> None:
    for url in urls:
        http.post(f"{url}/_sandbox/faults", json={"latency_ms": ms}).raise_for_status()


def crm_session(http: httpx.Client, crm: str, client_id: str, secret: str) -> str:
    http.post(f"{crm}/_sandbox/sessions", json={"lifetime_s": 86400}).raise_for_status()
    response = http.post(
        f"{crm}/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per run")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: one round of 3 s, no dashboards"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration = 1, 3
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("bench.peers needs node and npm on the PATH")

    demo = load_settings(DEMO_CONFIG)
    tokens = dict(demo.sandbox.tokens)
    rig = install_rig()
    spawn = multiprocessing.get_context("spawn")
    ours, theirs = spawn.Pipe()
    sandboxes = spawn.Process(
        target=serve_two, args=(theirs, demo.sandbox.seed, tokens), daemon=True
    )
    sandboxes.start()
    firm: Firm = ours.recv()
    urls = firm.urls
    stats = [urls["psa"], urls["crm"]]
    with tempfile.TemporaryDirectory() as folder, httpx.Client(timeout=60) as http:
        scratch = Path(folder)
        try:
            http.post(f"{urls['psa']}/_sandbox/rate_limit", json={"per_s": None})
            crm = demo.sources["crm"].credentials
            secret = crm.client_secret.get_secret_value() if crm.client_secret else ""
            session = crm_session(http, urls["crm"], crm.client_id or "", secret)
            supergraph = compose(rig, urls, {"psa": tokens["psa"], "crm": session})
            with (
                hive_gateway(rig, supergraph, scratch) as hive,
                psgraph(scratch, "cold", "psgraph like for like", urls, cold=True) as cold,
                psgraph(scratch, "warm", "psgraph as configured", urls, cold=False) as warm,
            ):
                for n in SIZES:
                    same_answers(http, hive, cold, n)
                variants = [hive, cold, warm]
                print(
                    f"{firm.summary}; {args.rounds} rounds of {args.duration} s, "
                    f"{CONNECTIONS} connections, variants alternated; medians",
                    flush=True,
                )
                header = (
                    f"{'gateway':24} {'n':>4} {'lat':>4} {'req/s':>7} {'p50':>6} {'p95':>6} "
                    f"{'p99':>6} {'cpu ms/q':>8} {'alone ms':>8} {'÷ crit':>6} {'up/q':>5}"
                )
                print(header)
                print("-" * len(header))
                for latency in LATENCIES_MS:
                    set_latency(http, stats, latency)
                    for n in SIZES:
                        runs: dict[str, list[Sample]] = {v.name: [] for v in variants}
                        for round_ in range(args.rounds):
                            order = variants[round_ % 3 :] + variants[: round_ % 3]
                            for variant in order:
                                runs[variant.name].append(
                                    measure(http, rig, variant, n, args.duration, stats)
                                )
                        for variant in variants:
                            s = median_sample(runs[variant.name])
                            ratio = (
                                f"{s.unloaded_ms / (CRITICAL_CALLS * latency):>6.2f}"
                                if latency
                                else f"{'—':>6}"
                            )
                            print(
                                f"{variant.name:24} {n:>4} {latency:>4} {s.rps:>7.1f} "
                                f"{s.p50:>6.1f} {s.p95:>6.1f} {s.p99:>6.1f} {s.cpu_ms:>8.2f} "
                                f"{s.unloaded_ms:>8.1f} {ratio} {s.upstream_per_query:>5.2f}",
                                flush=True,
                            )
        finally:
            ours.send("stop")
            sandboxes.join(timeout=30)
    # The dashboards join all five sources, which Hive's composition of two cannot express:
    # psgraph alone, against their critical path.
    if not args.quick:
        print("\n=== psgraph dashboards (bench.read_queries) ===", flush=True)
        read_queries.main(["--reps", str(max(args.rounds, 3))])


def serve_two(connection: Connection, seed: int, tokens: dict[str, str]) -> None:
    serve_sandboxes(connection, seed, 1.0, tokens, ("crm", "psa", "idp"))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Events benchmark: live fan-out to WebSocket subscribers, and webhook ingestion.

A gateway runs as its own process (uvicorn, embedded SQLite store, in-process bus) with a
CRM source answered from memory, so the figures are the gateway's own: every pushed
webhook is verified, re-read from the source, compared, appended to the log and fanned out.

- fan-out: 1,000 WebSocket subscribers (graphql-transport-ws) to `events`; webhooks are
  pushed one at a time, and each subscriber notes when each event arrives. Latency runs
  from the event's append (its `occurredAt`, stamped when the record is re-read, just
  before the append's transaction) to its receipt; p50 / p99 over every (subscriber,
  event) pair. Memory per subscriber is the gateway process's resident memory with the
  subscribers connected, minus before, divided by their number;
- ingestion: webhooks pushed 32 at a time, each about another record, then a tenth of
  them pushed again: pushes per second, and a check that every first push became exactly
  one event in the log and every repeat none.

    python -m bench.events [--subscribers 1000] [--events 50] [--webhooks 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import builtins
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import websockets
import yaml
from standardwebhooks.webhooks import Webhook
from websockets.typing import Subprotocol

from sandboxes.harness.processes import GatewayProcess, free_port
from sandboxes.runner import SandboxCluster
from sandboxes.world.generate import generate
from sources.config import SourceSettings
from sources.connector import ChangeSet, Connector, Page
from sources.records import Opportunity, Record, SourceSystem

SECRET_ENV = "PSGRAPH_BENCH_WEBHOOK_SECRET"
IDP_SECRET = "idp-bench-secret"  # the identity provider sandbox's client secret
SUBSCRIPTION = (
    'subscription { events(types: ["OpportunityClosedWon"]) { cursor subjectId occurredAt } }'
)
CONCURRENT_PUSHES = 32


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.events")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=50, help="events fanned out")
    parser.add_argument("--webhooks", type=int, default=2000, help="webhooks ingested")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the gateway process
    args = parser.parse_args(list(argv) if argv is not None else [])
    if args.serve is not None:
        _serve(args.serve)
        return
    asyncio.run(_bench(args.subscribers, args.events, args.webhooks))


# --- the gateway process ----------------------------------------------------------------


class MemoryCrm(Connector):
    """A CRM whose every opportunity has just been won: each re-read is a fresh record."""

    system: ClassVar[SourceSystem] = SourceSystem.CRM
    entities: ClassVar[Mapping[str, type[Record]]] = {"opportunity": Opportunity}
    batch_limit: ClassVar[int] = 200

    def __init__(self, settings: SourceSettings | None = None, *, transport: object = None) -> None:
        pass

    async def get_many(self, entity: str, ids: Sequence[str]) -> builtins.list[Record | None]:
        now = datetime.now(UTC)
        return [
            Opportunity(id=i, account_id="001", name=i, stage="CLOSED_WON", modified_at=now)
            for i in ids
        ]

    async def list(
        self,
        entity: str,
        filters: Mapping[str, Any] | None = None,
        *,
        page_size: int = 100,
        cursor: str | None = None,
    ) -> Page[Record]:
        return Page([], None, 0)

    async def changes(self, entity: str, cursor: str | None) -> ChangeSet[Record]:
        return ChangeSet([], cursor or "0")

    async def aclose(self) -> None:
        pass


def _serve(config: Path) -> None:
    import uvicorn

    from gateway.app import create_app
    from gateway.settings import load_settings

    settings = load_settings(config)
    app = create_app(settings, connectors={SourceSystem.CRM: MemoryCrm()})
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level="warning", ws_ping_interval=None
    )


# --- the driver -------------------------------------------------------------------------


async def _bench(subscribers: int, events: int, webhooks: int) -> None:
    with tempfile.TemporaryDirectory(prefix="psgraph-bench-events-") as scratch:
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        # The gateway trusts an identity provider sandbox's tokens, like any other.
        idp = SandboxCluster(generate(seed=42, scale=0.05), {"idp": IDP_SECRET}, ["idp"])
        idp.start()
        gateway = _Gateway(Path(scratch), secret, idp["idp"].url)
        try:
            gateway.start().ready()
            print(
                f"gateway: one process, SQLite store, in-process bus; {os.cpu_count()} CPUs "
                "shared with this driver"
            )
            pusher = _Pusher(gateway.url, secret)
            async with pusher:
                await _fan_out(gateway, pusher, subscribers, events)
                await _ingest(pusher, webhooks, gateway.store_url)
        finally:
            gateway.stop()
            idp.stop()


class _Gateway(GatewayProcess):
    """This module's `--serve` gateway (a fake CRM behind it) on a scratch SQLite store."""

    def __init__(self, scratch: Path, secret: str, issuer: str) -> None:
        self.store_url = f"sqlite+aiosqlite:///{scratch / 'store.db'}"
        config = scratch / "gateway.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "host": "127.0.0.1",
                    "port": free_port(),
                    "store_url": self.store_url,
                    "bus_url": "memory://",
                    "events": {
                        "webhook_secrets_env": {"crm": SECRET_ENV},
                        "subscriber_buffer": 1000,
                    },
                    "auth": {"issuer": issuer},
                    "sandbox": {"tokens": {"idp": IDP_SECRET}},
                }
            )
        )
        super().__init__(
            config,
            scratch / "gateway.log",
            {SECRET_ENV: secret},
            command=("bench.events", "--serve"),
        )

    def rss_bytes(self) -> int:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")


class _Pusher:
    """Signs and pushes thin CRM notifications, as a CRM's middleware would."""

    def __init__(self, url: str, secret: str) -> None:
        self._url = f"{url}/webhooks/crm"
        self._signer = Webhook(secret)
        self._http = httpx.AsyncClient(
            timeout=30, limits=httpx.Limits(max_connections=CONCURRENT_PUSHES)
        )

    async def __aenter__(self) -> _Pusher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def push(self, record_id: str, webhook_id: str | None = None) -> dict[str, Any]:
        body = json.dumps(
            {"type": "opportunity.updated", "data": {"id": record_id, "changed_fields": []}}
        )
        msg_id = webhook_id or f"msg_{secrets.token_hex(8)}"
        sent = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(sent.timestamp())),
            "webhook-signature": self._signer.sign(msg_id, sent, body),
        }
        response = await self._http.post(self._url, content=body, headers=headers)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


class _Subscriber:
    def __init__(self, url: str, headers: Mapping[str, str]) -> None:
        self._url = url.replace("http://", "ws://") + "/graphql"
        self._init = {"type": "connection_init", "payload": dict(headers)}
        self.arrivals: dict[str, float] = {}  # subject id -> when it arrived
        self.occurred: dict[str, float] = {}
        self._connection: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._connection = await websockets.connect(
            self._url,
            subprotocols=[Subprotocol("graphql-transport-ws")],
            ping_interval=None,
            max_queue=None,
        )
        await self._connection.send(json.dumps(self._init))
        ack = json.loads(await self._connection.recv())
        assert ack["type"] == "connection_ack", ack
        await self._connection.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self._connection:
            now = time.time()
            message = json.loads(raw)
            if message.get("type") != "next":
                continue
            event = message["payload"]["data"]["events"]
            self.arrivals[event["subjectId"]] = now
            self.occurred[event["subjectId"]] = datetime.fromisoformat(
                event["occurredAt"]
            ).timestamp()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._connection is not None:
            await self._connection.close()


def _opportunity_id(series: str, n: int) -> str:
    """A Salesforce-shaped id (15 characters, the Opportunity prefix 006), one series per
    phase; the gateway checks ids, and shows no event about a malformed one."""
    return f"006{series}{n:011d}"


def _global_id(native: str) -> str:
    return base64.urlsafe_b64encode(f"Opportunity:{native}".encode()).decode().rstrip("=")


async def _until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.01)


async def _fan_out(gateway: _Gateway, pusher: _Pusher, subscribers: int, events: int) -> None:
    await pusher.push(_opportunity_id("W", 0))  # pays for imports and connections
    before = gateway.rss_bytes()
    crowd = [_Subscriber(gateway.url, gateway.headers) for _ in range(subscribers)]
    for start in range(0, subscribers, 100):
        await asyncio.gather(*(s.open() for s in crowd[start : start + 100]))
    # Subscriptions start a moment after they are sent: push until every one has one.
    for n in range(1, 13):
        native = _opportunity_id("W", n)
        subject = _global_id(native)
        await pusher.push(native)
        try:
            await _until(lambda s=subject: all(s in c.arrivals for c in crowd), 5, "warm-up")
            break
        except TimeoutError:
            continue
    else:
        raise TimeoutError("warm-up: a subscriber received none of 12 events in a minute")
    await asyncio.sleep(0.5)
    during = gateway.rss_bytes()

    latencies: list[float] = []
    started = time.perf_counter()
    for n in range(events):
        native = _opportunity_id("F", n)
        subject = _global_id(native)
        await pusher.push(native)
        await _until(lambda s=subject: all(s in c.arrivals for c in crowd), 30, "fan-out")
        latencies.extend(c.arrivals[subject] - c.occurred[subject] for c in crowd)
    elapsed = time.perf_counter() - started
    for subscriber in crowd:
        await subscriber.close()

    cuts = statistics.quantiles(latencies, n=100)
    per_subscriber = (during - before) / subscribers
    print(f"fan-out to {subscribers} WebSocket subscribers, {events} events one at a time:")
    print(f"  append -> receipt  p50 {cuts[49] * 1000:7.1f} ms   p99 {cuts[98] * 1000:7.1f} ms")
    print(f"  deliveries         {len(latencies)} in {elapsed:.1f} s")
    print(f"  memory             {per_subscriber / 1024:7.1f} KiB per subscriber (gateway RSS)")


async def _logged_subjects(store_url: str) -> list[str]:
    from gateway.store import Store

    store = await Store.open(store_url, migrate=False)
    try:
        subjects: list[str] = []
        after = None
        while batch := await store.events.read_after(after, limit=5000):
            subjects.extend(e.subject_id or "" for e in batch)
            after = batch[-1].cursor
        return subjects
    finally:
        await store.close()


async def _ingest(pusher: _Pusher, webhooks: int, store_url: str) -> None:
    natives = [_opportunity_id("I", n) for n in range(webhooks)]
    ids = [f"msg_ingest_{n}" for n in range(webhooks)]
    gate = asyncio.Semaphore(CONCURRENT_PUSHES)

    async def one(native: str, webhook_id: str) -> dict[str, Any]:
        async with gate:
            return await pusher.push(native, webhook_id)

    started = time.perf_counter()
    answers = await asyncio.gather(*(one(n, i) for n, i in zip(natives, ids, strict=True)))
    elapsed = time.perf_counter() - started
    repeats = await asyncio.gather(
        *(one(n, i) for n, i in zip(natives[::10], ids[::10], strict=True))
    )

    once = sum(1 for a in answers if not a["duplicate"] and len(a["events"]) == 1)
    cursors = {c for a in answers for c in a["events"]}
    repeated = sum(1 for a in repeats if a["duplicate"] and not a["events"])
    wanted = {_global_id(n) for n in natives}
    logged = [s for s in await _logged_subjects(store_url) if s in wanted]
    print(f"webhook ingestion, {CONCURRENT_PUSHES} pushes in flight:")
    print(
        f"  ingested           {webhooks / elapsed:7.1f} webhooks/s ({webhooks} in {elapsed:.1f} s)"
    )
    print(f"  none lost          {once}/{webhooks} answered with one event each;")
    print(f"                     {len(set(logged))} of them in the log, {len(logged)} rows")
    print(f"  repeats            {repeated}/{len(repeats)} recognised, no event added")
    if once != webhooks or len(cursors) != webhooks or repeated != len(repeats):
        raise SystemExit("webhook ingestion lost or duplicated events")
    if len(logged) != webhooks or set(logged) != wanted:
        raise SystemExit("webhook ingestion lost or duplicated events")


if __name__ == "__main__":
    main(sys.argv[1:])

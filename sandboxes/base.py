"""What every vendor-shaped sandbox server shares.

A `Sandbox` holds its system's slice of the generated world in memory, serves the vendor
routes its subclass declares, and adds, outside those routes:

- `GET  /_sandbox/stats`    request counts per route and in total, and the W3C
                            `traceparent` headers of the last vendor requests that had one;
- `POST /_sandbox/faults`   latency_ms, jitter_ms, error_rate, status, rate_limit_per_s,
                            outage, garbage (any subset; vendor routes only); `DELETE`
                            clears them;
- `POST /_sandbox/reset`    back to the seeded world, counters and faults to zero;
- `POST /_sandbox/touch`    {"entity", "ids"}: mark records modified now (for change scans);
- `POST /_sandbox/webhooks` {"url", "secret"}: push Standard Webhooks-signed notifications;
- `GET  /openapi.json`      the vendor routes.

Subclasses implement `seed`, `vendor_routes`, `error_response` and `touch`, and call
`changed(...)` whenever a record changes so subscribers are notified.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sandboxes.responses import JSONResponse
from sandboxes.world.model import World
from sources.records import SourceSystem

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/_sandbox/"
TRACEPARENTS_KEPT = 100


@dataclass
class Faults:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    status: int = 503
    rate_limit_per_s: float | None = None
    outage: bool = False
    garbage: bool = False  # answer 200 with a body that is not what the vendor sends


@dataclass
class WebhookTarget:
    url: str
    secret: str  # "whsec_<base64>"


class ModClock:
    """Strictly increasing, millisecond-precise modification times (the coarsest any
    vendor here reports), so change scans never tie at a cursor."""

    def __init__(self) -> None:
        self._last = _to_ms(datetime.now(UTC))

    def tick(self) -> datetime:
        now = _to_ms(datetime.now(UTC))
        self._last = now if now > self._last else self._last + timedelta(milliseconds=1)
        return self._last

    def now(self) -> datetime:
        return self._last


def _to_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass
class _Window:
    started: float = 0.0
    count: int = 0


@dataclass
class SandboxRuntime:
    faults: Faults = field(default_factory=Faults)
    counts: Counter[str] = field(default_factory=Counter)
    window: _Window = field(default_factory=_Window)
    webhooks: list[WebhookTarget] = field(default_factory=list)
    # the callers' trace context, so tests can see it crossed to the vendor
    traceparents: deque[str] = field(default_factory=lambda: deque(maxlen=TRACEPARENTS_KEPT))


class Sandbox(ABC):
    system: SourceSystem
    name: str  # "crm", "psa", ...
    title: str  # "Salesforce-shaped CRM"

    def __init__(self, world: World, *, token: str) -> None:
        self.world = world
        self.token = token
        self.clock = ModClock()
        self.runtime = SandboxRuntime()
        self._outbox: asyncio.Queue[dict[str, Any]] | None = None
        self.seed(world)

    # --- what subclasses provide -----------------------------------------------------

    @abstractmethod
    def seed(self, world: World) -> None:
        """(Re)build this system's in-memory state from the world."""

    @abstractmethod
    def vendor_routes(self) -> Sequence[BaseRoute]: ...

    @abstractmethod
    def error_response(self, status: int, message: str, code: str) -> Response:
        """An error in the vendor's own body shape."""

    @abstractmethod
    def touch(self, entity: str, ids: Sequence[str]) -> int:
        """Mark records modified now; return how many were found."""

    def check_auth(self, request: Request) -> Response | None:
        """None when the request may proceed; the vendor's 401 otherwise."""
        header = request.headers.get("authorization", "")
        if header != f"Bearer {self.token}":
            return self.error_response(401, "invalid or missing bearer token", "INVALID_AUTH")
        return None

    def rate_limited_response(self) -> Response:
        response = self.error_response(429, "too many requests", "RATE_LIMITED")
        response.headers["Retry-After"] = "1"
        return response

    def admin_routes(self) -> Sequence[BaseRoute]:
        """Extra system-specific routes under /_sandbox/ (e.g. a quota knob)."""
        return ()

    def public_paths(self) -> frozenset[str]:
        """Vendor paths that need no token (e.g. the OAuth token endpoint)."""
        return frozenset()

    # --- change notifications ----------------------------------------------------------

    def changed(self, event_type: str, data: dict[str, Any]) -> None:
        """Queue a thin Standard Webhooks notification to every configured target."""
        if self._outbox is not None and self.runtime.webhooks:
            self._outbox.put_nowait(
                {
                    "type": event_type,
                    "timestamp": datetime.now(UTC).isoformat(),
                    "data": data,
                }
            )

    async def _deliver_forever(self) -> None:
        assert self._outbox is not None
        async with httpx.AsyncClient(timeout=10.0) as client:
            while True:
                payload = await self._outbox.get()
                for target in list(self.runtime.webhooks):
                    await self._deliver(client, target, payload)

    async def _deliver(
        self, client: httpx.AsyncClient, target: WebhookTarget, payload: dict[str, Any]
    ) -> None:
        body = json.dumps(payload, separators=(",", ":"))
        msg_id = f"msg_{uuid4().hex}"
        for delay in (0.0, 0.2, 1.0, 5.0):
            await asyncio.sleep(delay)
            sent_at = datetime.now(UTC)
            signature = Webhook(target.secret).sign(msg_id, sent_at, body)
            headers = {
                "content-type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(sent_at.timestamp())),
                "webhook-signature": signature,
            }
            try:
                response = await client.post(target.url, content=body, headers=headers)
            except httpx.HTTPError as error:
                log.info("webhook to %s failed: %r", target.url, error)
                continue
            if response.is_success or response.status_code == 410:
                return
        log.warning("webhook %s to %s dropped after retries", msg_id, target.url)

    # --- the app ---------------------------------------------------------------------

    def app(self) -> Starlette:
        admin: list[BaseRoute] = [
            Route("/_sandbox/stats", self._stats, methods=["GET"]),
            Route("/_sandbox/faults", self._faults, methods=["GET", "POST", "DELETE"]),
            Route("/_sandbox/reset", self._reset, methods=["POST"]),
            Route("/_sandbox/touch", self._touch, methods=["POST"]),
            Route("/_sandbox/webhooks", self._webhooks, methods=["GET", "POST", "DELETE"]),
            Route("/openapi.json", self._openapi, methods=["GET"]),
            *self.admin_routes(),
        ]
        vendor = list(self.vendor_routes())

        @asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            self._outbox = asyncio.Queue()
            worker = asyncio.create_task(self._deliver_forever())
            try:
                yield
            finally:
                worker.cancel()
                self._outbox = None

        app = Starlette(routes=admin + vendor, lifespan=lifespan)
        app.add_middleware(_VendorGate, sandbox=self, routes=vendor)
        return app

    async def _stats(self, request: Request) -> Response:
        counts = self.runtime.counts
        return JSONResponse(
            {
                "total": sum(counts.values()),
                "routes": dict(counts),
                "traceparents": list(self.runtime.traceparents),
            }
        )

    async def _faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                changes = await request.json()
                self.runtime.faults = Faults(**{**self.runtime.faults.__dict__, **changes})
            except (ValueError, TypeError) as error:
                return JSONResponse({"error": f"bad faults: {error}"}, status_code=400)
        elif request.method == "DELETE":
            self.runtime.faults = Faults()
        return JSONResponse(self.runtime.faults.__dict__)

    async def _reset(self, request: Request) -> Response:
        webhooks = self.runtime.webhooks
        self.runtime = SandboxRuntime(webhooks=webhooks)
        self.clock = ModClock()
        self.seed(self.world)
        return JSONResponse({"reset": True})

    async def _touch(self, request: Request) -> Response:
        body = await request.json()
        try:
            found = self.touch(body["entity"], [str(i) for i in body["ids"]])
        except KeyError as error:
            return JSONResponse({"error": f"unknown {error}"}, status_code=400)
        return JSONResponse({"touched": found})

    async def _webhooks(self, request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            self.runtime.webhooks.append(WebhookTarget(url=body["url"], secret=body["secret"]))
        elif request.method == "DELETE":
            self.runtime.webhooks.clear()
        return JSONResponse({"targets": [t.url for t in self.runtime.webhooks]})

    async def _openapi(self, request: Request) -> Response:
        paths: dict[str, dict[str, Any]] = {}
        for route in self.vendor_routes():
            if not isinstance(route, Route):
                continue
            doc = (route.endpoint.__doc__ or route.name or "").strip().splitlines()
            for method in sorted((route.methods or set()) - {"HEAD"}):
                paths.setdefault(route.path, {})[method.lower()] = {
                    "summary": doc[0] if doc else route.name,
                    "responses": {"200": {"description": "OK"}},
                }
        return JSONResponse(
            {
                "openapi": "3.1.0",
                "info": {"title": f"psgraph sandbox: {self.title}", "version": "1.0"},
                "paths": paths,
            }
        )


class _VendorGate:
    """Counts, authenticates and injects faults into vendor routes only."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox, routes: list[BaseRoute]) -> None:
        self.app = app
        self.sandbox = sandbox
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(ADMIN_PREFIX) or path == "/openapi.json":
            await self.app(scope, receive, send)
            return
        sandbox = self.sandbox
        runtime = sandbox.runtime
        runtime.counts[self._route_name(scope)] += 1
        for name, value in scope.get("headers", ()):
            if name == b"traceparent":
                runtime.traceparents.append(value.decode("latin-1"))
        response = await self._gate(Request(scope, receive))
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _route_name(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                path = getattr(route, "path", "?")
                return f"{scope['method']} {path}"
        return f"{scope['method']} (unrouted)"

    async def _gate(self, request: Request) -> Response | None:
        sandbox = self.sandbox
        faults = sandbox.runtime.faults
        if faults.latency_ms or faults.jitter_ms:
            await asyncio.sleep((faults.latency_ms + random.uniform(0, faults.jitter_ms)) / 1000.0)
        if faults.outage:
            return sandbox.error_response(503, "service unavailable (outage)", "UNAVAILABLE")
        if faults.rate_limit_per_s is not None and self._over_rate(faults.rate_limit_per_s):
            return sandbox.rate_limited_response()
        if faults.error_rate and random.random() < faults.error_rate:
            return sandbox.error_response(faults.status, "injected fault", "INJECTED_FAULT")
        if faults.garbage:
            return Response("<html>upstream proxy error", media_type="application/json")
        if request.url.path not in sandbox.public_paths():
            return sandbox.check_auth(request)
        return None

    def _over_rate(self, per_second: float) -> bool:
        window = self.sandbox.runtime.window
        now = time.monotonic()
        if now - window.started >= 1.0:
            window.started, window.count = now, 0
        window.count += 1
        return window.count > per_second

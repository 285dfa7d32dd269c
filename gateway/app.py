"""The composition root: settings in, an ASGI app out.

`create_app(settings)` builds one connector per enabled source, the shared cache in
front of them, the schema and the GraphQL endpoint, and serves:

- `/graphql`  queries (POST, or GET for queries only), GraphiQL for browsers;
- `/healthz`  liveness, with what the gateway knows of each source, whether it is the
  one running change capture (`capture`: leader, standby or off) and whether that has
  taken a cursor on every source it polls (`captureWatching`: a change made from then on
  becomes an event), and whether it is the one running the exceptions monitor
  (`monitor`: leader, standby or off);
- `/readyz`   readiness: 503 when no source can be reached (`?probe=true` asks each one);
- `/graphql` subscriptions over WebSocket (graphql-transport-ws, graphql-ws) and over
  SSE (any request accepting text/event-stream);
- `/webhooks/{system}`  pushed change notifications (gateway.events.receiver);
- request bodies are bounded before anything reads them (gateway.edge: size, UTF-8,
  JSON syntax and depth; coded 413 and 400 answers);
- `/metrics`  Prometheus text (gateway.observability.metrics); open, or behind a bearer
  token of its own when `observability.metrics_token_env` is set (never the GraphQL
  authentication path: scrapers hold no user token).

The events process API (`gateway.events.service.EventsService`: change capture, the event
log, live streams, triggers, dead letters), the workflow engine and the store's pruning
(`gateway.retention`) run for the app's lifespan on the store at `settings.store_url`.

Every upstream call, cache look-up, change scan, workflow step and GraphQL operation is
watched by `gateway.observability` (metrics, OpenTelemetry spans, source health).

The running `Gateway` is `app.state.gateway`; its `invalidate(system, entity, ids)` is
the hook change events call to drop cached reads.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from opentelemetry.sdk.trace.export import SpanExporter
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.extensions import AddValidationRules
from strawberry.tools import merge_types

from gateway.auth.guard import PRINCIPAL, BearerGuard
from gateway.auth.principal import Principal
from gateway.auth.tokens import TokenVerifier
from gateway.edge import BodyLimit, BodyLimits, graphql_request
from gateway.events.leadership import Leadership
from gateway.events.live import EventFilter
from gateway.events.service import EventsService
from gateway.events.triggers import StartWorkflow
from gateway.graphiql import graphiql_assets
from gateway.graphql_http import GraphQLView
from gateway.graphql_sse import GraphQLOverSSE
from gateway.observability.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from gateway.observability.wiring import Observability
from gateway.rate_limits import Rate, RateLimiter, RatePolicy, Rates, buckets_for
from gateway.retention import retention_running
from gateway.settings import RolesRatesConfig, Settings
from gateway.store import Store
from gateway.visibility.monitor import LEASE as MONITOR_LEASE
from gateway.visibility.monitor import ExceptionMonitor
from gateway.visibility.page import visibility_page
from gateway.workflows.bootstrap import Workflows, bootstrap, engine_options, running
from resolvers import ids
from resolvers.authority import Authority
from resolvers.cache import CachePolicy, SourceCache
from resolvers.context import RequestContext
from resolvers.events import LogEvents
from resolvers.freshness import Freshness
from resolvers.limits import QueryLimits
from resolvers.loaders import Loaders
from resolvers.upstream import Upstream
from resolvers.workflow_store import StoreWorkflowReader
from resolvers.workflows import EventReader, NoWorkflows, WorkflowReader
from schema import GatewaySchema, build_schema
from schema.automations import AutomationsQuery
from schema.cost import CostPolicy
from schema.events import EventsMutation, EventsQuery, Subscription
from schema.governance import GovernanceQuery
from schema.guard import Throttle
from schema.integration import IntegrationQuery
from schema.mutations import Mutation as WorkflowMutation
from schema.policy import apply_policy
from schema.query import Query
from schema.trusted import TrustedDocuments, load_manifest
from schema.visibility import VisibilityMutation, VisibilityQuery, VisibilitySubscription
from sources import registry
from sources.connector import Connector
from sources.records import SourceSystem
from sources.registry import make_connector

PROBE_TIMEOUT = 10.0


def no_introspection() -> AddValidationRules:
    return AddValidationRules([NoSchemaIntrospectionCustomRule])


@dataclass
class Gateway:
    """Everything one running gateway shares across requests."""

    settings: Settings
    upstream: Upstream
    authority: Authority
    limits: QueryLimits
    schema: GatewaySchema
    workflows: WorkflowReader
    events: EventReader
    observability: Observability
    verifier: TokenVerifier
    enforce_policy: bool = True
    store: Store | None = None  # open while the app runs
    live: EventsService | None = None  # running while the app runs
    commands: Workflows | None = None  # the workflow engine, running while the app runs
    visibility: ExceptionMonitor | None = None  # the exceptions monitor, when it runs
    monitoring: Leadership | None = None  # whether this process is the one that scans

    async def context(
        self, request: Request | WebSocket | None = None, *, principal: Principal | None = None
    ) -> RequestContext:
        """A request's context; call it inside the event loop that serves the request.
        `principal` is for callers inside the process (the gateway's own work: SYSTEM)."""
        freshness = Freshness(self.upstream.clock)
        # HTTP requests arrive authenticated (gateway.auth.guard); a WebSocket is once its
        # connection_init is (GraphQLView.on_ws_connect).
        state = getattr(request, "state", None) if isinstance(request, Request) else None
        return RequestContext(
            principal=principal or getattr(state, PRINCIPAL, None),
            enforce_policy=self.enforce_policy,
            loaders=Loaders(self.upstream, freshness),
            authority=self.authority,
            limits=self.limits,
            freshness=freshness,
            workflows=self.workflows,
            events=self.events,
            debug=self.settings.debug,
            request=request,
            live=self.live,
            commands=self.commands,
            health=self.observability.health,
            visibility=self.visibility,
        )

    async def start_workflow(
        self, kind: str, input: Mapping[str, Any], idempotency_key: str, principal: str
    ) -> object:
        """The automations' hook: start (or join, by business key) a workflow."""
        if self.commands is None:
            raise RuntimeError("the workflow engine is not running")
        return await self.commands.start(
            kind, input, idempotency_key=idempotency_key, principal=principal
        )

    def invalidate(
        self, system: SourceSystem, entity: str, ids: Sequence[str] | None = None
    ) -> int:
        """Drop what the cache holds about `entity` records `ids` of `system` (all of
        them when None), and every listing or aggregate built on that entity. A change
        seen is also what makes the exceptions monitor re-check what reads `entity`."""
        if self.visibility is not None:
            self.visibility.changed(system, entity)
        return self.upstream.cache.invalidate(system, entity, ids)

    def sources(self) -> dict[str, dict[str, Any]]:
        return {system.value: state.as_dict() for system, state in self.upstream.states().items()}

    async def probe(self) -> None:
        """One small read per configured source, to learn its state now."""

        await asyncio.wait_for(
            asyncio.gather(*(self.upstream.probe(system) for system in self.upstream.connectors)),
            timeout=PROBE_TIMEOUT,
        )

    async def aclose(self) -> None:
        await self.upstream.aclose()
        await self.verifier.aclose()
        self.observability.shutdown()


def build_gateway(
    settings: Settings,
    *,
    connectors: Mapping[SourceSystem, Connector] | None = None,
    limits: QueryLimits | None = None,
    cache: CachePolicy | None = None,
    workflows: WorkflowReader | None = None,
    events: EventReader | None = None,
    mutation: type | None = None,
    subscription: type | None = None,
    span_exporter: SpanExporter | None = None,
    verifier: TokenVerifier | None = None,
    enforce_policy: bool = True,
) -> Gateway:
    """The gateway's parts, wired; `connectors` replaces the ones settings would make,
    `span_exporter` the trace exporter settings name (tests: in-memory), `verifier` the
    token checks `settings.auth` describes. `enforce_policy=False` builds a gateway that
    authenticates but lets every caller see and do everything: only for measuring what
    the policy costs (bench), never served."""
    mutation = mutation or WorkflowMutation
    enabled = {
        SourceSystem.declare(registry.system(name, config.package).name): config
        for name, config in settings.sources.items()
        if config.enabled
    }
    if connectors is None:
        connectors = {
            system: make_connector(system.value.lower(), settings.source(system.value.lower()))
            for system in enabled
        }
    source_cache = SourceCache(
        {system: config.cache_ttl for system, config in enabled.items()},
        cache or CachePolicy(**settings.cache.model_dump()),
    )
    upstream = Upstream(
        connectors,
        source_cache,
        batch_sizes={
            system: config.batch_size for system, config in enabled.items() if config.batch_size
        },
    )
    observability = Observability(settings.observability, upstream, span_exporter=span_exporter)
    limits = limits or QueryLimits(**settings.query_limits.model_dump())
    nothing = NoWorkflows()
    schema = build_schema(
        query=merge_types(
            "Query",
            (
                Query,
                EventsQuery,
                IntegrationQuery,
                GovernanceQuery,
                AutomationsQuery,
                VisibilityQuery,
            ),
        ),
        mutation=merge_types(
            "Mutation",
            (*([mutation] if mutation else []), EventsMutation, VisibilityMutation),
        ),
        subscription=subscription
        or merge_types("Subscription", (Subscription, VisibilitySubscription)),
        limits=limits,
        cost=cost_policy(settings, limits),
        trusted=trusted_documents(settings),
        throttle=throttle(settings),
        extensions=[
            observability.operation_extension(),
            *([] if settings.auth.introspection else [no_introspection]),
        ],
    )
    if enforce_policy:
        apply_policy(schema._schema)
    return Gateway(
        settings=settings,
        upstream=upstream,
        authority=Authority(settings.authority),
        limits=limits,
        schema=schema,
        verifier=verifier or TokenVerifier.from_settings(settings.auth),
        enforce_policy=enforce_policy,
        workflows=workflows or nothing,
        events=events or nothing,
        observability=observability,
    )


def throttle(settings: Settings) -> Throttle | None:
    """The rate limiter's hook for the schema, or None when rate limits are off."""
    config = settings.rate_limits
    if not config.enabled:
        return None

    def rates(found: RolesRatesConfig) -> Rates:
        return Rates(Rate(**found.operations.model_dump()), Rate(**found.cost.model_dump()))

    limiter = RateLimiter(
        buckets_for(settings.bus_url, settings.events.bus_prefix),
        RatePolicy(rates(config.default), {r: rates(c) for r, c in config.by_role.items()}),
    )

    async def hook(context: Any, cost: int) -> GraphQLError | None:
        principal = getattr(context, "principal", None)
        if principal is not None:
            return await limiter.admit(principal.subject, principal.roles, cost)
        request = getattr(context, "request", None)
        address = request.client.host if request is not None and request.client else "unknown"
        return await limiter.admit(f"anonymous@{address}", frozenset(), cost)

    return hook


def trusted_documents(settings: Settings) -> TrustedDocuments:
    config = settings.trusted_documents
    documents = load_manifest(config.manifest) if config.manifest is not None else {}
    return TrustedDocuments(documents, frozenset(config.only_trusted_roles))


def cost_policy(settings: Settings, limits: QueryLimits) -> CostPolicy:
    demand = settings.demand
    weights = {} if demand.type_weights is None else {"type_weights": demand.type_weights}
    return CostPolicy(
        default_page_size=limits.default_page_size,
        max_page_size=limits.max_page_size,
        list_size=demand.list_size,
        max_cost=demand.max_cost,
        max_cost_by_role=demand.max_cost_by_role,
        **weights,
    )


@asynccontextmanager
async def events_running(
    gateway: Gateway, start_workflow: StartWorkflow | None = None
) -> AsyncIterator[EventsService]:
    """The store opened and the events service started, for the life of the block."""
    store = gateway.store or await _open_store(gateway.settings.store_url)
    service = EventsService(
        gateway.settings,
        store,
        gateway.upstream.connectors,
        subject_id=ids.encode,
        invalidate=gateway.invalidate,
        start_workflow=start_workflow,
        capture_observer=gateway.observability.capture,
    )
    await service.start()
    owned = gateway.store is None
    gateway.store, gateway.live, before = store, service, gateway.events
    gateway.events = LogEvents(service.log)
    gateway.observability.store = store
    gateway.observability.health.capturing = lambda: service.capture_role == "leader"
    try:
        yield service
    finally:
        gateway.observability.health.capturing = lambda: False
        gateway.observability.store = None
        gateway.live, gateway.events = None, before
        await service.stop()
        if owned:
            gateway.store = None
            await store.close()


@asynccontextmanager
async def workflows_running(gateway: Gateway) -> AsyncIterator[Workflows]:
    """The workflow engine on the gateway's open store, one worker running, its progress
    published through the events service when that runs."""
    if gateway.store is None:
        raise RuntimeError("open the store first (events_running)")
    publish = gateway.live.publish_outbox if gateway.live is not None else None
    workflows = bootstrap(
        gateway.store,
        gateway.upstream.connectors,
        publish=publish,
        observer=gateway.observability.workflows,
        **engine_options(gateway.settings.workflows),
    )
    reader = gateway.workflows
    async with running(workflows):
        gateway.commands = workflows
        if isinstance(reader, NoWorkflows):
            gateway.workflows = StoreWorkflowReader(gateway.store)
        try:
            yield workflows
        finally:
            gateway.commands, gateway.workflows = None, reader


@asynccontextmanager
async def visibility_running(gateway: Gateway) -> AsyncIterator[ExceptionMonitor | None]:
    """The exceptions monitor on the gateway's open store, when `visibility.monitor` is on:
    while this gateway holds the monitor's lease, a full scan now and every
    `scan_interval_s`, and re-checks on each change seen."""
    if not gateway.settings.visibility.monitor:
        yield None
        return
    if gateway.store is None:
        raise RuntimeError("open the store first (events_running)")
    live = gateway.live
    watcher = ExceptionMonitor(
        gateway.settings.visibility,
        gateway.store,
        gateway.upstream.connectors,
        health=gateway.observability.health,
        publish=live.bus.publish if live is not None else None,
        on_counts=gateway.observability.metrics.set_open_exceptions,
    )
    follower = asyncio.create_task(_follow_events(live, watcher)) if live is not None else None
    gateway.visibility = watcher
    gateway.monitoring = Leadership(
        gateway.store.leases, MONITOR_LEASE, ttl_s=gateway.settings.visibility.lease_s,
        work=watcher.run,
    )  # fmt: skip
    gateway.monitoring.start()
    try:
        yield watcher
    finally:
        gateway.visibility = None
        if follower is not None:
            follower.cancel()
            with suppress(asyncio.CancelledError):
                await follower
        await gateway.monitoring.stop()
        gateway.monitoring = None


async def _follow_events(live: EventsService, watcher: ExceptionMonitor) -> None:
    """Domain events that can make or clear an exception (a workflow parked, a source
    unhealthy) re-check the detectors that follow them."""
    types = frozenset(t for d in watcher.detectors for t in d.on_events)
    while True:
        try:
            async with await live.feed.stream(wants=EventFilter(types=types)) as stream:
                async for record in stream:
                    watcher.event(record.type)
        except asyncio.CancelledError:
            raise
        except Exception:  # a slow consumer or a lost bus: follow again
            await asyncio.sleep(1.0)


async def _open_store(url: str) -> Store:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)  # a fresh checkout
    return await Store.open(url)


def tune_gc() -> None:
    """For the serving process, once the app is built and before it serves: a large query
    allocates tens of thousands of short-lived objects, and with the interpreter's default
    thresholds the collector would run hundreds of times per query over a heap of
    long-lived ones (schema, connectors, cached records). Freeze what exists, collect the
    young generation less often. Process-wide: for servers, not for test processes."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def create_app(
    settings: Settings,
    *,
    start_workflow: StartWorkflow | None = None,
    **parts: Any,
) -> Starlette:
    """The gateway's ASGI app; `parts` are passed to `build_gateway`;
    `start_workflow(kind, input, key, principal)` is how `events.automations` start
    their workflows (the gateway's own engine unless given)."""
    gateway = build_gateway(settings, **parts)
    view = GraphQLView(
        gateway.schema, gateway.context, gateway.verifier, graphiql=settings.auth.graphiql
    )
    streams = GraphQLOverSSE(gateway.schema, gateway.context, view)
    guarded = BearerGuard(streams, gateway.verifier, graphiql=settings.auth.graphiql)

    async def webhooks(request: Request) -> Response:
        if gateway.live is None:
            return JSONResponse({"error": "not started"}, status_code=503)
        return await gateway.live.receiver.receive(request)

    async def healthz(request: Request) -> JSONResponse:
        live = gateway.live
        capture = live.capture_role if live is not None else "off"
        monitor = gateway.monitoring.role if gateway.monitoring is not None else "off"
        watching = live is not None and live.capture_watching
        return JSONResponse(
            {
                "status": "ok",
                "capture": capture,
                "captureWatching": watching,
                "monitor": monitor,
                "sources": gateway.sources(),
            }
        )

    async def readyz(request: Request) -> JSONResponse:
        if request.query_params.get("probe") in ("1", "true", "yes"):
            await gateway.probe()
        sources = gateway.sources()
        configured = [s for s in sources.values() if s["configured"]]
        reachable = [s for s in configured if s["breaker"] != "open"]
        degraded = any(s["breaker"] != "closed" or s["consecutiveFailures"] for s in configured)
        ready = bool(reachable)
        status = "degraded" if ready and degraded else ("ready" if ready else "unavailable")
        return JSONResponse(
            {"status": status, "sources": sources}, status_code=200 if ready else 503
        )

    async def metrics(request: Request) -> Response:
        if settings.observability.metrics_token_env is not None:
            token = settings.metrics_token()
            # Configured but unset fails closed: a missing secret must not open the page.
            if token is None or request.headers.get("authorization") != f"Bearer {token}":
                return Response("a metrics token is required", status_code=401)
        body = await gateway.observability.metrics.render()
        return Response(body, media_type=METRICS_CONTENT_TYPE)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            trigger = start_workflow or gateway.start_workflow
            async with (
                events_running(gateway, trigger) as events,
                workflows_running(gateway),
                visibility_running(gateway),
                retention_running(events.store, settings.retention),
            ):
                yield
        finally:
            await gateway.aclose()

    scraped = (
        [Route("/metrics", metrics, methods=["GET"])] if settings.observability.metrics else []
    )
    app = Starlette(
        debug=settings.debug,
        routes=[
            Route("/graphql", guarded, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            graphiql_assets(),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/webhooks/{system}", webhooks, methods=["POST"]),
            *scraped,
            *(
                [Route("/visibility", visibility_page, methods=["GET"])]
                if settings.visibility.page
                else []
            ),
        ],
        middleware=[
            Middleware(
                BodyLimits,
                limits=[
                    BodyLimit("/graphql", settings.edge.graphql_body_bytes, shape=graphql_request),
                    BodyLimit("/webhooks/", settings.edge.webhook_body_bytes, always_json=True),
                ],
                max_json_depth=settings.edge.max_json_depth,
            )
        ],
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    app.state.event_streams = streams  # ended by the server as it stops (gateway.cli)
    return app

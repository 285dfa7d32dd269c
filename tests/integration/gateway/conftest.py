"""The gateway over the real sandboxes: settings pointed at the test cluster, an in-process
HTTP client, and the sandboxes' admin surface (request counts, faults)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import Settings
from sandboxes.harness.identity import Identity, auth_at
from sandboxes.runner import SandboxCluster
from sources.config import BreakerPolicy, RetryPolicy, Timeouts
from sources.registry import SYSTEMS

# Small enough that a slowed source gives up quickly; the sandboxes answer in milliseconds.
QUICK = {
    "timeouts": Timeouts(connect=0.5, read=0.3, total=0.8),
    "retry": RetryPolicy(attempts=2, backoff_initial=0.01, backoff_max=0.02, jitter=0.01),
    "breaker": BreakerPolicy(failure_threshold=50, reset_after=1.0),
}


def gateway_settings(
    demo: Settings,
    cluster: SandboxCluster,
    *,
    debug: bool = False,
    overrides: dict[str, dict[str, Any]] | None = None,
    store: Path | None = None,
) -> Settings:
    """The demo settings, each source pointed at the cluster, with `overrides[name]` fields
    replaced for that source, and the gateway's store in the file `store` if given."""
    overrides = overrides or {}
    sources = {
        name: config.model_copy(update={"base_url": cluster[name].url, **overrides.get(name, {})})
        for name, config in demo.sources.items()
        if name in {running.name for running in cluster.running}
    }
    update: dict[str, Any] = {"sources": sources, "debug": debug}
    if store is not None:
        update["store_url"] = f"sqlite+aiosqlite:///{store}"
    return auth_at(demo, cluster).model_copy(update=update)


class Gateway:
    """An HTTP client of one freshly built gateway (its own connectors, cache, breakers)."""

    def __init__(self, app: Starlette, http: httpx.AsyncClient) -> None:
        self.app = app
        self.http = http

    async def query(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or None}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def open_gateway(
    demo_settings: Settings, sandboxes: SandboxCluster, tmp_path: Path
) -> Callable[..., Any]:
    """`async with open_gateway(overrides={"erp": QUICK}) as gateway: ...`; other keyword
    arguments go to `create_app` (a `span_exporter`, say)."""

    @asynccontextmanager
    async def open_(
        *,
        debug: bool = False,
        overrides: dict[str, dict[str, Any]] | None = None,
        **parts: Any,
    ) -> AsyncIterator[Gateway]:
        settings = gateway_settings(
            demo_settings,
            sandboxes,
            debug=debug,
            overrides=overrides,
            store=tmp_path / "gateway.db",
        )
        app = create_app(settings, **parts)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            admin = Identity.of(sandboxes, demo_settings).headers_for("admin")
            async with httpx.AsyncClient(
                transport=transport, base_url="http://gateway", timeout=60, headers=admin
            ) as http:
                yield Gateway(app, http)

    return open_


@pytest.fixture
async def gateway(open_gateway: Callable[..., Any]) -> AsyncIterator[Gateway]:
    async with open_gateway() as opened:
        yield opened


def request_counts(cluster: SandboxCluster) -> dict[str, dict[str, int]]:
    """Vendor requests each sandbox has served so far, by route."""
    counts = {}
    for running in cluster.running:
        stats = httpx.get(f"{running.url}/_sandbox/stats").raise_for_status().json()
        counts[running.name] = dict(stats["routes"])
    return counts


def served_since(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    return {
        name: {
            route: count - before.get(name, {}).get(route, 0)
            for route, count in routes.items()
            if count - before.get(name, {}).get(route, 0)
        }
        for name, routes in after.items()
    }


@pytest.fixture
def faults(sandboxes: SandboxCluster) -> Iterator[Callable[..., Any]]:
    """`with faults("erp", outage=True): ...`; faults are cleared afterwards, always."""
    touched: set[str] = set()

    @contextmanager
    def inject(name: str, **settings: Any) -> Iterator[None]:
        touched.add(name)
        url = f"{sandboxes[name].url}/_sandbox/faults"
        httpx.post(url, json=settings).raise_for_status()
        try:
            yield
        finally:
            httpx.delete(url).raise_for_status()

    yield inject
    for name in touched:  # in case a test failed between post and delete
        httpx.delete(f"{sandboxes[name].url}/_sandbox/faults")


def all_systems_running(cluster: SandboxCluster) -> bool:
    return set(SYSTEMS) <= {running.name for running in cluster.running}

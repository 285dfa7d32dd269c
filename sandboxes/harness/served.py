"""The gateway in this process, served by uvicorn on a loopback port (in the test's event
loop, or in a thread of its own), for clients that speak real HTTP to it."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import EventsConfig, Settings, SourceConfig
from sandboxes.harness.identity import auth_at
from sandboxes.runner import SandboxCluster

START_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Served:
    app: Starlette
    url: str

    @property
    def graphql(self) -> str:
        return f"{self.url}/graphql"


@dataclass
class RunningGateway:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def graphql(self) -> str:
        return f"{self.url}/graphql"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def sources_at(demo: Settings, cluster: SandboxCluster) -> dict[str, SourceConfig]:
    """The demo's sources that run in the cluster, each pointed at it."""
    running = {r.name for r in cluster.running}
    return {
        name: config.model_copy(update={"base_url": cluster[name].url})
        for name, config in demo.sources.items()
        if name in running
    }


def settings_for(demo: Settings, cluster: SandboxCluster, store: Path) -> Settings:
    """The demo settings at the cluster (its sources and identity provider), on a SQLite
    store of the test's, capturing no changes (these tests are about writes)."""
    return auth_at(demo, cluster).model_copy(
        update={
            "sources": sources_at(demo, cluster),
            "store_url": f"sqlite+aiosqlite:///{store}",
            "events": EventsConfig(capture=False),
        }
    )


def _loopback(app: Starlette) -> tuple[uvicorn.Server, socket.socket, str]:
    """A uvicorn server for `app` and the socket, bound to a free loopback port, it is to
    serve on: bound here, so the port is known before the server starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    )
    return server, sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[Served]:
    """`app` served in the running event loop until the block ends."""
    server, sock, url = _loopback(app)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        yield Served(app, url)
    finally:
        server.should_exit = True
        with suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, START_TIMEOUT_S)
        sock.close()


def serve(settings: Settings) -> RunningGateway:
    """`create_app(settings)` under uvicorn in a thread of its own, on a free port."""
    server, sock, url = _loopback(create_app(settings))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the gateway failed to start")
        threading.Event().wait(0.01)
    return RunningGateway(url, server, thread)

"""The gateway in this process, served by uvicorn on a loopback port, for clients that
speak real HTTP to it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from gateway.settings import EventsConfig, Settings
from sources.sandbox.runner import SandboxCluster

START_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Served:
    app: Starlette
    url: str

    @property
    def graphql(self) -> str:
        return f"{self.url}/graphql"


def settings_for(demo: Settings, cluster: SandboxCluster, store: Path) -> Settings:
    """The demo settings at the cluster, on a SQLite store of the test's, capturing no
    changes (these tests are about writes)."""
    running = {r.name for r in cluster.running}
    sources = {
        name: config.model_copy(update={"base_url": cluster[name].url})
        for name, config in demo.sources.items()
        if name in running
    }
    return demo.model_copy(
        update={
            "sources": sources,
            "store_url": f"sqlite+aiosqlite:///{store}",
            "events": EventsConfig(capture=False),
        }
    )


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[Served]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        yield Served(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        with suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, START_TIMEOUT_S)
        sock.close()

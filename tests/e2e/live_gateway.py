"""A gateway served by uvicorn in a thread of its own on a loopback port, in front of the
sandboxes: the gateway as it runs in production, for real GraphQL clients."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

import uvicorn

from gateway.app import create_app
from gateway.settings import Settings


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


def serve(settings: Settings) -> RunningGateway:
    """`create_app(settings)` under uvicorn in a thread of its own, on a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_level="warning", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the gateway failed to start")
        threading.Event().wait(0.01)
    return RunningGateway(f"http://127.0.0.1:{port}", server, thread)

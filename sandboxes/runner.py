"""Start sandbox servers under uvicorn: in the foreground (CLI) or a background thread (tests)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import signal
import socket
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import uvicorn

from sandboxes.base import Sandbox
from sandboxes.world.model import World
from sources.registry import SYSTEMS

# The five vendor systems, then the identity provider their consumers get tokens from.
SANDBOXES = (*SYSTEMS, "idp")
DEFAULT_PORTS = {name: 8101 + i for i, name in enumerate(SANDBOXES)}
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def sandbox_class(name: str) -> type[Sandbox]:
    if name not in SANDBOXES:
        raise ValueError(f"unknown sandbox {name!r}; choose from {', '.join(SANDBOXES)}")
    cls: type[Sandbox] = importlib.import_module(f"sandboxes.{name}.server").SANDBOX
    return cls


@dataclass
class RunningSandbox:
    name: str
    sandbox: Sandbox
    url: str


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this; without it Nagle's algorithm and delayed ACKs
    # hold every keep-alive response back by about 40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _servers(
    world: World,
    names: Iterable[str],
    tokens: Mapping[str, str],
    host: str,
    ports: Mapping[str, int],
) -> tuple[list[RunningSandbox], list[tuple[uvicorn.Server, socket.socket]]]:
    running: list[RunningSandbox] = []
    servers: list[tuple[uvicorn.Server, socket.socket]] = []
    for name in names:
        sandbox = sandbox_class(name)(world, token=tokens[name])
        sock = _bind(host, ports.get(name, 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(sandbox.app(), log_level="warning", lifespan="on", access_log=False)
        running.append(RunningSandbox(name, sandbox, f"http://{host}:{port}"))
        servers.append((_SignalFreeServer(config), sock))
    return running, servers


class _SignalFreeServer(uvicorn.Server):
    """A sandbox's server, leaving signals to `serve`. Each uvicorn server would install
    its own handlers over the one started before it, restore them in whatever order the
    servers stop, and re-raise what it caught into the next: a second Ctrl-C or SIGTERM
    during the (bounded) shutdown then landed on a server already stopping, which takes
    it as "force exit", skipped its lifespan's shutdown and logged its cancellation."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(
    world: World,
    names: Iterable[str],
    tokens: Mapping[str, str],
    *,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] = DEFAULT_PORTS,
    graceful_shutdown_s: int | None = None,
) -> None:
    """Run the named sandboxes in this event loop (the main thread's) until SIGINT or
    SIGTERM, or until cancelled; on stopping, wait at most `graceful_shutdown_s` for open
    requests (None: as long as they take)."""
    running, servers = _servers(world, names, tokens, host, ports)
    for server, _ in servers:
        server.config.timeout_graceful_shutdown = graceful_shutdown_s
    for sandbox in running:
        print(f"  {sandbox.name.upper():5} {sandbox.sandbox.title:28} {sandbox.url}", flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in _STOP_SIGNALS:  # the first stops them all; more change nothing
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in servers]
    stopping = asyncio.create_task(stop.wait())
    try:
        # A server that ends by itself (it could not bind, say) ends them all too.
        await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        for server, _ in servers:
            server.should_exit = True
        await asyncio.gather(*tasks)
        for sig in _STOP_SIGNALS:
            loop.remove_signal_handler(sig)


class SandboxCluster:
    """Sandboxes on free loopback ports in a background thread, for tests and benchmarks."""

    def __init__(
        self,
        world: World,
        tokens: Mapping[str, str],
        names: Iterable[str] = SANDBOXES,
        host: str = "127.0.0.1",
    ) -> None:
        self.running, self._servers = _servers(world, list(names), tokens, host, {})
        self._thread = threading.Thread(target=self._run, name="sandboxes", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None

    def __getitem__(self, name: str) -> RunningSandbox:
        return next(r for r in self.running if r.name == name)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        # gather() below runs before the loop does, and needs it as this thread's loop
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(
            asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in self._servers))
        )
        self._loop.close()

    def start(self) -> SandboxCluster:
        self._thread.start()
        for server, _ in self._servers:
            while not server.started:
                if not self._thread.is_alive():
                    raise RuntimeError("sandbox servers failed to start")
                threading.Event().wait(0.01)
        return self

    def stop(self) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        self._thread.join(timeout=10)
        for _, sock in self._servers:
            sock.close()

    def __enter__(self) -> SandboxCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""The `psgraph` command: run the demo, the gateway, or the sandboxes; build a manifest
of trusted documents."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Annotated

import httpx
import typer
import uvicorn

from gateway.demo_store import start_fresh
from gateway.settings import Settings, load_settings
from sandboxes.runner import SANDBOXES
from sources.registry import SYSTEMS

app = typer.Typer(help="psgraph: one GraphQL schema over CRM, PSA, HCM, ERP and TIME.")

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="YAML settings file.")]
PortBaseOption = Annotated[
    int | None,
    typer.Option(
        "--port-base",
        help="Gateway on N, sandboxes on N+101..N+105 (default: the config's sandbox.port_base).",
    ),
]
# How long a stopping server waits for open requests and subscriptions; the demo must be
# gone within a few seconds of Ctrl-C or SIGTERM.
DEMO_GRACE_S = 1

documents = typer.Typer(help="Trusted documents: persisted operations by hash.")
app.add_typer(documents, name="documents")


@documents.command("build")
def build_documents(
    directory: Annotated[Path, typer.Argument(help="Folder of .graphql files.")],
    out: Annotated[
        Path | None, typer.Option(help="Manifest to write; DIRECTORY/manifest.json if omitted.")
    ] = None,
) -> None:
    """Write the manifest {"sha256:<hex>": "<document>"} of every .graphql file in DIRECTORY."""
    import json

    from schema.trusted import build_manifest

    if not directory.is_dir():
        raise typer.BadParameter(f"no folder at {directory}", param_hint="DIRECTORY")
    manifest = build_manifest(directory)
    target = out or directory / "manifest.json"
    target.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", "utf-8")
    typer.echo(f"{len(manifest)} documents -> {target}")


def _settings(config: Path) -> Settings:
    try:
        return load_settings(config)
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="--config") from error


@app.command()
def serve(
    config: ConfigOption = DEMO_CONFIG,
    port_base: Annotated[
        int | None,
        typer.Option(
            "--port-base",
            help="Serve on N with every source at its sandbox on N+101..N+105 "
            "(as the demo does); without it, the config's port and base URLs.",
        ),
    ] = None,
) -> None:
    """Run the gateway with the given settings."""
    settings = _settings(config)
    if port_base is not None:
        settings = settings.at_sandboxes(port_base)
    _serve_gateway(settings)


@app.command()
def sandbox(
    systems: Annotated[
        list[str] | None, typer.Argument(help=f"Sandboxes to run: {', '.join(SANDBOXES)}.")
    ] = None,
    config: ConfigOption = DEMO_CONFIG,
    port_base: PortBaseOption = None,
    seed: Annotated[int | None, typer.Option(help="World seed.")] = None,
    scale: Annotated[float | None, typer.Option(help="World size; 1.0 is a mid-size firm.")] = None,
    scenario: Annotated[
        bool, typer.Option(help="Keep the firm moving: win deals, log and approve time, bill.")
    ] = False,
    scenario_interval: Annotated[float, typer.Option(help="Seconds between scenario steps.")] = 3.0,
) -> None:
    """Run vendor-shaped sandbox servers over one generated world."""
    from sandboxes.runner import serve as serve_sandboxes
    from sandboxes.world.generate import generate

    _stop_on_sigterm()
    settings = _settings(config).at_sandboxes(port_base)
    names = systems or list(SANDBOXES)
    for name in names:
        if name not in SANDBOXES:
            raise typer.BadParameter(
                f"unknown sandbox {name!r}; choose from {', '.join(SANDBOXES)}"
            )
    box = settings.sandbox
    world = generate(
        seed=box.seed if seed is None else seed, scale=box.scale if scale is None else scale
    )
    typer.echo(f"sandboxes (seed {world.seed}, scale {world.scale}):")

    async def run() -> None:
        servers = serve_sandboxes(
            world,
            names,
            box.tokens,
            host=box.host,
            ports=box.ports,
            graceful_shutdown_s=DEMO_GRACE_S,
        )
        if not scenario:
            await servers
            return
        # The servers end on Ctrl-C or SIGTERM; the scenario would run on, so it ends with them.
        moving = asyncio.create_task(_scenario(settings, names, scenario_interval))
        try:
            await servers
        finally:
            moving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await moving

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    # Freeing the generated world object by object at interpreter exit takes seconds, and
    # nothing is left to clean up: the servers are closed. Leave at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


async def _scenario(settings: Settings, names: list[str], interval: float) -> None:
    from sandboxes.scenario import run_scenario

    await asyncio.sleep(interval)  # let the servers start listening
    typer.echo(f"scenario: one change every {interval:g} s (deals, time, milestones, invoices)")
    await run_scenario(
        {name: settings.source(name) for name in names if name in settings.sources},
        interval_s=interval,
        report=lambda happened: typer.echo(f"  scenario: {happened}"),
    )


def _stop_on_sigterm() -> None:
    """SIGTERM stops like Ctrl-C, also before uvicorn installs its own handlers (and after
    it restores these and re-raises the signal it caught)."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


@app.command()
def token(
    role: Annotated[str, typer.Option(help="admin, finance, delivery, consultant or client.")],
    config: ConfigOption = DEMO_CONFIG,
    client: Annotated[
        str | None, typer.Option(help="The Client global id a client user is bound to.")
    ] = None,
    resource: Annotated[
        str | None, typer.Option(help="The Resource global id a consultant is.")
    ] = None,
    ttl: Annotated[int | None, typer.Option(help="Seconds the token lives.")] = None,
    sub: Annotated[str | None, typer.Option(help="The token's subject.")] = None,
) -> None:
    """Print one signed token from the identity provider the gateway trusts (the demo's)."""
    from sandboxes.harness.identity import Identity

    settings = _settings(config)
    try:
        identity = Identity.from_settings(settings)
        typer.echo(identity.token_for(role, client, resource, sub=sub, ttl=ttl))
    except (ValueError, KeyError) as error:
        raise typer.BadParameter(str(error), param_hint="--config") from error
    except httpx.HTTPStatusError as error:
        raise typer.BadParameter(error.response.text, param_hint="--role") from error
    except httpx.HTTPError as error:
        typer.echo(f"the identity provider did not answer ({error}); is the demo running?")
        raise typer.Exit(code=1) from error


@app.command()
def demo(config: ConfigOption = DEMO_CONFIG, port_base: PortBaseOption = None) -> None:
    """Start the sandboxes, the identity provider and the gateway; print every URL and a
    token per role; Ctrl-C or SIGTERM stops all."""
    _stop_on_sigterm()
    settings = _settings(config).at_sandboxes(port_base)
    box = settings.sandbox
    # The sandboxes generate a fresh world with the same ids; an old store would contradict it.
    store = start_fresh(settings.store_url)
    child = subprocess.Popen(
        [
            *(sys.executable, "-m", "gateway.cli", "sandbox", "--config", str(config)),
            *("--scenario", "--port-base", str(box.port_base)),
        ],
    )
    # The demo watches the sandboxes change and moves each next step by itself, and keeps
    # the business exceptions queue behind /visibility.
    settings = settings.model_copy(
        update={
            "events": settings.events.model_copy(update={"capture": True}),
            "visibility": settings.visibility.model_copy(update={"monitor": True}),
        }
    )
    sandboxes = _SandboxProcess(child)
    try:
        _wait_for_ports(box.host, [box.ports[name] for name in SANDBOXES], child)
        typer.echo("sandboxes up; the URLs follow once the gateway watches every source")
        _announce_when_watching(settings, lambda: _print_banner(settings, config, store))
        # The sandboxes start stopping with the gateway, not after it, to be gone in time.
        _serve_gateway(settings, graceful_shutdown_s=DEMO_GRACE_S, on_exit=sandboxes.stop_soon)
    except KeyboardInterrupt:
        pass  # a signal before or after uvicorn served: stop as Ctrl-C does
    finally:
        sandboxes.stop()


def _print_banner(settings: Settings, config: Path, store: Path | None) -> None:
    box = settings.sandbox
    typer.echo(f"gateway:  http://{settings.host}:{settings.port}/graphql  (GraphiQL in a browser)")
    typer.echo(f"health:   http://{settings.host}:{settings.port}/healthz")
    if settings.visibility.page:
        typer.echo(
            f"visibility: http://{settings.host}:{settings.port}/visibility  "
            "(KPIs, exceptions queue, integration health, live events; "
            "paste a staff token below into its Token field)"
        )
    if settings.observability.metrics:
        typer.echo(f"metrics:  http://{settings.host}:{settings.port}/metrics  (Prometheus)")
    for name in SYSTEMS:
        typer.echo(f"{name.upper():5} admin: http://{box.host}:{box.ports[name]}/_sandbox/stats")
    typer.echo(
        "live:     subscription { events { cursor type subjectId data } } "
        "over WebSocket or SSE at /graphql"
    )
    if store is not None:
        typer.echo(f"store:    {store} (fresh: the sandboxes generated a fresh world)")
    typer.echo(
        f"try:      psgraph win-deal --config {config} --port-base {box.port_base}  "
        "(wins a deal in the CRM; quote-to-project starts by itself)"
    )
    _print_tokens(settings)
    for automation in settings.events.automations:
        state = "on " if automation.enabled else "off"
        typer.echo(
            f"automation {state} {automation.name}: {', '.join(automation.on)} "
            f"-> {automation.workflow}"
        )
    typer.echo("Ctrl-C stops everything.")


def _announce_when_watching(
    settings: Settings, announce: Callable[[], None], timeout_s: float = 120
) -> None:
    """Calls `announce` (in a thread of its own) once the gateway has taken a cursor on
    every source it polls: a deal won before that would be history to it, not news, and
    never become a project."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    url = f"http://{host}:{settings.port}/healthz"

    def wait_then_announce() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                if httpx.get(url, timeout=2).json().get("captureWatching"):
                    break
            time.sleep(0.3)
        else:
            typer.echo(
                f"the gateway does not yet watch every source after {timeout_s:.0f} s "
                "(see /healthz); changes made now may not become events"
            )
        announce()

    threading.Thread(target=wait_then_announce, name="demo-banner", daemon=True).start()


@dataclass
class _SandboxProcess:
    process: subprocess.Popen[bytes]
    signalled: bool = False

    def stop_soon(self) -> None:
        # Once only: a second SIGINT makes uvicorn skip the sandboxes' orderly shutdown.
        if self.process.poll() is None and not self.signalled:
            self.process.send_signal(signal.SIGINT)
            self.signalled = True

    def stop(self) -> None:
        self.stop_soon()
        try:
            self.process.wait(timeout=DEMO_GRACE_S + 1)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@app.command("win-deal")
def win_deal(config: ConfigOption = DEMO_CONFIG, port_base: PortBaseOption = None) -> None:
    """Win an open deal in the demo's CRM sandbox through the CRM's own API and print the
    opportunity's global id (the running demo then starts quote-to-project for it)."""
    from gateway.win_deal import NoOpenDealError, win_open_deal

    settings = _settings(config).at_sandboxes(port_base)
    try:
        deal = asyncio.run(win_open_deal(settings.source("crm")))
    except NoOpenDealError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=1) from error
    typer.echo(f"won in the CRM: {deal.name} (CRM id {deal.native_id})")
    typer.echo(f"opportunityId: {deal.global_id}")
    typer.echo(
        "the demo starts quote-to-project for it within seconds; to follow it, in GraphiQL:\n"
        f'  mutation {{ startProjectFromOpportunity(input: {{opportunityId: "{deal.global_id}", '
        f'idempotencyKey: "readme-1"}}) {{ id status steps {{ name status }} }} }}'
    )


def _print_tokens(settings: Settings) -> None:
    from sandboxes.harness.personas import demo_tokens
    from sandboxes.world.generate import generate

    world = generate(seed=settings.sandbox.seed, scale=settings.sandbox.scale)
    try:
        tokens = demo_tokens(settings, world)
    except httpx.HTTPError as error:  # stopped meanwhile (Ctrl-C as the demo came up)
        typer.echo(f"tokens:   the identity provider did not answer ({error})")
        return
    typer.echo("tokens:   paste one into GraphiQL's headers as")
    typer.echo('          {"Authorization": "Bearer <token>"}')
    for role, signed in tokens.items():
        typer.echo(f"  {role}: Bearer {signed}")


class _Server(uvicorn.Server):
    """uvicorn's server, calling `on_exit` when a signal asks it to stop."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)


def _serve_gateway(
    settings: Settings,
    graceful_shutdown_s: int | None = None,
    on_exit: Callable[[], None] = lambda: None,
) -> None:
    from gateway.app import create_app, tune_gc
    from gateway.graphql_sse import GraphQLOverSSE

    app = create_app(settings)
    tune_gc()
    streams: GraphQLOverSSE = app.state.event_streams

    def exiting() -> None:
        # uvicorn waits for open responses before it shuts down; an event stream never
        # finishes by itself, and would be cut off (a traceback) once the grace ran out.
        streams.end_all()
        on_exit()

    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        # Requests are counted and traced (gateway.observability); a log line for each
        # cost ~3% of the gateway's CPU under load, and said less.
        access_log=False,
        timeout_graceful_shutdown=graceful_shutdown_s,
    )
    _Server(config, exiting).run()


def _wait_for_ports(
    host: str, ports: list[int], child: subprocess.Popen[bytes], timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            if child.poll() is not None:
                raise typer.Exit(code=1)
            with socket.socket() as probe:
                if probe.connect_ex((host, port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise typer.BadParameter(f"sandbox on port {port} did not start")
            time.sleep(0.2)


if __name__ == "__main__":
    app()

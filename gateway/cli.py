"""The `psgraph` command: run the demo, the gateway, or the sandboxes."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from gateway.settings import Settings, load_settings
from sources.registry import SYSTEMS

app = typer.Typer(help="psgraph: one GraphQL schema over CRM, PSA, HCM, ERP and TIME.")

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="YAML settings file.")]


def _settings(config: Path) -> Settings:
    try:
        return load_settings(config)
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="--config") from error


@app.command()
def serve(config: ConfigOption = DEMO_CONFIG) -> None:
    """Run the gateway with the given settings."""
    settings = _settings(config)
    _serve_gateway(settings)


@app.command()
def sandbox(
    systems: Annotated[
        list[str] | None, typer.Argument(help=f"Systems to run: {', '.join(SYSTEMS)}.")
    ] = None,
    config: ConfigOption = DEMO_CONFIG,
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

    settings = _settings(config)
    names = systems or list(SYSTEMS)
    for name in names:
        if name not in SYSTEMS:
            raise typer.BadParameter(f"unknown system {name!r}; choose from {', '.join(SYSTEMS)}")
    box = settings.sandbox
    world = generate(
        seed=box.seed if seed is None else seed, scale=box.scale if scale is None else scale
    )
    typer.echo(f"sandboxes (seed {world.seed}, scale {world.scale}):")

    async def run() -> None:
        servers = serve_sandboxes(world, names, box.tokens, host=box.host, ports=box.ports)
        if not scenario:
            await servers
            return
        await asyncio.gather(servers, _scenario(settings, names, scenario_interval))

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


async def _scenario(settings: Settings, names: list[str], interval: float) -> None:
    from sandboxes.scenario import run_scenario

    await asyncio.sleep(interval)  # let the servers start listening
    typer.echo(f"scenario: one change every {interval:g} s (deals, time, milestones, invoices)")
    await run_scenario(
        {name: settings.source(name) for name in names if name in settings.sources},
        interval_s=interval,
        report=lambda happened: typer.echo(f"  scenario: {happened}"),
    )


@app.command()
def demo(config: ConfigOption = DEMO_CONFIG) -> None:
    """Start the five sandboxes and the gateway; print every URL; Ctrl-C stops all."""
    settings = _settings(config)
    box = settings.sandbox
    child = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "sandbox", "--config", str(config), "--scenario"],
    )
    # The demo watches the sandboxes change and turns won deals into projects by itself,
    # and keeps the business exceptions queue behind /visibility.
    settings = settings.model_copy(
        update={
            "events": settings.events.model_copy(
                update={"capture": True, "auto_start_quote_to_project": True}
            ),
            "visibility": settings.visibility.model_copy(update={"monitor": True}),
        }
    )
    try:
        _wait_for_ports(box.host, [box.ports[name] for name in SYSTEMS], child)
        typer.echo(
            f"gateway:  http://{settings.host}:{settings.port}/graphql  (GraphiQL in a browser)"
        )
        typer.echo(f"health:   http://{settings.host}:{settings.port}/healthz")
        if settings.visibility.page:
            typer.echo(
                f"visibility: http://{settings.host}:{settings.port}/visibility  "
                "(KPIs, exceptions queue, integration health, live events)"
            )
        if settings.observability.metrics:
            typer.echo(f"metrics:  http://{settings.host}:{settings.port}/metrics  (Prometheus)")
        for name in SYSTEMS:
            typer.echo(
                f"{name.upper():5} admin: http://{box.host}:{box.ports[name]}/_sandbox/stats"
            )
        typer.echo(
            "live:     subscription { events { cursor type subjectId data } } "
            "over WebSocket or SSE at /graphql"
        )
        typer.echo("Ctrl-C stops everything.")
        _serve_gateway(settings)
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def _serve_gateway(settings: Settings) -> None:
    from gateway.app import create_app, tune_gc

    app = create_app(settings)
    tune_gc()
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


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

"""Gateways as separate operating-system processes (`python -m gateway.cli serve`), for
tests that kill or multiply them, each with a config file written for the test."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
import yaml

from gateway.settings import load_settings, sandbox_ports
from sandboxes.harness.identity import Identity
from sandboxes.runner import SandboxCluster

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = ROOT / "config" / "demo.yaml"
START_TIMEOUT_S = 60.0


def free_ports(n: int) -> list[int]:
    """`n` distinct free loopback ports: every probe stays bound until all are chosen."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    return free_ports(1)[0]


def free_port_base(attempts: int = 200) -> int:
    """A demo port base N whose ports (N for the gateway, `sandbox_ports(N)` for the
    sandboxes) are all free now."""
    rng = random.SystemRandom()
    for _ in range(attempts):
        base = rng.randrange(20000, 60000)
        if all(_is_free(port) for port in (base, *sandbox_ports(base).values())):
            return base
    raise RuntimeError("no free demo port base")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def write_config(path: Path, cluster: SandboxCluster, **settings: Any) -> Path:
    """The demo config, each running source and the identity provider at the cluster, a
    free port, then `settings`."""
    config: dict[str, Any] = yaml.safe_load(DEMO_CONFIG.read_text())
    running = {r.name for r in cluster.running}
    config["sources"] = {
        name: {**source, "base_url": cluster[name].url}
        for name, source in config["sources"].items()
        if name in running
    }
    config["auth"] = {**config.get("auth", {}), "issuer": cluster["idp"].url}
    config.update(port=free_port(), **settings)
    path.write_text(yaml.safe_dump(config))
    return path


class GatewayProcess:
    """`start()` spawns it, `ready()` waits until it answers; `stop()` is Ctrl-C and
    `kill()` a crash."""

    def __init__(
        self,
        config: Path,
        log: Path,
        env: dict[str, str] | None = None,
        *,
        command: tuple[str, ...] = ("gateway.cli", "serve", "--config"),
        prefix: tuple[str, ...] = (),
    ) -> None:
        """Runs `*prefix python -m *command config`: the gateway, or a benchmark's gateway
        (under a profiler, say, with a `prefix`)."""
        self.config = config
        self._command = command
        self._prefix = prefix
        self.url = f"http://127.0.0.1:{yaml.safe_load(config.read_text())['port']}"
        self._log = log
        self._env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def graphql(self) -> str:
        return f"{self.url}/graphql"

    @property
    def ws(self) -> str:
        return self.graphql.replace("http://", "ws://")

    def start(self) -> GatewayProcess:
        with self._log.open("ab") as log:
            self.process = subprocess.Popen(
                [*self._prefix, sys.executable, "-m", *self._command, str(self.config)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self._env, "PYTHONUNBUFFERED": "1"},
            )
        return self

    def ready(self) -> GatewayProcess:
        assert self.process is not None, "start() first"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the gateway exited: {self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"the gateway did not start: {self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbyes, as a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self._log.read_text()[-3000:]

    @cached_property
    def headers(self) -> dict[str, str]:
        """An admin's bearer token from the identity provider this gateway trusts."""
        return Identity.from_settings(load_settings(self.config)).headers_for("admin")

    def query(self, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(
            self.graphql,
            json={"query": query, "variables": variables},
            headers=self.headers,
            timeout=30,
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]  # type: ignore[no-any-return]

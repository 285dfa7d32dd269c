"""Gateways as separate operating-system processes (`python -m gateway.cli serve`), each
with a config file written for the test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from sources.sandbox.runner import SandboxCluster

ROOT = Path(__file__).resolve().parents[3]
DEMO_CONFIG = ROOT / "config" / "demo.yaml"
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(path: Path, cluster: SandboxCluster, **settings: Any) -> dict[str, Any]:
    """The demo config, each source at the cluster, a free port, then `settings`."""
    config: dict[str, Any] = yaml.safe_load(DEMO_CONFIG.read_text())
    running = {r.name for r in cluster.running}
    config["sources"] = {
        name: {**source, "base_url": cluster[name].url}
        for name, source in config["sources"].items()
        if name in running
    }
    config.update(port=free_port(), **settings)
    path.write_text(yaml.safe_dump(config))
    return config


class GatewayProcess:
    def __init__(self, config: Path, log: Path, env: dict[str, str]) -> None:
        self.config = config
        self.url = f"http://127.0.0.1:{yaml.safe_load(config.read_text())['port']}"
        self._log = log
        self._env = env
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    def start(self) -> GatewayProcess:
        """Spawn the process; `ready()` waits until it answers."""
        with self._log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve", "--config", str(self.config)],
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

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self._log.read_text()[-3000:]

"""Gateways as separate processes (`python -m gateway.cli serve`), for tests that kill or
multiply them: a config file pointed at the test sandboxes and a store of the test's."""

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


def write_config(path: Path, cluster: SandboxCluster, store_url: str) -> Path:
    """The demo config with each source at the cluster, the given store, a free port, and
    no change capture (these tests are about writes)."""
    config: dict[str, Any] = yaml.safe_load(DEMO_CONFIG.read_text())
    for name, source in config["sources"].items():
        source["base_url"] = cluster[name].url
    config.update(port=free_port(), store_url=store_url, events={"capture": False})
    path.write_text(yaml.safe_dump(config))
    return path


class GatewayProcess:
    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        settings = yaml.safe_load(config.read_text())
        self.url = f"http://127.0.0.1:{settings['port']}"
        self._log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def graphql(self) -> str:
        return f"{self.url}/graphql"

    def start(self) -> GatewayProcess:
        with self._log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve", "--config", str(self.config)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the gateway exited: {self._log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"the gateway did not start: {self._log.read_text()[-3000:]}")

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

    def query(self, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(
            self.graphql, json={"query": query, "variables": variables}, timeout=30
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]  # type: ignore[no-any-return]

"""The gateway in a process of its own (`psgraph serve`), for tests that watch what a
request does to the serving process: its memory, its event loop, its connections."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import httpx
import yaml
from pydantic import SecretStr
from standardwebhooks import Webhook

from gateway.settings import EventsConfig, Settings
from sandboxes.harness.identity import Identity
from sandboxes.harness.served import settings_for
from sandboxes.runner import SandboxCluster

SECRET_ENV = "PSGRAPH_TEST_CRM_WEBHOOK_SECRET"
SECRET = "whsec_" + base64.b64encode(b"edge-tests-webhook-secret-32byte").decode()
START_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class GatewayProcess:
    url: str
    process: subprocess.Popen[bytes]
    # What every GraphQL request to it carries besides its body: the one place a bearer
    # token goes once the gateway authenticates its callers.
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def graphql(self) -> str:
        return f"{self.url}/graphql"

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS for the gateway process")

    def signed(self, body: bytes, msg_id: str = "msg_edge_1") -> dict[str, str]:
        """Standard Webhooks headers signing `body` with the CRM secret the gateway has."""
        now = int(time.time())
        signature = Webhook(SECRET).sign(
            msg_id, datetime.fromtimestamp(now, tz=UTC), body.decode("utf-8", "replace")
        )
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(now),
            "webhook-signature": signature,
            "content-type": "application/json",
        }


def _revealed(value: Any) -> Any:
    """Dumped settings with the sandboxes' secrets written out (a dump masks them) and
    every value plain YAML."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {str(k): _revealed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_revealed(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gateway_process(
    demo: Settings, cluster: SandboxCluster, directory: Path, **updates: Any
) -> Iterator[GatewayProcess]:
    """The demo settings at the test cluster (with `updates`), served by `psgraph serve`
    until the block ends; CRM webhooks are accepted with `SECRET`, and `headers` carry an
    admin's token from the cluster's identity provider."""
    settings = settings_for(demo, cluster, directory / "store.db").model_copy(
        update={
            "port": _free_port(),
            "events": EventsConfig(capture=False, webhook_secrets_env={"crm": SECRET_ENV}),
            **updates,
        }
    )
    config = directory / "gateway.yaml"
    config.write_text(yaml.safe_dump(_revealed(settings.model_dump(mode="python"))))
    with (directory / "gateway.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)],
            env={**os.environ, SECRET_ENV: SECRET},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    admin = Identity.of(cluster, demo).headers_for("admin")
    running = GatewayProcess(f"http://127.0.0.1:{settings.port}", process, admin)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert process.poll() is None, (directory / "gateway.log").read_text()[-3000:]
            try:
                httpx.get(f"{running.url}/healthz", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.2)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

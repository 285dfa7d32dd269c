"""`psgraph demo` on a fresh machine: five sandboxes, the identity provider and the gateway
come up, answer a token holder (and nobody else), and stop cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.settings import SANDBOXES, SYSTEMS, load_settings
from sandboxes.harness.identity import Identity
from sandboxes.harness.processes import DEMO_CONFIG, free_ports

pytestmark = pytest.mark.slow


def demo_config(tmp_path: Path) -> tuple[Path, int, dict[str, int]]:
    """The shipped demo config, on free ports, a small world and a temporary store."""
    config = yaml.safe_load(DEMO_CONFIG.read_text())
    gateway_port, *sandbox_ports = free_ports(1 + len(SANDBOXES))
    ports = dict(zip(SANDBOXES, sandbox_ports, strict=True))
    config["port"] = gateway_port
    config["store_url"] = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    config["sandbox"].update(ports=ports, scale=0.05)
    for name in SYSTEMS:
        config["sources"][name]["base_url"] = f"http://127.0.0.1:{ports[name]}"
    config["auth"]["issuer"] = f"http://127.0.0.1:{ports['idp']}"
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, gateway_port, ports


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the demo exited early"
        try:
            return httpx.get(url, timeout=2).raise_for_status()
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def test_the_demo_serves_every_sandbox_and_the_gateway_then_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    config, gateway_port, ports = demo_config(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "demo", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{gateway_port}/healthz", process)
        for name, port in ports.items():
            stats = wait_for(f"http://127.0.0.1:{port}/_sandbox/stats", process).json()
            assert "total" in stats, name
            spec = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()
            assert spec["paths"], f"{name} serves no vendor routes"

        anonymous = httpx.post(
            f"http://127.0.0.1:{gateway_port}/graphql", json={"query": "{ __typename }"}
        )
        assert anonymous.status_code == 401
        answer = httpx.post(
            f"http://127.0.0.1:{gateway_port}/graphql",
            json={"query": "{ projects(first: 2) { totalCount edges { node { name } } } }"},
            headers=Identity.from_settings(load_settings(config)).headers_for("admin"),
            timeout=30,
        ).json()
        assert "errors" not in answer
        assert answer["data"]["projects"]["totalCount"] > 0
        metrics = wait_for(f"http://127.0.0.1:{gateway_port}/metrics", process).text
        assert "psgraph_graphql_operation_duration_seconds_count" in metrics

        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output.decode()[-2000:]
    text = output.decode()
    assert f"http://127.0.0.1:{gateway_port}/graphql" in text
    assert f"http://127.0.0.1:{gateway_port}/metrics" in text
    assert all(f"http://127.0.0.1:{port}" in text for port in ports.values())
    assert all(
        f"{role}:" in text for role in ("admin", "finance", "delivery", "consultant", "client")
    )
    assert "Bearer ey" in text  # ready to paste into GraphiQL's headers

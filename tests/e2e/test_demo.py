"""`psgraph demo` on a fresh machine: five sandboxes, the identity provider and the gateway
come up on one port base, answer a token holder (and nobody else), survive their own
restart, and stop cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway.events.triggers import idempotency_key
from gateway.settings import SANDBOXES, load_settings, sandbox_ports
from resolvers import ids
from sandboxes.harness.identity import Identity
from sandboxes.harness.processes import DEMO_CONFIG, free_port_base

pytestmark = pytest.mark.slow

WORKFLOWS = """
{ workflows(first: 100) { edges { node {
  kind status idempotencyKey startedAt steps { name status error }
  result { __typename ... on Project { name } }
} } } }
"""


@dataclass
class Demo:
    process: subprocess.Popen[bytes]
    config: Path
    port_base: int

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.port_base}"

    @property
    def ports(self) -> list[int]:
        return [self.port_base, *sandbox_ports(self.port_base).values()]

    def headers(self, role: str = "admin") -> dict[str, str]:
        settings = load_settings(self.config).at_sandboxes(self.port_base)
        return Identity.from_settings(settings).headers_for(role)

    def graphql(self, query: str) -> dict[str, Any]:
        """The one place the demo tests send GraphQL, as an admin."""
        answer: dict[str, Any] = httpx.post(
            f"{self.gateway}/graphql", json={"query": query}, headers=self.headers(), timeout=30
        ).json()
        assert "errors" not in answer, answer
        return answer["data"]  # type: ignore[no-any-return]


def demo_config(tmp_path: Path) -> Path:
    """The shipped demo config with a small world and a store of the test's; ports are
    left to `--port-base`."""
    config = yaml.safe_load(DEMO_CONFIG.read_text())
    config["store_url"] = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    config["sandbox"]["scale"] = 0.05
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextmanager
def demo_running(config: Path) -> Iterator[Demo]:
    port_base = free_port_base()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gateway.cli", "demo"),
            *("--config", str(config), "--port-base", str(port_base)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # Its own process group: a failed test can end the sandboxes' process with it.
        start_new_session=True,
    )
    try:
        demo = Demo(process, config, port_base)
        watching(demo)  # what the demo waits for before it prints its URLs
        yield demo
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the demo exited early"
        try:
            return httpx.get(url, timeout=2).raise_for_status()
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def watching(demo: Demo, timeout: float = 90) -> None:
    """Until the gateway has taken a cursor on every source it polls."""
    deadline = time.monotonic() + timeout
    while not wait_for(f"{demo.gateway}/healthz", demo.process).json()["captureWatching"]:
        assert time.monotonic() < deadline, f"the demo did not watch its sources in {timeout} s"
        time.sleep(0.3)


def refuses(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def win_deal(demo: Demo) -> str:
    """`psgraph win-deal` against the running demo; the opportunity's global id it prints."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "gateway.cli", "win-deal"),
            *("--config", str(demo.config), "--port-base", str(demo.port_base)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = re.search(r"^opportunityId: (\S+)$", done.stdout, re.MULTILINE)
    assert found, done.stdout
    return found.group(1)


def workflow_for(demo: Demo, opportunity_id: str, timeout: float = 90) -> dict[str, Any]:
    """The automatic quote-to-project of the won deal, once it has settled."""
    # The automation fills its input from the event's data, which holds the CRM's own id.
    native_id = ids.decode(opportunity_id, "Opportunity").key
    key = idempotency_key(
        "opportunity-won-to-project",
        "quote_to_project",
        {"opportunity_id": native_id, "start_date": None, "manager_id": None},
    )
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        seen = [edge["node"] for edge in demo.graphql(WORKFLOWS)["workflows"]["edges"]]
        for node in seen:
            if node["idempotencyKey"] == key and node["status"] not in ("PENDING", "RUNNING"):
                return node
        time.sleep(0.5)
    raise AssertionError(
        f"no settled quote-to-project for {opportunity_id} (key {key}) in {timeout} s; "
        f"the workflows: {seen}"
    )


def test_the_demo_serves_every_sandbox_and_the_gateway_then_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    with demo_running(demo_config(tmp_path)) as demo:
        process = demo.process
        ports = dict(zip(SANDBOXES, demo.ports[1:], strict=True))
        for name, port in ports.items():
            stats = wait_for(f"http://127.0.0.1:{port}/_sandbox/stats", process).json()
            assert "total" in stats, name
            spec = httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()
            assert spec["paths"], f"{name} serves no vendor routes"

        anonymous = httpx.post(f"{demo.gateway}/graphql", json={"query": "{ __typename }"})
        assert anonymous.status_code == 401
        answer = demo.graphql("{ projects(first: 2) { totalCount edges { node { name } } } }")
        assert answer["projects"]["totalCount"] > 0
        page = httpx.get(f"{demo.gateway}/visibility")  # holds no data: no token needed
        assert page.status_code == 200
        assert 'id="token"' in page.text
        metrics = wait_for(f"{demo.gateway}/metrics", process).text
        assert "psgraph_graphql_operation_duration_seconds_count" in metrics

        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output.decode()[-2000:]
    text = output.decode()
    assert text.index("the URLs follow once the gateway watches") < text.index("gateway:  http")
    assert f"{demo.gateway}/graphql" in text
    assert f"{demo.gateway}/metrics" in text
    assert f"{demo.gateway}/visibility" in text
    assert all(f"http://127.0.0.1:{port}" in text for port in ports.values())
    assert all(
        f"{role}:" in text for role in ("admin", "finance", "delivery", "consultant", "client")
    )
    assert "Bearer ey" in text  # ready to paste into GraphiQL's headers


@pytest.mark.timeout(600)
def test_a_won_deal_becomes_a_project_after_every_restart_of_the_demo(tmp_path: Path) -> None:
    # The same store file every time: the demo must start it afresh with each fresh world,
    # or the second run's deal would meet the first run's crosswalk (CrosswalkConflict).
    # Each run wins the same deal (a fresh world, the same ids): a workflow kept from an
    # earlier run would answer for it, with a project the fresh PSA has never seen.
    config = demo_config(tmp_path)
    for run in range(2):  # the second meets everything the first left behind
        started = dt.datetime.now(dt.UTC)
        with demo_running(config) as demo:
            opportunity = win_deal(demo)
            workflow = workflow_for(demo, opportunity)
            assert workflow["status"] == "SUCCEEDED", (run, workflow)
            assert workflow["kind"] == "quote_to_project"
            assert dt.datetime.fromisoformat(workflow["startedAt"]) >= started, (run, workflow)
            assert workflow["result"]["__typename"] == "Project", (run, workflow)
            assert workflow["result"]["name"], (run, workflow)
            demo.process.send_signal(signal.SIGINT)
            demo.process.communicate(timeout=30)
            assert demo.process.returncode == 0, run


def test_ctrl_c_at_a_terminal_stops_the_demo_and_its_sandboxes_without_a_traceback(
    tmp_path: Path,
) -> None:
    # A terminal's Ctrl-C reaches every process of the foreground group: the demo, which
    # then tells the sandboxes to stop too, and the sandboxes' own process directly.
    with demo_running(demo_config(tmp_path)) as demo:
        for port in demo.ports[1:]:
            wait_for(f"http://127.0.0.1:{port}/_sandbox/stats", demo.process)
        time.sleep(4)  # the living scenario is under way
        os.killpg(demo.process.pid, signal.SIGINT)
        output, _ = demo.process.communicate(timeout=30)
    assert demo.process.returncode == 0
    assert "Traceback" not in output.decode(), output.decode()[-3000:]
    refused = {port: refuses(port) for port in demo.ports}
    assert all(refused.values()), f"still listening: {refused}"


def test_sigterm_stops_the_demo_within_3_s_leaving_no_port_open(tmp_path: Path) -> None:
    with demo_running(demo_config(tmp_path)) as demo:
        for port in demo.ports[1:]:
            wait_for(f"http://127.0.0.1:{port}/_sandbox/stats", demo.process)
        demo.process.send_signal(signal.SIGTERM)
        demo.process.communicate(timeout=3)
        assert demo.process.returncode == 0
    refused = {port: refuses(port) for port in demo.ports}
    assert all(refused.values()), f"still listening: {refused}"


def test_an_open_event_stream_ends_with_complete_when_the_demo_stops(tmp_path: Path) -> None:
    # A dashboard left open over SSE: stopping must end its stream as an operation that
    # completed, not leave it to be cut off (and logged as a failure) after the grace.
    with demo_running(demo_config(tmp_path)) as demo:
        frames: list[str] = []
        with httpx.stream(
            "POST",
            f"{demo.gateway}/graphql",
            json={"query": "subscription { events { cursor type } }"},
            headers={**demo.headers(), "accept": "text/event-stream"},
            timeout=30,
        ) as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            demo.process.send_signal(signal.SIGINT)
            frames.extend(line for line in lines if line.startswith("event:"))
        output, _ = demo.process.communicate(timeout=3)
    assert frames[-1:] == ["event: complete"], frames
    assert demo.process.returncode == 0
    assert "Traceback" not in output.decode(), output.decode()[-3000:]

"""The admin surface every sandbox shares: counts, faults, reset, touch, webhooks, spec."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.events.webhooks import verify_webhook
from sandboxes.hcm.server import HcmSandbox
from sandboxes.world.generate import generate
from sandboxes.world.model import World

WORKERS = "/ccx/api/staffing/v6/psgraph_demo/workers"
SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


@pytest.fixture(scope="module")
def world() -> World:
    return generate(seed=3, scale=0.05)


@pytest.fixture
async def sandbox(world) -> AsyncIterator[httpx.AsyncClient]:
    box = HcmSandbox(world, token="secret")
    app = box.app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hcm") as http:
            token = (
                await http.post(
                    "/ccx/oauth2/psgraph_demo/token",
                    data={"grant_type": "refresh_token", "refresh_token": "secret"},
                )
            ).json()["access_token"]
            http.headers["Authorization"] = f"Bearer {token}"
            yield http


async def test_vendor_requests_are_counted_per_route_and_admin_ones_are_not(sandbox) -> None:
    http = sandbox
    await http.get(WORKERS)
    await http.get(WORKERS)
    await http.get("/_sandbox/stats")

    stats = (await http.get("/_sandbox/stats")).json()
    assert stats["routes"]["GET /ccx/api/staffing/v6/{tenant}/workers"] == 2
    assert stats["total"] == 3  # and the token request


@pytest.mark.parametrize(
    ("faults", "status"),
    [
        pytest.param({"outage": True}, 503, id="outage"),
        pytest.param({"error_rate": 1.0, "status": 502}, 502, id="errors"),
        pytest.param({"garbage": True}, 200, id="garbage"),
    ],
)
async def test_faults_apply_to_vendor_routes_only(sandbox, faults, status) -> None:
    http = sandbox
    (await http.post("/_sandbox/faults", json=faults)).raise_for_status()

    assert (await http.get(WORKERS)).status_code == status
    assert (await http.get("/_sandbox/stats")).status_code == 200

    await http.delete("/_sandbox/faults")
    assert (await http.get(WORKERS)).status_code == 200


async def test_garbage_is_not_what_the_vendor_sends(sandbox) -> None:
    http = sandbox
    await http.post("/_sandbox/faults", json={"garbage": True})
    with pytest.raises(ValueError):  # noqa: PT011 - any JSON decoding error
        (await http.get(WORKERS)).json()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"latency": 5}, id="unknown-fault"),
        pytest.param([1, 2], id="not-an-object"),
    ],
)
async def test_bad_faults_are_refused_and_change_nothing(sandbox, body) -> None:
    http = sandbox
    refused = await http.post("/_sandbox/faults", json=body)
    assert refused.status_code == 400
    assert (await http.get("/_sandbox/faults")).json()["outage"] is False


async def test_a_rate_limit_answers_429_with_retry_after(sandbox) -> None:
    http = sandbox
    await http.post("/_sandbox/faults", json={"rate_limit_per_s": 1})
    answers = [await http.get(WORKERS) for _ in range(3)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited
    assert limited[0].headers["Retry-After"] == "1"


async def test_reset_zeroes_counters_and_faults(sandbox) -> None:
    http = sandbox
    await http.get(WORKERS)
    await http.post("/_sandbox/faults", json={"latency_ms": 1})

    await http.post("/_sandbox/reset")

    assert (await http.get("/_sandbox/stats")).json() == {
        "total": 0,
        "routes": {},
        "traceparents": [],
    }
    assert (await http.get("/_sandbox/faults")).json()["latency_ms"] == 0


async def test_stats_show_the_trace_context_callers_sent(sandbox) -> None:
    http = sandbox
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    await http.get(WORKERS, headers={"traceparent": traceparent})
    await http.get(WORKERS)

    assert (await http.get("/_sandbox/stats")).json()["traceparents"] == [traceparent]


async def test_a_missing_token_gets_the_vendors_401(sandbox) -> None:
    http = sandbox
    answer = await http.get(WORKERS, headers={"Authorization": ""})
    assert answer.status_code == 401


async def test_the_spec_lists_the_vendor_routes(sandbox) -> None:
    http = sandbox
    spec = (await http.get("/openapi.json")).json()
    assert "/ccx/api/staffing/v6/{tenant}/workers" in spec["paths"]
    assert not any(path.startswith("/_sandbox") for path in spec["paths"])


async def test_changes_are_pushed_as_signed_standard_webhooks(sandbox, world) -> None:
    http = sandbox
    received: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()

    async def hook(request: Request) -> Response:
        await received.put((await request.body(), dict(request.headers)))
        return JSONResponse({})

    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(receiver, log_level="warning", lifespan="off"))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            url = f"http://127.0.0.1:{port}/hook"
            await http.post("/_sandbox/webhooks", json={"url": url, "secret": SECRET})
            worker = world.people[0].hcm_id
            await http.post("/_sandbox/touch", json={"entity": "worker", "ids": [worker]})
            async with asyncio.timeout(5):
                body, headers = await received.get()
        finally:
            server.should_exit = True
            await serving

    verified = verify_webhook([SECRET], body, headers)
    assert verified.type == "worker.updated"
    assert verified.payload["data"]["id"] == worker

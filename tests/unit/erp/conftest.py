"""A small generated firm and the ERP sandbox serving it in-process (no sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from sandboxes.erp.server import ErpSandbox
from sandboxes.world.generate import generate
from sandboxes.world.model import World
from sources.config import Credentials, RetryPolicy, SourceSettings
from sources.erp.connector import ErpConnector

TOKEN = "unit-erp-token"
BASE_URL = "http://erp.test"
REST = f"{BASE_URL}/services/rest"


class RecordingTransport(httpx.ASGITransport):
    """The sandbox app in-process, remembering every request the connector sends."""

    def __init__(self, sandbox: ErpSandbox) -> None:
        super().__init__(app=sandbox.app())
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await super().handle_async_request(request)


@pytest.fixture(scope="session")
def small_world() -> World:
    return generate(seed=7, scale=0.05, today=date(2026, 1, 15))


@pytest.fixture
def sandbox(small_world: World) -> ErpSandbox:
    return ErpSandbox(small_world, token=TOKEN)


@pytest.fixture
def transport(sandbox: ErpSandbox) -> RecordingTransport:
    return RecordingTransport(sandbox)


@pytest.fixture
async def vendor(transport: RecordingTransport) -> AsyncIterator[httpx.AsyncClient]:
    """Raw access to the vendor API, as any NetSuite client would have it."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Prefer": "transient"}
    async with httpx.AsyncClient(transport=transport, base_url=REST, headers=headers) as client:
        yield client


@pytest.fixture
async def connector(transport: RecordingTransport) -> AsyncIterator[ErpConnector]:
    settings = SourceSettings(
        base_url=BASE_URL,
        credentials=Credentials(token=TOKEN, account_id="1234567"),
        retry=RetryPolicy(attempts=2, backoff_initial=0.001, backoff_max=0.01, jitter=0.001),
    )
    erp = ErpConnector(settings, transport=transport)
    try:
        yield erp
    finally:
        await erp.aclose()

"""A small generated firm, its TIME sandbox in-process, and connectors wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandboxes.time.server import TimeSandbox
from sandboxes.world.generate import generate
from sandboxes.world.model import World
from sources.config import Credentials, SourceSettings
from sources.time.connector import TimeConnector

TOKEN = "time-unit-token"
ACCOUNT = "100200"
HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "Harvest-Account-Id": ACCOUNT,
    "User-Agent": "psgraph tests (ops@example.com)",
}


class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def settings(**overrides: Any) -> SourceSettings:
    base: dict[str, Any] = {
        "base_url": "http://time.test",
        "credentials": Credentials(token=TOKEN, account_id=ACCOUNT),
        "concurrency": 4,
        **overrides,
    }
    return SourceSettings.model_validate(base)


@pytest.fixture(scope="session")
def small_world() -> World:
    return generate(seed=7, scale=0.02)


@pytest.fixture
def sandbox(small_world: World) -> TimeSandbox:
    return TimeSandbox(small_world, token=TOKEN)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def connector(sandbox: TimeSandbox, clock: FakeClock) -> AsyncIterator[TimeConnector]:
    transport = httpx.ASGITransport(app=sandbox.app())
    async with TimeConnector(settings(), transport=transport, clock=clock) as connector:
        yield connector


@pytest.fixture
async def harvest(sandbox: TimeSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client to the sandbox, with Harvest's required headers."""
    transport = httpx.ASGITransport(app=sandbox.app())
    async with httpx.AsyncClient(
        transport=transport, base_url="http://time.test", headers=HEADERS
    ) as client:
        yield client


def requests_made(sandbox: TimeSandbox) -> int:
    return sum(sandbox.runtime.counts.values())

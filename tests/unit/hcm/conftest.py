"""A small hand-made firm, its HCM sandbox in-process, and connectors wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from sandboxes.hcm.server import HcmSandbox
from sandboxes.world.model import Defects, Person, World
from sources.config import Credentials, SourceSettings
from sources.hcm.connector import HcmConnector

TENANT = "acme_tenant"
REFRESH_TOKEN = "hcm-refresh-secret"
PRACTICES = ("Data & AI", "Cloud", "Strategy")
SKILLS = ("Python", "AWS", "Pricing", "Spark", "Kubernetes")


class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_person(key: int) -> Person:
    return Person(
        key=key,
        name=f"Person{key:03d} Surname{key % 7}",
        email=f"person{key}@firm.example",
        title="Consultant" if key else "Managing Partner",
        practice=PRACTICES[key % len(PRACTICES)],
        location=("London", "Berlin", "New York")[key % 3],
        cost_center=f"CC-{key % 4}",
        skills=(SKILLS[key % len(SKILLS)], SKILLS[(key + 2) % len(SKILLS)]),
        cost_rate=Decimal("80.50") + key,
        bill_rate=Decimal("185") + key,
        currency="USD",
        manager_key=None if key == 0 else 0,
        hcm_id=f"{key:032x}",
        psa_user_id=str(5000 + key),
        time_user_id=str(9000 + key),
        weekly_capacity_hours=40.0 if key % 5 else 32.0,
        modified_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=key),
    )


def make_world(people: int) -> World:
    none: frozenset[int] = frozenset()
    return World(
        seed=0,
        scale=0.0,
        today=date(2026, 6, 1),
        subsidiary_ids=(),
        currencies=("USD",),
        clients=(),
        contacts=(),
        opportunities=(),
        people=tuple(make_person(key) for key in range(people)),
        projects=(),
        billing_schedules=(),
        milestones=(),
        assignments=(),
        staffing_requests=(),
        time_entries=(),
        expenses=(),
        invoices=(),
        payments=(),
        defects=Defects(none, none, none, none, none),
    )


def settings(**overrides: object) -> SourceSettings:
    base: dict[str, object] = {
        "base_url": "http://hcm.test",
        "credentials": Credentials(token=REFRESH_TOKEN, account_id=TENANT),
        "concurrency": 4,
        "cache_ttl": {"worker": 900},
        **overrides,
    }
    return SourceSettings.model_validate(base)


@pytest.fixture
def world() -> World:
    return make_world(250)  # three pages of 100


@pytest.fixture
def sandbox(world: World) -> HcmSandbox:
    return HcmSandbox(world, token=REFRESH_TOKEN, tenant=TENANT)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def connector(sandbox: HcmSandbox, clock: FakeClock) -> AsyncIterator[HcmConnector]:
    transport = httpx.ASGITransport(app=sandbox.app())
    connector = HcmConnector(settings(), transport=transport, clock=clock)
    async with connector:
        yield connector


def data_requests(sandbox: HcmSandbox) -> int:
    """Vendor requests so far, the token exchanges left out."""
    return sum(n for route, n in sandbox.runtime.counts.items() if "token" not in route)


def token_requests(sandbox: HcmSandbox) -> int:
    return sum(n for route, n in sandbox.runtime.counts.items() if "token" in route)

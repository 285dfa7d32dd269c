"""Every connector survives what real sources do: flaky answers, outages, quotas, slowness
and garbage — injected through each sandbox's `/_sandbox/faults` over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.settings import Settings
from sandboxes.runner import SandboxCluster
from sandboxes.world.model import World
from sources.config import BreakerPolicy, RetryPolicy, Timeouts
from sources.connector import Connector
from sources.errors import SourceDataError, SourceTimeout, SourceUnavailable
from sources.registry import make_connector
from tests.conftest import source_settings
from tests.integration.source_profiles import PROFILES, Profile

FAST_RETRIES = RetryPolicy(attempts=10, backoff_initial=0.01, backoff_max=0.05, jitter=0.01)


@pytest.fixture(params=PROFILES, ids=[p.name for p in PROFILES])
def profile(request: pytest.FixtureRequest) -> Profile:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def faults(profile: Profile, sandboxes: SandboxCluster) -> Iterator[Any]:
    url = f"{sandboxes[profile.name].url}/_sandbox/faults"

    def inject(**faults: object) -> None:
        httpx.post(url, json=faults).raise_for_status()

    yield inject
    httpx.delete(url).raise_for_status()


def connector_for(
    profile: Profile, sandboxes: SandboxCluster, demo: Settings, **settings: object
) -> Connector:
    # No reference snapshots kept between calls: every read must reach the faulty source.
    no_cache = {"cache_ttl": {"worker": 0, "project": 0, "user": 0}}
    return make_connector(
        profile.name, source_settings(demo, sandboxes, profile.name, **{**no_cache, **settings})
    )


def _ids(profile: Profile, world: World, n: int = 3) -> list[str]:
    return profile.bulk_ids(world)[10 : 10 + n]


async def _warm_up(connector: Connector, profile: Profile, world: World) -> None:
    # Fetch tokens and reference snapshots before faults start.
    await connector.get_many(profile.bulk_entity, _ids(profile, world, 1))


async def test_retries_recover_from_a_30_percent_error_rate(
    profile: Profile, sandboxes: SandboxCluster, demo_settings: Settings, world: World, faults: Any
) -> None:
    # A breaker that tolerates the run of failures a 30% error rate produces now and then.
    tolerant = BreakerPolicy(failure_threshold=50)
    async with connector_for(
        profile, sandboxes, demo_settings, retry=FAST_RETRIES, breaker=tolerant
    ) as connector:
        await _warm_up(connector, profile, world)
        faults(error_rate=0.3, status=503)
        for offset in range(15):
            ids = profile.bulk_ids(world)[offset * 2 : offset * 2 + 2]
            records = await connector.get_many(profile.bulk_entity, ids)
            assert [r.id if r else None for r in records] == ids


async def test_the_breaker_opens_under_an_outage_and_closes_after(
    profile: Profile, sandboxes: SandboxCluster, demo_settings: Settings, world: World, faults: Any
) -> None:
    breaker = BreakerPolicy(failure_threshold=3, reset_after=0.3)
    async with connector_for(
        profile, sandboxes, demo_settings, retry=RetryPolicy(attempts=1), breaker=breaker
    ) as connector:
        await _warm_up(connector, profile, world)
        faults(outage=True)
        for _ in range(3):
            with pytest.raises(SourceUnavailable):
                await connector.get_many(profile.bulk_entity, _ids(profile, world, 1))
        before = httpx.get(f"{sandboxes[profile.name].url}/_sandbox/stats").json()["total"]
        with pytest.raises(SourceUnavailable, match="circuit open"):
            await connector.get_many(profile.bulk_entity, _ids(profile, world, 1))
        after = httpx.get(f"{sandboxes[profile.name].url}/_sandbox/stats").json()["total"]
        assert after == before, "an open breaker must not call the source"

        httpx.delete(f"{sandboxes[profile.name].url}/_sandbox/faults")
        await asyncio.sleep(0.35)
        records = await connector.get_many(profile.bulk_entity, _ids(profile, world, 1))
        assert records[0] is not None


async def test_rate_limits_are_waited_out(
    profile: Profile, sandboxes: SandboxCluster, demo_settings: Settings, world: World, faults: Any
) -> None:
    async with connector_for(profile, sandboxes, demo_settings, retry=FAST_RETRIES) as connector:
        await _warm_up(connector, profile, world)
        faults(rate_limit_per_s=2)
        for offset in range(4):
            ids = profile.bulk_ids(world)[offset : offset + 1]
            records = await connector.get_many(profile.bulk_entity, ids)
            assert records[0] is not None


async def test_a_source_slower_than_the_timeout_is_a_source_timeout(
    profile: Profile, sandboxes: SandboxCluster, demo_settings: Settings, world: World, faults: Any
) -> None:
    async with connector_for(
        profile,
        sandboxes,
        demo_settings,
        retry=RetryPolicy(attempts=1),
        timeouts=Timeouts(connect=1.0, read=0.2, total=1.0),
    ) as connector:
        await _warm_up(connector, profile, world)
        faults(latency_ms=600)
        with pytest.raises(SourceTimeout):
            await connector.get_many(profile.bulk_entity, _ids(profile, world, 1))


async def test_garbage_from_a_source_is_a_data_error(
    profile: Profile, sandboxes: SandboxCluster, demo_settings: Settings, world: World, faults: Any
) -> None:
    async with connector_for(profile, sandboxes, demo_settings) as connector:
        await _warm_up(connector, profile, world)
        faults(garbage=True)
        with pytest.raises(SourceDataError):
            await connector.get_many(profile.bulk_entity, _ids(profile, world, 1))

"""Real PostgreSQL and Redis for the events suite: a database made for this run (and
dropped after), and a Redis key prefix of its own, so runs never see each other."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest

from tests.support_services import require_service

POSTGRES = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)
ADMIN_DATABASE = "test"
ADMIN_USERS = ("postgres", "root")


async def _admin(statement: str) -> str:
    """Run `statement` as the first admin user the local server (trust auth) accepts."""
    failures = []
    for user in ADMIN_USERS:
        try:
            connection = await asyncpg.connect(
                host=POSTGRES[0], port=POSTGRES[1], user=user, database=ADMIN_DATABASE, timeout=5
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            failures.append(f"{user}: {error}")
            continue
        try:
            await connection.execute(statement)
        finally:
            await connection.close()
        return user
    raise RuntimeError(f"no PostgreSQL admin user: {'; '.join(failures)}")


def _in_own_loop(statement: str) -> str:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _admin(statement)).result()


@pytest.fixture(scope="module")
def events_postgres_url() -> Iterator[str]:
    """A fresh database for this module's tests, dropped afterwards."""
    require_service("PostgreSQL", *POSTGRES)
    name = f"psgraph_events_{secrets.token_hex(6)}"
    user = _in_own_loop(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://{user}@{POSTGRES[0]}:{POSTGRES[1]}/{name}"
    finally:
        _in_own_loop(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

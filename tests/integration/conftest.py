"""Fixtures for the integration layer. Each section is self-contained; add yours below."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest

from tests.support_services import unavailable

# --- PostgreSQL ------------------------------------------------------------------------
# One database per test run, made on the local server (trust auth) and dropped after.
# Unreachable server: skip with the reason, except under CI, where it is a failure.

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_ADMIN_DATABASE = "test"
POSTGRES_USERS = ("postgres", "root")

_T = TypeVar("_T")


def _run_in_own_loop(coroutine: Coroutine[Any, Any, _T]) -> _T:
    # A thread of its own keeps this loop apart from the ones pytest-asyncio runs tests in.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _postgres_admin_user() -> tuple[str | None, str]:
    reasons = []
    for user in POSTGRES_USERS:
        try:
            connection = await asyncpg.connect(
                host=POSTGRES_HOST,
                port=POSTGRES_PORT,
                user=user,
                database=POSTGRES_ADMIN_DATABASE,
                timeout=5,
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            reasons.append(f"{user}: {type(error).__name__}: {error}")
            continue
        await connection.close()
        return user, ""
    return None, "; ".join(reasons)


async def _postgres_admin(user: str, statement: str) -> None:
    connection = await asyncpg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user=user, database=POSTGRES_ADMIN_DATABASE
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """An asyncpg SQLAlchemy URL of a fresh, empty database that lives for the test run."""
    user, reason = _run_in_own_loop(_postgres_admin_user())
    if user is None:
        message = f"PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT} is unreachable ({reason})"
        unavailable(message)
    name = f"psgraph_test_{os.getpid()}_{secrets.token_hex(4)}"
    _run_in_own_loop(_postgres_admin(user, f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://{user}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        _run_in_own_loop(_postgres_admin(user, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- Sandbox admin surface ---------------------------------------------------------------
# What every sandbox serves under /_sandbox/ (sandboxes/base.py), for the per-system
# conftests: each keeps its own fixture names and picks the shape its tests assert on.


def route_counts(url: str) -> dict[str, int]:
    """How many requests each vendor route of the sandbox at `url` has served so far."""
    return dict(httpx.get(f"{url}/_sandbox/stats").json()["routes"])


class RequestsSince:
    """The vendor requests the sandbox at `url` has served since this was made."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.before = route_counts(url)

    def by_route(self) -> dict[str, int]:
        """Each route whose count moved, and by how much."""
        now = route_counts(self.url)
        return {r: n - self.before.get(r, 0) for r, n in now.items() if n != self.before.get(r, 0)}

    def on(self, route: str) -> int:
        """How many requests `route` got."""
        return route_counts(self.url).get(route, 0) - self.before.get(route, 0)

    def total(self) -> int:
        """How many requests all routes got together."""
        return sum(route_counts(self.url).values()) - sum(self.before.values())


@contextmanager
def sandbox_faults(url: str) -> Iterator[Callable[..., None]]:
    """`inject(**faults)` sets faults on the vendor routes of the sandbox at `url`; they are
    cleared on leaving."""

    def inject(**faults: object) -> None:
        httpx.post(f"{url}/_sandbox/faults", json=faults).raise_for_status()

    try:
        yield inject
    finally:
        httpx.delete(f"{url}/_sandbox/faults").raise_for_status()

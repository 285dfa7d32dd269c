"""Fixtures for the integration layer. Each section is self-contained; add yours below."""

from __future__ import annotations

# --- PostgreSQL ------------------------------------------------------------------------
# One database per test run, made on the local server (trust auth) and dropped after.
# Unreachable server: skip with the reason, except under CI, where it is a failure.
import asyncio
import os
import secrets
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
import pytest

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
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must run the PostgreSQL tests")
        pytest.skip(message)
    name = f"psgraph_test_{os.getpid()}_{secrets.token_hex(4)}"
    _run_in_own_loop(_postgres_admin(user, f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://{user}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        _run_in_own_loop(_postgres_admin(user, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

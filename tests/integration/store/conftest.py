"""The store and engine suites run on both backends: SQLite and real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.store import migrate
from tests.unit.store.fixtures import (
    clock,
    make_engine,
    migrated_sqlite_file,
    open_store,
    run_in_own_loop,
    sqlite_copy_url,
    store,
)

__all__ = ["clock", "make_engine", "migrated_sqlite_file", "open_store", "store"]


@pytest.fixture(scope="session")
def migrated_postgres_url(postgres_url: str) -> str:
    run_in_own_loop(migrate(postgres_url))
    return postgres_url


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def store_url(request: pytest.FixtureRequest, migrated_sqlite_file: Path, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_copy_url(migrated_sqlite_file, tmp_path)
    url: str = request.getfixturevalue("migrated_postgres_url")
    return url

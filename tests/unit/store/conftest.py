from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.store.fixtures import (
    clock,
    make_engine,
    migrated_sqlite_file,
    open_store,
    sqlite_copy_url,
    store,
)

__all__ = ["clock", "make_engine", "migrated_sqlite_file", "open_store", "store"]


@pytest.fixture
def store_url(migrated_sqlite_file: Path, tmp_path: Path) -> str:
    return sqlite_copy_url(migrated_sqlite_file, tmp_path)

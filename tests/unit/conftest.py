"""Fixtures the unit suite shares: the store and workflow engine over SQLite.

The fixtures live in `tests.unit.store.fixtures`, which the integration suite also uses;
here they get the unit suite's `store_url`, a copy of a migrated SQLite database. Folders
with a `store` or `clock` of their own (events, hcm, time_) override these with it.
"""

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

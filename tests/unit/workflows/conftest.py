from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.store.fixtures import clock, make_engine, open_store, store

__all__ = ["clock", "make_engine", "open_store", "store"]


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"

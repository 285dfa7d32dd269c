"""Bringing a database to the latest schema with Alembic, from code, at startup.

Replicas starting together on PostgreSQL take an advisory lock first, so one migrates
while the others wait and then find nothing left to do.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.database import create_engine

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 7_358_202_411  # pg_advisory_xact_lock key


async def migrate(url: str) -> None:
    """Upgrade the database at `url` to the newest revision (a no-op when it is there)."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def upgrade(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
        await connection.run_sync(_upgrade)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for our migrations; env.py uses `connection` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")

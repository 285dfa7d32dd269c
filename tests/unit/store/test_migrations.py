"""Migrations build exactly the schema the code declares, and run safely more than once."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from gateway.store import Store, migrate
from gateway.store.migrate import alembic_config
from gateway.store.tables import metadata


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_the_migrated_schema_matches_the_tables_the_code_uses(store: Store):
    async with store.engine.connect() as connection:
        differences = await connection.run_sync(_differences)

    assert differences == []


async def test_migrating_again_changes_nothing(store_url: str, store: Store):
    await store.events.append("Kept", {"n": 1})

    await migrate(store_url)

    async with store.engine.connect() as connection:
        heads = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert [row[0] for row in heads] == [head]
    assert [e.type for e in await store.events.read_after(None)] == ["Kept"]
